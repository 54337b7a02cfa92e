"""docs/example-report.md is the demo cluster's report; this test fails when it is stale.

Regenerate it with: CLUSTERBOT_UPDATE_DOCS=1 python -m pytest tests/report/test_example_report.py
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.cluster.demo import demo_snapshot
from bot.report.model import diagnose
from bot.report.render import render

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example-report.md"


def example_report() -> str:
    return render("report", diagnose(demo_snapshot()), "markdown")


def test_example_report_is_current():
    current = example_report()
    if os.environ.get("CLUSTERBOT_UPDATE_DOCS"):
        EXAMPLE.write_text(current)
    assert EXAMPLE.read_text() == current, (
        "docs/example-report.md is stale: regenerate it with CLUSTERBOT_UPDATE_DOCS=1 "
        "python -m pytest tests/report/test_example_report.py")
