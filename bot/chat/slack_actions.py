"""Slack buttons: a click on a plan's button confirms the plan; the message shows what came of it.

Bolt hands the `block_actions` request to `_on_click`, which checks the allow-lists, acks at
once (Slack wants that within 3 s) and queues the click on the adapter's AnswerPool as the
command `confirm <token>`: a click runs exactly what a typed `confirm` runs (verify, authorise,
claim, act with preconditions, audit). The button's value is the signed token, so the replica
that receives the click needs nothing from the one that drew the button.

When the answer is ready, the message that offered the plan is updated in place (chat.update):
a line under the buttons says who did what and how it went, and the button of a spent plan is
removed. Updates go one at a time, each on the blocks this replica last wrote to the message
(not the message as the clicker saw it), so two clicks answered together both keep their line.
The details go to the message's thread: the objects one per line, or the logs or description
a read-only button asked for (as a file when longer than a message holds).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App

from bot.actions.catalog import ACTIONS
from bot.actions.models import Outcome
from bot.chat.base import Reply
from bot.chat.slack_delivery import Attachment, Delivery, DeliveryError
from bot.chat.worker import AnswerPool, Job
from bot.report.blocks import Message, text_message
from bot.report.plan_blocks import ACTION_PREFIX, after_click, outcome_line, spent, thread_reply

log = logging.getLogger(__name__)

CLICKS = re.compile(f"^{re.escape(ACTION_PREFIX)}")
REMEMBERED_MESSAGES = 256  # messages whose last written blocks are kept for the next click
AUDIT_HINT = ("a fix may still finish: its outcome will be in the audit Events (`kubectl get "
              "events -A --field-selector reason=ClusterbotRemediation`)")

Denial = Callable[[str, str], str]  # (user, channel) -> why they may not, or ""
Count = Callable[[Job, str], None]  # (job, outcome) -> None: the command metrics
TurnedAway = Callable[[Job, str], None]  # (job, why): counted and, for a confirmation, audited


@dataclass(frozen=True)
class Click(Job):
    """One click on a plan's button: the job `confirm <token>`, and where the button was."""

    action_id: str = ""
    message_ts: str = ""  # the message holding the button ("" when Slack did not say)
    message: Mapping[str, Any] = field(default_factory=dict)  # as the clicker saw it
    response_url: str = ""
    ephemeral: bool = False  # the button was in an ephemeral message: no update, no thread

    @classmethod
    def from_payload(cls, body: Mapping[str, Any], action: Mapping[str, Any]) -> Click:
        container = body.get("container") or {}
        return cls(text=f"confirm {action.get('value') or ''}".strip(),
                   user=(body.get("user") or {}).get("id") or "",
                   channel=(body.get("channel") or {}).get("id") or container.get(
                       "channel_id") or "",
                   action_id=action.get("action_id") or "",
                   message_ts=container.get("message_ts") or "",
                   message=body.get("message") or {},
                   response_url=body.get("response_url") or "",
                   ephemeral=bool(container.get("is_ephemeral")))

    @property
    def in_thread(self) -> bool:
        """True when the answer can go to the message's thread."""
        return bool(self.message_ts) and not self.ephemeral


class ClickHandler:
    """Registers on the Bolt App; answers each click through the adapter's pool and delivery."""

    def __init__(self, app: App, pool: AnswerPool, delivery: Delivery, denial: Denial,
                 count: Count, turned_away: TurnedAway) -> None:
        self._pool, self._delivery, self._denial, self._count = pool, delivery, denial, count
        self._turned_away = turned_away
        self._updating = threading.Lock()
        self._written: OrderedDict[tuple[str, str], list[Any]] = OrderedDict()
        app.action(CLICKS)(self._on_click)

    def _on_click(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click = Click.from_payload(body, action)
        denial = self._denial(click.user, click.channel)
        if denial:
            try:
                self._answer(click, text_message(denial, error=True), ephemeral=True)
            except DeliveryError as error:
                log.error("refusal of a click by %s not delivered: %s", click.user, error)
            self._turned_away(click, denial)
            return
        self._pool.submit(click, self._deliver)

    def _deliver(self, click: Click, reply: Reply, status: str) -> None:
        outcome = reply.options.get("outcome")
        try:
            if not isinstance(outcome, Outcome):  # no remediation here, or no answer in time
                self._say(click, reply, status)
            else:
                if _changes_things(outcome):
                    self._update(click, outcome)
                self._thread(click, outcome)
        except DeliveryError as error:
            log.error("outcome of a click by %s in %s not delivered: %s", click.user,
                      click.channel, error)
            status = "undelivered"
        self._count(click, status)

    def _update(self, click: Click, outcome: Outcome) -> None:
        """The message that offered the plan, saying what came of it."""
        key = (click.channel, click.message_ts)
        with self._updating:
            seen = self._written.get(key) or click.message.get("blocks") or []
            blocks = after_click(seen, click.action_id, outcome_line(outcome, click.user),
                                 remove=spent(outcome))
            message = Message(str(click.message.get("text") or outcome.headline),
                              tuple(blocks))
            if click.in_thread:
                self._delivery.update(click.channel, click.message_ts, message,
                                      response_url=click.response_url)
                self._remember(key, blocks)
            else:
                self._delivery.respond(click.response_url, message, ephemeral=True,
                                       replace=True)

    def _remember(self, key: tuple[str, str], blocks: list[Any]) -> None:
        self._written[key] = blocks
        self._written.move_to_end(key)
        while len(self._written) > REMEMBERED_MESSAGES:
            self._written.popitem(last=False)

    def _thread(self, click: Click, outcome: Outcome) -> None:
        message, long_details = thread_reply(outcome)
        files = [Attachment(f"clusterbot-{outcome.action or 'plan'}-{outcome.plan_id}.txt",
                            outcome.headline, long_details)] if long_details else []
        if click.in_thread:
            self._delivery.publish(click.channel, message, files, thread_ts=click.message_ts,
                                   response_url=click.response_url)
        else:
            self._delivery.respond(click.response_url, message, ephemeral=True)

    def _say(self, click: Click, reply: Reply, status: str) -> None:
        text = f"{reply.text.rstrip('.')}; {AUDIT_HINT}" if status == "timeout" else reply.text
        self._answer(click, text_message(text, error=reply.error),
                     ephemeral=reply.ephemeral or not click.in_thread)

    def _answer(self, click: Click, message: Message, *, ephemeral: bool) -> None:
        """A reply to the clicker alone (response_url), or in the message's thread."""
        if ephemeral:
            self._delivery.respond(click.response_url, message, ephemeral=True)
        else:
            self._delivery.publish(click.channel, message, thread_ts=click.message_ts,
                                   response_url=click.response_url)


def _changes_things(outcome: Outcome) -> bool:
    """A mutating plan, or a click that could not be read: the message says what came of it.
    A read-only helper's answer belongs in the thread only."""
    spec = ACTIONS.get(outcome.action)
    return spec is None or spec.mutating
