"""Who is in a Slack user group, for a remediation policy that names one (S...) as allowed.

The policy (bot/actions/authz.py) asks only when a user is not listed by ID; each ask is one
usergroups.users.list call (scope `usergroups:read`), so someone removed from the group loses
the right at once. A failure is raised with Slack's short answer, and the policy denies.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chat.slack_delivery import web_client
from bot.config import Settings


class GroupLookupError(Exception):
    """Slack did not say who is in the group; the message is Slack's answer."""


class SlackUserGroups:
    """`members_of(group)` for the remediation policy, over the bot's Web API client."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackUserGroups:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        return cls(web_client(token, settings.slack_api_url))

    def members_of(self, group: str) -> list[str]:
        try:
            answer = self._client.usergroups_users_list(usergroup=group)
        except SlackApiError as error:
            raise GroupLookupError(f"Slack answered {error.response.get('error')}") from None
        except OSError as error:
            raise GroupLookupError(f"Slack unreachable: {error}") from None
        return [str(user) for user in answer.get("users") or []]
