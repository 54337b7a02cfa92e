"""Getting a rendered answer into Slack: chat.postMessage, the response_url, a file upload.

Answers go to the channel with chat.postMessage (the bot token, `chat:write.public` for
public channels it has not joined); where the bot cannot post (a private channel it is not
in, a DM between two people) the command's response_url carries the same message. After a
button click, chat.update rewrites the message that held the button (else the click's
response_url does). When the blocks had to be cut, the full Markdown follows as a file in the
answer's thread (files_upload_v2), or, where the bot cannot post, as a second message through
the response_url. Rate limits (429 + Retry-After) and dropped connections are retried by
slack_sdk's retry handlers; server errors are not, because Slack may have posted the message
already and a retry would post it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.report.blocks import Message, text_message

log = logging.getLogger(__name__)

RETRIES = 2
TIMEOUT_SECONDS = 10
CANNOT_POST_HERE = frozenset({"not_in_channel", "channel_not_found"})


class DeliveryError(Exception):
    """Slack did not take the message (after retries); the message says what Slack answered."""


@dataclass(frozen=True)
class Attachment:
    """A file sent in the answer's thread: the full answer a cut message leaves out, a chart."""

    filename: str
    title: str
    content: str | bytes


def retry_handlers() -> list[RetryHandler]:
    return [RateLimitErrorRetryHandler(max_retry_count=RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=RETRIES)]


def web_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS,
                     retry_handlers=retry_handlers())


class Delivery:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def publish(self, channel: str, message: Message, attachments: Sequence[Attachment] = (),
                *, response_url: str = "", thread_ts: str | None = None) -> None:
        """Post `message` for everyone in `channel` (in the thread of `thread_ts` if given),
        then the attachments in its thread."""
        try:
            posted = self._client.chat_postMessage(
                channel=channel, text=message.text, blocks=list(message.blocks),
                thread_ts=thread_ts, unfurl_links=False, unfurl_media=False)
            # an ID even if given "#name"
            channel, thread = posted["channel"], thread_ts or posted["ts"]
        except SlackApiError as error:
            if error.response.get("error") not in CANNOT_POST_HERE or not response_url:
                raise DeliveryError(_said(error)) from error
            self.respond(response_url, message, ephemeral=False)
            for attachment in attachments:
                self._follow_up(response_url, attachment)
            return
        except OSError as error:
            raise DeliveryError(f"Slack unreachable: {error}") from error
        for attachment in attachments:
            self._attach(channel, thread, attachment)

    def update(self, channel: str, ts: str, message: Message, *, response_url: str = "") -> None:
        """Replace the message `ts` in `channel` (one the bot posted); where Slack will not
        let the bot (a message posted through a response_url), the response_url replaces it."""
        try:
            self._client.chat_update(channel=channel, ts=ts, text=message.text,
                                     blocks=list(message.blocks))
        except SlackApiError as error:
            if not response_url:
                raise DeliveryError(_said(error)) from error
            self.respond(response_url, message, ephemeral=False, replace=True)
        except OSError as error:
            raise DeliveryError(f"Slack unreachable: {error}") from error

    def respond(self, response_url: str, message: Message, *, ephemeral: bool,
                replace: bool = False) -> None:
        """Answer through the command's response_url (valid 30 minutes, 5 times); `replace`
        replaces the message a button was clicked in."""
        webhook = WebhookClient(response_url, timeout=TIMEOUT_SECONDS,
                                retry_handlers=retry_handlers())
        try:
            result = webhook.send(text=message.text, blocks=list(message.blocks),
                                  response_type="ephemeral" if ephemeral else "in_channel",
                                  replace_original=replace)
        except OSError as error:
            raise DeliveryError(f"response_url unreachable: {error}") from error
        if result.status_code != 200:
            raise DeliveryError(f"response_url answered {result.status_code}: {result.body}")

    def _follow_up(self, response_url: str, attachment: Attachment) -> None:
        """Where the bot cannot post (nor upload), a text attachment follows the answer
        through the response_url, monospaced (cut, saying so, past Slack's 50 blocks)."""
        if isinstance(attachment.content, bytes):
            log.warning("%s not sent: no file can go through a response_url",
                        attachment.filename)
            return
        self.respond(response_url, text_message(f"{attachment.title} (in full)\n"
                                                f"{attachment.content}"), ephemeral=False)

    def _attach(self, channel: str, thread: str | None, attachment: Attachment) -> None:
        try:
            self._client.files_upload_v2(
                channel=channel, thread_ts=thread, content=attachment.content,
                filename=attachment.filename, title=attachment.title)
        except (SlackApiError, SlackRequestError, OSError) as error:
            # The message itself is out and says it was cut; a missing file is worth a log line.
            log.warning("could not attach %s in %s: %s", attachment.filename, channel,
                        _said(error))


def _said(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or error.response.status_code)
    return str(error)
