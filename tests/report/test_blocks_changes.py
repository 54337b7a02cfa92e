"""The weekly report in Block Kit opens with what changed since the last one: on the demo
cluster's two weeks it names exactly those changes, says what the Markdown report says, and
keeps to Slack's limits however much changed. Blocks are checked with slack_sdk's own models.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.models import Severity
from bot.report.blocks import TOP_CHANGES, render_blocks
from bot.report.history import changes, summarize, weekly_report
from bot.report.model import ProblemChange, Report
from bot.report.render import render
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of

NEXT_MONDAY = datetime(2025, 10, 27, 9, 0, tzinfo=UTC)
HEADING = "*What changed since last week*"


def changes_section(report: Report) -> list[str]:
    """The lines of the message's "what changed" section: the sections after its heading, up
    to the divider that closes it."""
    message = render_blocks("report", report)
    assert_valid_blocks(message.blocks)
    kinds = [b["type"] for b in message.blocks]
    start = next(i for i, b in enumerate(message.blocks)
                 if b["type"] == "section" and b["text"]["text"].startswith(HEADING))
    end = kinds.index("divider", start)
    return text_of(message.blocks[start:end]).splitlines()[1:]


def plain(line: str) -> str:
    """A list item with its bullet and emphasis taken off, in either markup."""
    return re.sub(r"^\s*(?:[-•]\s)?", "", line).replace("**", "").replace("*", "")


def markdown_items(report: Report) -> list[str]:
    markdown = render("report", report, "markdown")
    section = markdown.split("## What changed since last week\n")[1].split("\n## ")[0]
    return [plain(line) for line in section.splitlines() if line.strip()]


def test_two_weeks_on_the_demo_open_with_exactly_what_changed(week1, week2):
    weekly = weekly_report(week2, [summarize(week1)], NEXT_MONDAY)
    lines = changes_section(weekly)
    titles = [line for line in lines if line.startswith("*")]
    assert titles == [
        "*Score:* 94/100, unchanged overall; Networking 96 → 98 (+2)",
        "*New problems (1):*", "*Resolved (2):*", "*Deployed:*", "*Storage growing fastest:*"]
    items = [line.strip() for line in lines if line.startswith("    • ")]
    assert items == [
        "• ⚠️ apps/link-checker: 1/1 pods CrashLoopBackOff (0/1 available) (`POD-CRASHLOOP`)",
        "• ✅ celery/flower: 1/1 pods CrashLoopBackOff (0/1 available) (`POD-CRASHLOOP`)",
        "• ✅ https://flower.stratdata.org is down: Service celery/flower has no ready endpoint"
        " (`SERVICE-NO-ENDPOINTS`)",
        "• *apps*: Deployment link-checker, 5d ago",
        "• monitoring/prometheus-db: resized 10Gi → 20Gi, used 7.6Gi → 12Gi (+4.4Gi)",
    ]
    shown = text_of(render_blocks("report", weekly).blocks)
    assert "*Next review:* October 27, 2025 09:00 UTC" in shown
    assert shown.index(HEADING) < shown.index("*Overall health:*")


def test_the_message_says_what_the_markdown_report_says(week1, week2):
    for weekly in (weekly_report(week2, [summarize(week1)], NEXT_MONDAY),
                   weekly_report(week1, [summarize(week2)], NEXT_MONDAY),  # a removal
                   weekly_report(week1, [], NEXT_MONDAY),
                   weekly_report(week2, [summarize(week1)] * 3, NEXT_MONDAY)):  # a trend
        assert [plain(line) for line in changes_section(weekly)] == markdown_items(weekly)


def test_a_trend_is_told_from_three_reports_on(week1, week2):
    earlier = replace(summarize(week1), at=week1.generated_at - timedelta(weeks=1), score=88)
    lines = changes_section(weekly_report(week2, [earlier, summarize(week1)], NEXT_MONDAY))
    assert lines[-1] == "*Score trend:* 88 → 94 → 94 over the last 3 reports"


def test_the_first_weekly_report_says_so(week1):
    lines = changes_section(weekly_report(week1, [], NEXT_MONDAY))
    assert len(lines) == 1 and "first weekly report" in lines[0]


def test_a_quiet_week_says_nothing_else_changed(week2):
    weekly = replace(week2, changes=changes(summarize(week2), week2, NEXT_MONDAY))
    lines = changes_section(weekly)
    assert lines[1] == "*Score:* 94/100, unchanged"
    assert lines[2].startswith("Nothing else changed")


def test_on_demand_reports_have_no_changes_and_no_next_review(week1):
    shown = text_of(render_blocks("report", week1).blocks)
    assert HEADING not in shown and "Next review" not in shown


def test_a_long_list_of_changes_is_cut_with_a_count_and_escaped(week2):
    many = tuple(ProblemChange("POD-CRASHLOOP", Severity.WARNING, f"Deployment apps/w{i}",
                               f"apps/w{i} <crash> & burn") for i in range(40))
    weekly = weekly_report(week2, [summarize(week2)], NEXT_MONDAY)
    assert weekly.changes is not None
    flooded = replace(weekly, changes=replace(weekly.changes, new_problems=many))
    message = render_blocks("report", flooded)
    assert_valid_blocks(message.blocks)
    lines = changes_section(flooded)
    assert "*New problems (40):*" in lines
    shown = [line for line in lines if "apps/w" in line]
    assert len(shown) == TOP_CHANGES
    assert shown[0].endswith("• ⚠️ apps/w0 &lt;crash&gt; &amp; burn (`POD-CRASHLOOP`)")
    assert f"    …and {40 - TOP_CHANGES} more in the attached report" in lines
    assert not message.complete  # the full report goes along as the file
