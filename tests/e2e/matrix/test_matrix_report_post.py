"""`clusterbot report --post` to a Matrix room, as a CronJob-style deployment runs it: the
one-shot process logs in to a real Synapse, joins the configured room, posts the weekly report
and its chart, records the week, and leaves; also when its saved sync token is one the
homeserver never issued (restored from another server's backup)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.e2e.matrix.chat_user import WAIT, ChatUser
from tests.e2e.matrix.homeserver import Synapse


@pytest.mark.parametrize("saved_token", ["", "s999_1_0_1_1_1_1_99_0_1_1_1_1_1"],
                         ids=["first-run", "token-from-another-server"])
def test_report_post_reaches_the_matrix_room_with_its_chart(
        synapse: Synapse, human: ChatUser, tmp_path: Path, saved_token: str) -> None:
    bot_account = synapse.register(f"clusterbot-reports-{len(saved_token)}")
    bot_id = bot_account.user_id
    state = tmp_path / "state.json"
    if saved_token:
        state.write_text(json.dumps({"user_id": bot_id, "next_batch": saved_token}))
    room = human.create_room(invite=(bot_id,))
    history = tmp_path / "history.json"
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    env = {**clean, "MATRIX_HOMESERVER": synapse.url, "MATRIX_USER": bot_account.user_id,
           "MATRIX_PASSWORD": bot_account.password, "MATRIX_ROOMS": room,
           "CLUSTERBOT_MATRIX_STATE_FILE": str(state), "CLUSTERBOT_REPORT_CHANNEL": room}

    done = subprocess.run([sys.executable, "-m", "bot", "report", "--demo", "--post",
                           "--history", str(history)],
                          env=env, capture_output=True, text=True, timeout=4 * WAIT)

    assert done.returncode == 0, done.stderr
    picture = human.wait_for(room, lambda e: e["content"].get("msgtype") == "m.image")
    assert human.download(picture["content"]["url"]).startswith(b"\x89PNG")
    before = human.timeline(room)[:human.timeline(room).index(picture)]
    text = "".join(str(e["content"].get("body", "")) for e in before if e["sender"] == bot_id)
    assert "Executive Summary" in text and "This is the first weekly report" in text
    assert len(orjson.loads(history.read_bytes())["entries"]) == 1
    assert bot_account.password not in done.stderr + done.stdout
