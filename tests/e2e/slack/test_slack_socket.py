"""Slack Socket Mode end to end: the bot opens the websocket a stub hands out, receives
`slash_commands` envelopes, acknowledges each envelope_id and answers through the Web API.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from bot.chat.slack import SlackAdapter
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.report.model import diagnose
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of
from tests.e2e.slack.conftest import running_bot
from tests.e2e.slack.stub import SlackStub, SocketModeStub, slash_command

_ids = itertools.count(1)


@pytest.fixture
def socket_stub(slack: SlackStub) -> Iterator[SocketModeStub]:
    with SocketModeStub() as socket:
        slack.socket_url = socket.url
        yield socket


@pytest.fixture
def socket_bot(slack: SlackStub, socket_stub: SocketModeStub, demo: Snapshot
               ) -> Iterator[SlackAdapter]:
    with running_bot(slack, StaticSource(demo), socket=True) as adapter:
        socket_stub.wait_connected()
        yield adapter


def envelope(slack: SlackStub, text: str, **fields: str) -> dict[str, Any]:
    fields.setdefault("response_url", slack.response_url(f"socket-{text or 'empty'}"))
    return {"envelope_id": f"envelope-{next(_ids)}", "type": "slash_commands",
            "accepts_response_payload": True, "payload": slash_command(text, **fields)}


def test_socket_mode_connects_with_the_app_token(socket_bot: SlackAdapter,
                                                 slack: SlackStub) -> None:
    opened = slack.delivered("apps.connections.open")
    assert len(opened) == 1
    assert socket_bot.mode == "socket"


def test_a_slash_command_envelope_is_acked_and_answered(
        socket_bot: SlackAdapter, socket_stub: SocketModeStub, slack: SlackStub,
        demo: Snapshot) -> None:
    sent = envelope(slack, "health")
    socket_stub.deliver(sent)
    ack = socket_stub.wait_ack(sent["envelope_id"])
    assert "payload" not in ack  # an empty ack: the answer follows through the Web API
    message = slack.wait_delivered("chat.postMessage")[0]
    assert_valid_blocks(message.params["blocks"])
    score = diagnose(demo).score
    assert f"Cluster health: {score.total}/100 ({score.grade})" in text_of(
        message.params["blocks"])


def test_an_unknown_verb_over_socket_mode_is_answered_only_to_the_asker(
        socket_bot: SlackAdapter, socket_stub: SocketModeStub, slack: SlackStub) -> None:
    sent = envelope(slack, "storag")
    socket_stub.deliver(sent)
    socket_stub.wait_ack(sent["envelope_id"])
    response = slack.wait_delivered("response")[0]
    assert response.params["response_type"] == "ephemeral"
    assert "did you mean `storage`?" in response.params["text"]


def test_a_denied_user_is_told_why_in_the_envelope_ack(
        slack: SlackStub, socket_stub: SocketModeStub, demo: Snapshot) -> None:
    with running_bot(slack, StaticSource(demo), socket=True, allowed_users=("U0BOB",)):
        socket_stub.wait_connected()
        sent = envelope(slack, "nodes")
        socket_stub.deliver(sent)
        ack = socket_stub.wait_ack(sent["envelope_id"])
        allowed = envelope(slack, "nodes", user="U0BOB")
        socket_stub.deliver(allowed)
        socket_stub.wait_ack(allowed["envelope_id"])
        slack.wait_delivered("chat.postMessage")
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "CLUSTERBOT_ALLOWED_USERS" in ack["payload"]["text"]
    assert len(slack.delivered("chat.postMessage")) == 1
