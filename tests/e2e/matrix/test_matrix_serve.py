"""`clusterbot serve` with Matrix and Slack configured at once: both answer, both stop.

The process is started as a Deployment starts it (environment variables only); Slack is the
stub of tests/e2e/slack on loopback, Matrix the session's real Synapse.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chat.matrix_format import PREFIX
from tests.e2e.matrix.chat_user import ChatUser
from tests.e2e.matrix.homeserver import Account, Synapse, free_port
from tests.e2e.slack.stub import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    signed_headers,
    slash_command_body,
)

WAIT = 20.0


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub() as stub:
        yield stub


def serve_env(synapse: Synapse, bot: Account, room: str, slack: SlackStub,
              state_file: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    return {**clean,
            "MATRIX_HOMESERVER": synapse.url, "MATRIX_USER": bot.user_id,
            "MATRIX_PASSWORD": bot.password, "MATRIX_ROOMS": room,
            "CLUSTERBOT_MATRIX_STATE_FILE": str(state_file),
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1"}


def slash_command(port: int, text: str, slack: SlackStub) -> int:
    body = slash_command_body(text, response_url=slack.response_url(text))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events",
                                     data=body.encode(), headers=signed_headers(body))
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def test_serve_runs_matrix_and_slack_side_by_side(
        synapse: Synapse, bot_account: Account, human: ChatUser, slack: SlackStub,
        tmp_path: Path) -> None:
    room = human.create_room(invite=(bot_account.user_id,))
    http_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--demo", "--http-port", str(http_port),
         "--health-port", str(free_port())],
        env=serve_env(synapse, bot_account, room, slack, tmp_path / "matrix.json"),
        stderr=subprocess.PIPE, text=True)
    try:
        human.wait_for_membership(room, bot_account.user_id, "join")
        [answer] = human.ask(room, f"{PREFIX} nodes", bot_account.user_id)
        assert "<table>" in answer["content"]["formatted_body"]
        assert slash_command(http_port, "health", slack) == 200
        slack.wait_delivered("chat.postMessage")

        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)
    assert process.stderr is not None
    log = process.stderr.read()
    assert "serving slack, matrix" in log
    assert "Traceback" not in log
    assert bot_account.password not in log and BOT_TOKEN not in log
