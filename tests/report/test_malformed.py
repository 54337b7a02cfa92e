"""A cluster with malformed objects still gets its whole report: no view may crash on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cluster.demo import demo_snapshot
from bot.cluster.dump import load_paths
from bot.cluster.snapshot import Snapshot
from bot.report.json_view import render_json
from bot.report.model import diagnose
from bot.report.render import VIEWS, render

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "robustness" / "malformed-objects.json"


@pytest.fixture(scope="module")
def polluted() -> Snapshot:
    demo = demo_snapshot()
    broken = load_paths([FIXTURE])
    merged = {key: list(demo.items(key)) + list(broken.items(key))
              for key in set(demo.collections) | set(broken.collections)}
    return Snapshot.build(merged, trimmed=True, taken_at=demo.taken_at, source="demo+malformed")


def test_every_view_renders_despite_malformed_objects(polluted):
    report = diagnose(polluted)
    clean = diagnose(demo_snapshot())
    assert {i.finding.key for i in clean.issues} <= {i.finding.key for i in report.issues}
    for view in VIEWS:
        for fmt in ("text", "markdown"):
            assert "celery-worker" in render(view, report, fmt) or view in ("nodes", "storage")
        assert render_json(view, report)
