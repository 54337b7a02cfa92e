"""Bot replicas for the remediation tests, and Slack's side of talking to them.

A `Replica` is one bot process's Slack side, built as `clusterbot serve` builds it
(bot.__main__.chat_adapters, a Remediation with its own KubeClient), answering from the demo
cluster and acting on the fake API server; replicas share nothing but that server and the
action secret. `ask` sends a signed slash command and returns the posted answer; `click`
delivers a signed click and returns what the bot did about it: the message update and the
thread reply, each checked as Slack would check it.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.__main__ import chat_adapters
from bot.actions.remediation import Remediation
from bot.chat.slack import SlackAdapter
from bot.chat.slack_groups import SlackUserGroups
from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import demo_snapshot
from bot.cluster.source import StaticSource
from commands import Context
from tests.actions.conftest import ALICE, HOME, SECRET, Clock
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of
from tests.e2e.slack.clicks import block_actions, button, form
from tests.e2e.slack.conftest import bot_settings, post
from tests.e2e.slack.stub import Call, SlackStub, signed_headers, slash_command_body
from tests.fakeapi import FakeKubeAPI


@dataclass
class Replica:
    """One bot process's Slack side: its adapter (HTTP mode) and its Remediation."""

    adapter: SlackAdapter
    remediation: Remediation

    @property
    def port(self) -> int:
        assert self.adapter.http_port is not None
        return self.adapter.http_port


class Replicas:
    def __init__(self, slack: SlackStub, cluster: FakeKubeAPI, clock: Clock, tmp: Path) -> None:
        self._slack, self._clock = slack, clock
        self._kubeconfig = str(cluster.kubeconfig(tmp / "kubeconfig"))
        self._stack = ExitStack()

    def start(self, name: str = "replica-a", **overrides: Any) -> Replica:
        """A replica: remediation on, Alice allowed, unless `overrides` say otherwise."""
        settings = bot_settings(self._slack, **({
            "remediation": "on", "action_secret": SECRET, "remediation_users": (ALICE,),
            "namespace": HOME} | overrides))
        client = KubeClient.connect(ConnectOptions(kubeconfig=self._kubeconfig, timeout=5.0))
        self._stack.callback(client.close)
        remediation = Remediation.from_settings(
            settings, client, clock=self._clock, instance=name,
            members_of=SlackUserGroups.from_settings(settings).members_of)
        ctx = Context(StaticSource(demo_snapshot()), remediation=remediation)
        [adapter] = chat_adapters(settings, ctx)
        assert isinstance(adapter, SlackAdapter)
        adapter.start()
        self._stack.callback(adapter.stop)
        return Replica(adapter, remediation)

    def close(self) -> None:
        self._stack.close()



# -- talking to the bot as Slack does ----------------------------------------------------------


def ask(slack: SlackStub, replica: Replica, text: str, user: str = ALICE) -> Call:
    """`/cluster <text>`, and the message the bot posted in answer (checked as Slack would)."""
    before = len(slack.delivered("chat.postMessage"))
    body = slash_command_body(text, user=user, response_url=slack.response_url("command"))
    assert post(replica.port, body, signed_headers(body)) == (200, "")
    message = slack.wait_delivered("chat.postMessage", before + 1)[before]
    assert_valid_blocks(message.params["blocks"])
    return message


@dataclass(frozen=True)
class Answer:
    """What the bot did about one click: the message update (if any) and the thread reply."""

    update: Call | None
    thread: Call

    @property
    def line(self) -> str:
        """The outcome line the update put under the buttons."""
        assert self.update is not None, "the message was not updated"
        return next(b["elements"][0]["text"] for b in self.update.params["blocks"]
                    if str(b.get("block_id", "")).startswith("clusterbot-outcome-"))

    @property
    def details(self) -> str:
        return text_of(self.thread.params["blocks"])


def click(slack: SlackStub, replica: Replica, payload: dict[str, Any], *,
          updates: bool = True, body: str | None = None) -> Answer:
    """Deliver a signed click (or a given `body` again) and wait for what the bot does."""
    updated, threaded = len(slack.delivered("chat.update")), len(_thread_replies(slack))
    body = body if body is not None else form(payload)
    assert post(replica.port, body, signed_headers(body)) == (200, "")
    slack.wait_for(lambda _: len(_thread_replies(slack)) > threaded)
    thread = _thread_replies(slack)[threaded]
    assert thread.params["thread_ts"] == payload["container"]["message_ts"]
    assert_valid_blocks(thread.params["blocks"])
    update = slack.delivered("chat.update")[updated] if updates else None
    if update is not None:
        assert (update.params["channel"], update.params["ts"]) == (
            payload["channel"]["id"], payload["container"]["message_ts"])
        assert_valid_blocks(update.params["blocks"])
    else:
        assert len(slack.delivered("chat.update")) == updated, "a read-only click updated"
    return Answer(update, thread)


def _thread_replies(slack: SlackStub) -> list[Call]:
    return [c for c in slack.delivered("chat.postMessage") if c.params.get("thread_ts")]


def press(slack: SlackStub, message: Call, label: str, user: str = ALICE) -> dict[str, Any]:
    return block_actions(message, button(message.params["blocks"], label), user=user,
                         response_url=slack.response_url("click"))

