"""docs/example-report.md is the demo cluster's weekly report; this test fails when it is stale.

The example is the demo's second week with the first as history, so it opens with what
changed since last week, and it links the picture posted with it, docs/example-report-chart.png.
Only the Markdown is compared: matplotlib versions draw slightly different bytes.

Regenerate both with: CLUSTERBOT_UPDATE_DOCS=1 python -m pytest tests/report/test_example_report.py
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot
from bot.config import Settings
from bot.report.chart import render_chart
from bot.report.history import summarize, weekly_report
from bot.report.model import Report, diagnose
from bot.report.render import render
from bot.scheduler import next_run, report_trigger

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE, CHART = DOCS / "example-report.md", DOCS / "example-report-chart.png"
PICTURE = (f"\n---\n\nPosted with the report as a picture:\n\n"
           f"![Node CPU and memory use, and the health score over the stored weeks]"
           f"({CHART.name})\n")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def example_weekly_report() -> Report:
    week1, week2 = diagnose(demo_snapshot()), diagnose(demo_week2_snapshot())
    # The settings' defaults (Monday 09:00 UTC), not this machine's CLUSTERBOT_* environment.
    schedule = report_trigger(Settings.model_construct())
    return weekly_report(week2, [summarize(week1)], next_run(schedule, week2.generated_at))


def example_report(weekly: Report) -> str:
    return render("report", weekly, "markdown") + PICTURE


def test_example_report_is_current():
    weekly = example_weekly_report()
    current = example_report(weekly)
    if os.environ.get("CLUSTERBOT_UPDATE_DOCS"):
        EXAMPLE.write_text(current)
        CHART.write_bytes(render_chart(weekly))
    assert EXAMPLE.read_text() == current, (
        "docs/example-report.md is stale: regenerate it with CLUSTERBOT_UPDATE_DOCS=1 "
        "python -m pytest tests/report/test_example_report.py")
    assert CHART.read_bytes().startswith(PNG_SIGNATURE), f"{CHART} is not a PNG"
    assert "## What changed since last week" in current
    assert "**Next review:** October 27, 2025 09:00 UTC" in current
