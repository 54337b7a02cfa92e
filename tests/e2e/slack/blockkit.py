"""Check a message the way Slack would: every block parses, validates and keeps the limits.

slack_sdk's models validate most limits (section text 3,000, 10 fields, header 150); the
ones it does not check (50 blocks, a field's 2,000 characters) are checked here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, SectionBlock


def assert_valid_blocks(blocks: Sequence[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50, f"{len(blocks)} blocks"
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, f"unknown block {raw}"
        parsed.validate_json()  # raises SlackObjectFormationError past a limit
        assert parsed.to_dict() == raw, "the block does not survive a round trip"
        if isinstance(parsed, SectionBlock) and parsed.fields:
            assert all(len(f.text) <= 2000 for f in parsed.fields)


def text_of(blocks: Sequence[dict[str, Any]]) -> str:
    """Everything a reader sees in the blocks, one block a line (buttons by their labels)."""
    parts = []
    for block in blocks:
        texts = [block.get("text") or {}] + block.get("fields", []) + block.get("elements", [])
        parts.append("\n".join(_shown(t) for t in texts if isinstance(t, dict)))
    return "\n".join(parts)


def _shown(element: dict[str, Any]) -> str:
    text = element.get("text", "")
    return str(text.get("text", "")) if isinstance(text, dict) else str(text)
