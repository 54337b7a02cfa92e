"""Button clicks as Slack sends them: a signed `block_actions` payload about a posted message.

Slack POSTs `payload=<JSON>` (form-encoded) to the app's request URL, signed like a slash
command. The payload carries the clicked button (its action_id and value), who clicked, and
the message as the clicker saw it, with a `block_id` on every block (Slack assigns one where
the app gave none), which is what the bot rewrites with chat.update.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from tests.e2e.slack.stub import BOT_USER, TEAM, Call

Block = dict[str, Any]


def buttons(blocks: Sequence[Block]) -> list[Block]:
    """Every button in the blocks, in order."""
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]
            if e.get("type") == "button"]


def button(blocks: Sequence[Block], label: str) -> Block:
    """The one button whose text starts with `label`."""
    [found] = [b for b in buttons(blocks) if b["text"]["text"].startswith(label)]
    return found


def as_slack_shows(blocks: Sequence[Block]) -> list[Block]:
    """The blocks with a block_id on each, as Slack hands a message back."""
    return [{"block_id": f"slack-{n}", **b} if "block_id" not in b else dict(b)
            for n, b in enumerate(blocks)]


def block_actions(posted: Call, clicked: Block, *, user: str, response_url: str,
                  blocks: Sequence[Block] | None = None) -> dict[str, Any]:
    """The payload of a click on `clicked` in the message the bot `posted` (or updated)."""
    channel, ts = posted.result["channel"], posted.result["ts"]
    shown = as_slack_shows(posted.params["blocks"] if blocks is None else blocks)
    block_id = next(b["block_id"] for b in shown
                    if any(e.get("action_id") == clicked["action_id"]
                           for e in b.get("elements", [])))
    return {
        "type": "block_actions", "api_app_id": "A0CLUSTER", "token": "legacy-verification-token",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "team": {"id": TEAM, "domain": "homelab"}, "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel, "name": "ops"}, "trigger_id": "1337.42.click",
        "message": {"type": "message", "user": BOT_USER, "bot_id": "B0BOT", "ts": ts,
                    "text": posted.params["text"], "blocks": shown},
        "state": {"values": {}}, "response_url": response_url,
        "actions": [{**clicked, "block_id": block_id, "action_ts": "1760897100.000100"}],
    }


def form(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def tampered(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The token with its payload changed by `change` and its signature kept."""
    version, payload, mac = token.split(".")
    data = json.loads(zlib.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                                % 4))))
    change(data)
    forged = base64.urlsafe_b64encode(zlib.compress(json.dumps(data).encode())).decode()
    return f"{version}.{forged.rstrip('=')}.{mac}"
