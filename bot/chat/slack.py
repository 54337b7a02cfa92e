"""Slack: the `/cluster` slash command over Socket Mode (the default) or HTTP, in Block Kit.

Socket Mode (SLACK_APP_TOKEN + SLACK_BOT_TOKEN) needs no public ingress, which a homelab
rarely has; HTTP mode (SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN) serves `POST /slack/events`.
Either way the Bolt listener only checks the allow-lists, acknowledges (Slack wants that
within 3 s) and queues the command; `AnswerPool` computes the reply off the transport's
threads and `Delivery` posts it, so a slow cluster never delays an acknowledgement.

Remediation: replies that carry plans (`fix`, and `issues` with remediation set up) show them
as buttons (bot/report/plan_blocks.py); a click is answered by slack_actions.py on the same
Bolt App, pool and delivery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.chat.base import Reply
from bot.chat.slack_actions import ClickHandler
from bot.chat.slack_config import slack_configured, slack_mode
from bot.chat.slack_delivery import Attachment, Delivery, DeliveryError, web_client
from bot.chat.slack_http import BoltHTTPServer
from bot.chat.worker import Answer, AnswerPool, Job, Refused
from bot.config import ConfigError, Settings
from bot.observability import Metrics
from bot.report.blocks import MAX_BLOCKS, Message, escape, render_blocks, text_message
from bot.report.plan_blocks import issue_buttons, with_plans
from bot.report.render import render

log = logging.getLogger(__name__)


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client's copy wins: it is the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


log.addFilter(_TokenFromEnvironment())

COMMAND = "/cluster"
__all__ = ["COMMAND", "Access", "SlackAdapter", "slack_configured", "slack_mode"]


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


@dataclass(frozen=True)
class Access:
    """Who may run commands where; an empty list allows everyone (or every channel)."""

    channels: frozenset[str]
    users: frozenset[str]

    def denial(self, user: str, channel: str) -> str:
        """Why `user` may not ask in `channel`, or "" when they may."""
        if self.users and user not in self.users:
            return (f"Sorry, you are not on clusterbot's list of users ({escape(user)}). Ask "
                    "whoever runs it to add your user ID to CLUSTERBOT_ALLOWED_USERS.")
        if self.channels and channel not in self.channels:
            return (f"clusterbot does not answer in this channel ({escape(channel)}). Ask in "
                    "an allowed channel, or ask whoever runs it to add this channel's ID to "
                    "CLUSTERBOT_ALLOWED_CHANNELS.")
        return ""


@dataclass(frozen=True)
class SlackJob(Job):
    response_url: str = ""


class SlackAdapter:
    """The ChatAdapter for Slack; `start()` connects (Socket Mode) or listens (HTTP)."""

    name = "slack"
    error: str | None = None  # a bad token fails start() itself; later, Bolt reconnects

    def __init__(self, settings: Settings, answer: Answer, *,
                 metrics: Metrics | None = None, refused: Refused | None = None) -> None:
        self.mode = slack_mode(settings)
        self._settings = settings
        self._metrics = metrics
        self._refused = refused
        self._access = Access(frozenset(settings.allowed_channels),
                              frozenset(settings.allowed_users))
        client = web_client(_secret(settings.slack_bot_token), settings.slack_api_url)
        # process_before_response: the listener below only acks and queues, so Bolt runs it on
        # the request's own thread and answers Slack the moment it returns.
        try:  # Bolt checks the token with auth.test right away: a bad one fails here, plainly
            self.app = App(client=client, signing_secret=_secret(settings.slack_signing_secret),
                           process_before_response=True, name="clusterbot", logger=log)
        except BoltError as error:
            raise ConfigError(f"Slack did not accept SLACK_BOT_TOKEN: {error}") from None
        except OSError as error:
            raise ConfigError(f"cannot reach Slack at {settings.slack_api_url}: {error}") \
                from None
        self.app.command(COMMAND)(self._on_command)
        self._delivery = Delivery(client)
        self._pool = AnswerPool(answer, workers=settings.workers,
                                deadline=settings.answer_timeout)
        ClickHandler(self.app, self._pool, self._delivery, self._access.denial, self._count,
                     self._turned_away)
        self._socket: SocketModeHandler | None = None
        self._http: BoltHTTPServer | None = None

    @property
    def http_port(self) -> int | None:
        """The port HTTP mode listens on (resolved when the setting is 0), once started."""
        return self._http.port if self._http else None

    def start(self) -> None:
        """Connect or listen; ConfigError says why that is impossible (bad token, port taken)."""
        settings = self._settings
        try:
            if self.mode == "socket":
                self._socket = SocketModeHandler(self.app, _secret(settings.slack_app_token))
                self._socket.connect()
            else:
                self._http = BoltHTTPServer(self.app, settings.listen_host, settings.http_port)
                self._http.start()
        except SlackApiError as error:
            raise ConfigError("Slack did not accept SLACK_APP_TOKEN for Socket Mode: "
                              f"{error.response.get('error')}") from None
        except OSError as error:
            where = (settings.slack_api_url if self.mode == "socket"
                     else f"{settings.listen_host}:{settings.http_port}")
            raise ConfigError(f"cannot start Slack {self.mode} mode at {where}: {error}") \
                from None
        log.info("Slack %s mode started", "Socket" if self.mode == "socket" else "HTTP")

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._http is not None:
            self._http.stop()
        self._pool.stop()

    def post(self, destination: str, reply: Reply) -> None:
        """Post an unprompted answer (the weekly report) to a channel ID; raises DeliveryError."""
        message = self._message(reply)
        self._delivery.publish(destination, message, self._attachments(reply, message))

    # -- commands --------------------------------------------------------------------------

    def _on_command(self, ack: Ack, command: dict[str, Any]) -> None:
        job = SlackJob(text=command.get("text") or "", user=command.get("user_id") or "",
                       channel=command.get("channel_id") or "",
                       response_url=command.get("response_url") or "")
        denial = self._access.denial(job.user, job.channel)
        if denial:
            ack(text=denial, response_type="ephemeral")
            self._turned_away(job, denial)
            return
        ack()
        self._pool.submit(job, self._deliver)

    def _deliver(self, job: SlackJob, reply: Reply, outcome: str) -> None:
        message = self._message(reply)
        try:
            if reply.ephemeral:
                self._delivery.respond(job.response_url, message, ephemeral=True)
            else:
                self._delivery.publish(job.channel, _asked_by(message, job),
                                       self._attachments(reply, message),
                                       response_url=job.response_url)
        except DeliveryError as error:
            log.error("answer to %r in %s not delivered: %s", job.text, job.channel, error)
            outcome = "undelivered"
        self._count(job, outcome)

    def _turned_away(self, job: Job, why: str) -> None:
        """Count a command or click the allow-lists refused; hand it to `refused` (which
        audits a confirmation) off the transport's thread."""
        self._count(job, "denied")
        refused = self._refused
        if refused is not None:
            self._pool.later(lambda: refused(job.text, job.user, job.channel, why))

    def _count(self, job: Job, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.served(job.text, outcome, job.elapsed())

    # -- rendering -------------------------------------------------------------------------

    def _message(self, reply: Reply) -> Message:
        if reply.view is None or reply.report is None:
            return with_plans(text_message(reply.text, error=reply.error),
                              reply.options.get("plans") or ())
        return render_blocks(reply.view, reply.report, reply.options,
                             actions=issue_buttons(reply.options.get("issue_plans")))

    @staticmethod
    def _attachments(reply: Reply, message: Message) -> list[Attachment]:
        """The reply's images, and the full Markdown when the blocks had to leave some out."""
        files = [Attachment(i.filename, i.title, i.png) for i in reply.images]
        if message.complete or reply.view is None or reply.report is None:
            return files
        markdown = render(reply.view, reply.report, "markdown",
                          **{"prefix": COMMAND, **reply.options})
        return [Attachment(f"clusterbot-{reply.view}.md", message.text, markdown), *files]


def _asked_by(message: Message, job: Job) -> Message:
    """Say who asked what: the command itself is not shown to the channel."""
    if len(message.blocks) >= MAX_BLOCKS:
        return message
    asked = f"{COMMAND} {job.text.strip()}".strip()
    line = f"<@{escape(job.user)}> asked `{escape(asked)}`"
    said = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
    return Message(message.text, (*message.blocks, said), message.complete)
