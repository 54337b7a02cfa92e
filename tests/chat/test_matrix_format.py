"""What the Matrix adapter reads and sends, without a homeserver: commands, ✅, message parts."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.actions.remediation import Remediation
from bot.chat.base import Reply
from bot.chat.matrix_format import (
    DEFAULT_LIMIT,
    PLAN_KEY,
    TOKEN_KEY,
    command_text,
    is_confirm_key,
    markdown_size,
    notices,
    posted_token,
    split,
)
from bot.cluster.demo import demo_snapshot
from bot.config import Settings
from bot.report.model import Report, diagnose
from bot.report.render import markdown_to_html


@pytest.fixture(scope="module")
def report() -> Report:
    return diagnose(demo_snapshot())


@pytest.mark.parametrize(("body", "command"), [
    ("!cluster health", "health"),
    ("  !cluster   issues  databases ", "issues  databases"),
    ("!cluster", ""),
    ("> <@alice:example.org> the report\n\n!cluster confirm abc", "confirm abc"),
    ("!clusterhealth", None),
    ("please !cluster health", None),
    ("/cluster health", None),
])
def test_commands_are_recognised_by_their_prefix(body: str, command: str | None) -> None:
    assert command_text(body) == command


@pytest.mark.parametrize(("key", "confirms"), [
    ("✅", True), ("✅\ufe0f", True), ("👍", False), ("✔️", False)])
def test_only_the_check_mark_confirms(key: str, confirms: bool) -> None:
    assert is_confirm_key(key) is confirms


def test_a_report_that_fits_is_one_notice_with_text_and_html(report: Report) -> None:
    [notice] = notices(Reply(view="nodes", report=report))

    assert notice["msgtype"] == "m.notice"
    assert notice["format"] == "org.matrix.custom.html"
    assert "<table>" in notice["formatted_body"] and "pi-worker-02" in notice["body"]
    assert "|" not in notice["body"]  # the plain body is the text rendering, not Markdown


def test_a_plain_reply_is_a_plain_notice() -> None:
    assert notices(Reply(text="unknown command `x`")) == [
        {"msgtype": "m.notice", "body": "unknown command `x`"}]


def test_each_plan_follows_on_a_notice_of_its_own_with_its_token(report: Report) -> None:
    remediation = Remediation.from_settings(Settings(action_secret="s" * 32), None)
    leftovers = next(i.finding for i in report.issues if i.finding.code == "JOB-FAILED")
    plans, _ = remediation.planner.plans_for(leftovers, "@alice:example.org")
    answer = Reply(text="#2 test-data-load failed\n...", options={"plans": tuple(plans)})

    parts = notices(answer, 8_000)

    assert len(plans) > 1 and len(parts) == 1 + len(plans)
    assert PLAN_KEY not in parts[0] and TOKEN_KEY not in parts[0]
    assert [(p[PLAN_KEY], p[TOKEN_KEY]) for p in parts[1:]] == [(p.id, p.token) for p in plans]
    assert parts[1]["body"] == (f"1. {plans[0].label} (plan {plans[0].id}): react ✅ to this "
                                f"message or say `!cluster confirm {plans[0].id}` to see it.")
    assert posted_token(reversed(parts), plans[1].id) == plans[1].token
    assert posted_token(parts, "nosuchid") is None


@pytest.mark.parametrize("limit", [DEFAULT_LIMIT, 16_000, 4_000, 1_000])
def test_every_part_of_a_split_report_fits_the_limit(report: Report, limit: int) -> None:
    parts = notices(Reply(view="report", report=report, options={"limit": None}), limit)

    assert all(len(p["body"].encode()) + len(p["formatted_body"].encode()) <= limit
               for p in parts)
    assert (len(parts) > 1) == (limit < DEFAULT_LIMIT)


def test_sections_split_at_headings_join_back_losslessly() -> None:
    markdown = "# Title\nintro\n\n## One\n" + "a line\n" * 40 + "## Two\n" + "b line\n" * 40

    parts = split(markdown, 600, markdown_size)

    assert "".join(parts) == markdown
    assert [p.splitlines()[0] for p in parts] == ["# Title", "## One", "## Two"]


def test_a_heading_inside_a_code_block_is_not_a_cut() -> None:
    markdown = "## Fix\n```bash\n# a comment\nkubectl get pods\n```\n\n## Next\n" + "x\n" * 300

    parts = split(markdown, 1_000, markdown_size)

    assert parts[0] == "## Fix\n```bash\n# a comment\nkubectl get pods\n```\n\n"
    assert "".join(parts) == markdown


def test_a_long_code_block_keeps_its_fences_in_every_part() -> None:
    markdown = "```bash\n" + "# a comment\nkubectl get pods\n" * 60 + "```\n"

    parts = split(markdown, 800, markdown_size)

    assert len(parts) > 1
    html = [markdown_to_html(p) for p in parts]
    assert all(h.startswith("<pre><code") and "<h1>" not in h for h in html)
    assert "".join(parts).count("kubectl get pods") == 60


def test_a_long_table_repeats_its_header_in_every_part() -> None:
    header = "| Node | Status |\n| --- | --- |\n"
    markdown = header + "".join(f"| pi-{i:03} | Ready |\n" for i in range(200))

    parts = split(markdown, 2_000, markdown_size)

    assert len(parts) > 1
    assert all(p.startswith(header) and markdown_size(p) <= 2_000 for p in parts)
    assert all(markdown_to_html(p).startswith("<table>") for p in parts)
    rows = [line for p in parts for line in p.splitlines()[2:]]
    assert rows == markdown.splitlines()[2:]


def test_a_single_overlong_line_is_cut_inside() -> None:
    parts = split("x" * 5_000, 1_000, lambda text: len(text.encode()))

    assert "".join(parts) == "x" * 5_000 and all(len(p) <= 1_000 for p in parts)


@settings(max_examples=60, deadline=None)
@example(lines=["## Head\n", *["text line\n"] * 4, "- item\n", "é✅ " * 20 + "\n", "\n",
                "- item\n"], limit=415)  # a line after a list item joins it: sizes do not add
@given(st.lists(st.sampled_from(["## Head\n", "text line\n", "\n", "- item\n", "| a | b |\n",
                                 "```\n", "é✅ " * 20 + "\n"]), min_size=1, max_size=120),
       st.integers(min_value=200, max_value=3_000))
def test_any_text_splits_into_parts_within_the_limit_and_joins_back(lines: list[str],
                                                                     limit: int) -> None:
    text = "".join(lines)  # no table rule line: a table's repeated header would add text

    parts = split(text, limit, markdown_size)

    assert all(p and markdown_size(p) <= limit for p in parts)
    # A cut code block repeats its fences in every part (and a lone over-long line in a block
    # is cut without them, as the last resort): apart from fence lines nothing is added or lost.
    assert _without_fences("".join(parts)) == _without_fences(text)


def _without_fences(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.strip() != "```")
