"""The report's JSON carries what changed since the last weekly report in the shape documented
in bot/report/json_view.py: every key always there, null where there is nothing to say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from bot.report.history import changes, summarize, weekly_report
from bot.report.json_view import render_json
from bot.report.model import Report

NEXT_MONDAY = datetime(2025, 10, 27, 9, 0, tzinfo=UTC)
KEYS = {"since", "score", "areas", "new_problems", "resolved_problems", "deployed", "removed",
        "growing_pvcs", "growing_nodes", "expiring_certificates", "trend", "quiet"}


def as_json(report: Report, view: str = "report") -> dict:
    return orjson.loads(render_json(view, report))


def test_two_weeks_in_json(week1, week2):
    document = as_json(weekly_report(week2, [summarize(week1)], NEXT_MONDAY))
    assert document["next_review"] == "2025-10-27T09:00:00+00:00"
    change = document["changes"]
    assert set(change) == KEYS
    assert change["since"] == "2025-10-19T18:00:00+00:00"
    assert change["score"] == {"area": "Overall", "before": 94, "after": 94, "delta": 0}
    assert [g["age"] for g in change["deployed"]] == ["5d"]
    assert change["trend"] == [{"at": "2025-10-19T18:00:00+00:00", "score": 94},
                               {"at": "2025-10-26T18:00:00+00:00", "score": 94}]


def test_the_first_weekly_report_has_no_since_and_no_before(week1):
    change = as_json(weekly_report(week1, [], NEXT_MONDAY))["changes"]
    assert change["since"] is None
    assert change["score"] == {"area": "Overall", "before": None, "after": 94, "delta": None}
    assert change["new_problems"] == change["deployed"] == []


def test_removals_have_no_age_and_certificates_their_days_left(week1):
    gone = replace(summarize(week1), created={**summarize(week1).created,
                                              "Deployment apps/old-site": "2025-01-01T00:00:00Z"})
    change = changes(gone, week1, week1.generated_at + timedelta(days=90))
    document = as_json(replace(week1, changes=change))["changes"]
    assert document["removed"] == [{"namespace": "apps", "new_namespace": False, "age": None,
                                    "workloads": [{"kind": "Deployment", "name": "old-site",
                                                   "created": "2025-01-01T00:00:00+00:00"}]}]
    assert document["expiring_certificates"] == [{
        "namespace": "cert-manager", "name": "wildcard-stratdata-org",
        "dns_names": "*.stratdata.org, stratdata.org", "days_left": 60}]


def test_a_report_on_demand_says_null_and_other_views_say_nothing(week1):
    document = as_json(week1)
    assert document["changes"] is None and document["next_review"] is None
    assert "changes" not in as_json(week1, "issues")
