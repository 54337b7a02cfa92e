"""The Slack app manifest matches the bot: its command, every verb in order, what it needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.chat.slack import COMMAND
from commands import ALL

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-app-manifest.yaml"


def test_the_manifest_declares_the_command_with_every_verb_in_order() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    hinted = [part.split()[0] for part in command["usage_hint"].split(" | ")]
    assert hinted == [c.name for c in ALL]


def test_the_manifest_grants_what_the_bot_uses_in_socket_mode() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "files:write",
            "usergroups:read"} <= scopes
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
