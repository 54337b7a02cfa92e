"""The bot across restarts: its own, the homeserver's, and a first start in a busy room."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.chat.matrix import MatrixAdapter, MatrixConfig
from bot.chat.matrix_format import PREFIX
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import SourceError
from commands import Context
from tests.e2e.matrix.bots import Bots, answer_from, new_state_file
from tests.e2e.matrix.chat_user import WAIT, ChatUser, in_reply_to
from tests.e2e.matrix.homeserver import Account, Synapse


def answered_once(human: ChatUser, room: str, bot_id: str) -> dict[str, int]:
    """For every command Alice typed in the room: how many answers the bot gave it."""
    timeline = human.timeline(room)
    commands = [e["event_id"] for e in timeline
                if e["sender"] == human.user_id and e["type"] == "m.room.message"
                and str(e["content"].get("body", "")).startswith(PREFIX)]
    replies = [in_reply_to(e) for e in timeline if e["sender"] == bot_id]
    return {command: replies.count(command) for command in commands}


def test_a_restarted_bot_answers_what_came_while_it_was_down_and_nothing_twice(
        bots: Bots, human: ChatUser, bot_id: str,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    room = human.create_room(invite=(bot_id,))
    state_file = new_state_file(tmp_path_factory)
    first = bots.serve(room, human, state_file=state_file)
    before = human.say(room, f"{PREFIX} health")
    assert [in_reply_to(a) for a in human.answers_to(room, before, bot_id)] == [before]

    first.stop()
    while_down = human.say(room, f"{PREFIX} nodes")
    bots.start(rooms=(room,), state_file=state_file)

    assert [in_reply_to(a) for a in human.answers_to(room, while_down, bot_id)] == [while_down]
    assert set(answered_once(human, room, bot_id).values()) == {1}


def test_a_bot_without_a_sync_token_skips_the_backlog(
        bots: Bots, human: ChatUser, bot_id: str) -> None:
    room = human.create_room(invite=(bot_id,))
    backlog = human.say(room, f"{PREFIX} health")

    bots.serve(room, human)  # a fresh state file: no token

    assert human.answers_to(room, backlog, bot_id) == []


def test_a_bot_invited_later_does_not_answer_what_was_said_before_it_came(
        bots: Bots, human: ChatUser, bot_id: str) -> None:
    bots.start()  # no MATRIX_ROOMS: it accepts any invite
    room = human.create_room()
    before = human.say(room, f"{PREFIX} health")

    human.invite(room, bot_id)
    human.wait_for_membership(room, bot_id, "join")

    assert human.answers_to(room, before, bot_id) == []


def test_the_bot_reconnects_when_the_homeserver_restarts(
        bots: Bots, human: ChatUser, bot_id: str, synapse: Synapse) -> None:
    room = human.create_room(invite=(bot_id,))
    bots.serve(room, human)
    assert len(human.ask(room, f"{PREFIX} health", bot_id)) == 1

    synapse.restart()

    assert len(human.ask(room, f"{PREFIX} storage", bot_id)) == 1
    assert set(answered_once(human, room, bot_id).values()) == {1}


class HangingSource:
    """A cluster whose API does not answer until released (bounded, so no test can hang)."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def snapshot(self) -> Snapshot:
        self.released.wait(WAIT)
        raise SourceError("released")


def test_a_command_the_cluster_does_not_answer_in_time_gets_a_reason_and_the_room_goes_on(
        bots: Bots, human: ChatUser, bot_id: str) -> None:
    room = human.create_room(invite=(bot_id,))
    hanging = HangingSource()
    bots.serve(room, human, ctx=Context(hanging), answer_timeout=0.5)
    try:
        [answer] = human.ask(room, f"{PREFIX} health", bot_id)  # the probe (help) comes after
    finally:
        hanging.released.set()

    assert answer["content"]["body"] == (
        "cluster API unreachable: no answer from the cluster within 0.5 s")


def test_a_wrong_password_stops_the_adapter_with_a_reason_and_no_secret(
        synapse: Synapse, bot_account: Account, demo_context: Context,
        caplog: pytest.LogCaptureFixture) -> None:
    password = "not-the-password-5f3a"
    bot = MatrixAdapter(MatrixConfig(synapse.url, bot_account.user_id, password=password),
                        answer_from(demo_context))
    with caplog.at_level(logging.DEBUG):
        bot.start()
        try:
            assert not bot.wait_until_ready(15)
        finally:
            bot.stop()

    assert bot.error is not None and "M_FORBIDDEN" in bot.error
    assert password not in caplog.text


def test_serve_stops_with_the_reason_when_matrix_refuses_its_password(
        synapse: Synapse, bot_account: Account, tmp_path: Path) -> None:
    password = "not-the-password-9c1e"
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    env = {**clean, "MATRIX_HOMESERVER": synapse.url, "MATRIX_USER": bot_account.user_id,
           "MATRIX_PASSWORD": password,
           "CLUSTERBOT_MATRIX_STATE_FILE": str(tmp_path / "state.json"),
           "CLUSTERBOT_LISTEN_HOST": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--demo", "--health-port", "0"],
                          env=env, capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("clusterbot: error: matrix: login failed: M_FORBIDDEN"), last
    assert password not in done.stderr + done.stdout


def test_a_bot_logged_out_elsewhere_logs_in_again(
        bots: Bots, human: ChatUser, bot_id: str, bot_account: Account,
        synapse: Synapse) -> None:
    room = human.create_room(invite=(bot_id,))
    bot = bots.serve(room, human)

    synapse.delete_device(bot_account, bot.state.device_id)  # what "sign out that session" does

    assert len(human.ask(room, f"{PREFIX} health", bot_id)) == 1
