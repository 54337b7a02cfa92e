"""Week over week on the demo cluster: the summary a report leaves behind, and the "what
changed since last week" section the next report opens with."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson

from bot.report.history import Summary, changes, summaries, summarize, weekly_report
from bot.report.model import Report
from bot.report.render import render

NEXT_MONDAY = datetime(2025, 10, 27, 9, 0, tzinfo=UTC)


def stored(report: Report) -> Summary:
    """A summary as it comes back from the history store: through JSON."""
    [summary] = summaries([orjson.loads(orjson.dumps(summarize(report).to_json()))])
    return summary


def section(markdown: str) -> str:
    """The "What changed since last week" section of a rendered report."""
    match = re.search(r"^## What changed since last week\n(.*?)(?=^## )", markdown, re.S | re.M)
    assert match, markdown[:500]
    return match.group(1)


def test_summary_survives_json_and_is_compact(week1):
    summary = summarize(week1)
    assert stored(week1) == summary
    assert len(orjson.dumps(summary.to_json())) < 10_000
    assert summary.findings["POD-CRASHLOOP:Deployment:celery/flower"][:2] == (
        "warning", "Deployment celery/flower")
    assert summary.created["Namespace redis"] == "2025-10-19T08:00:00+00:00"
    assert summary.pvcs["monitoring/prometheus-db"][0] == 10 * 2**30
    assert summary.nodes["pi-worker-03"] == (2, 54)
    assert summary.certificates == {"cert-manager/wildcard-stratdata-org": "2025-12-18"}
    assert summary.severities == week1.severity_counts


def test_two_weeks_on_the_demo_cluster_name_exactly_what_changed(week1, week2):
    change = changes(stored(week1), week2, NEXT_MONDAY)
    assert change.since == week1.generated_at
    assert {p.subject for p in change.resolved_problems} == {
        "Deployment celery/flower", "Service celery/flower"}
    assert {(p.code, p.subject) for p in change.new_problems} == {
        ("POD-CRASHLOOP", "Deployment apps/link-checker")}
    assert [(g.namespace, [(c.kind, c.name) for c in g.changes]) for g in change.deployed] == [
        ("apps", [("Deployment", "link-checker")])]
    assert change.removed == ()
    assert [(p.name, p.size_before, p.size_after) for p in change.growing_pvcs] == [
        ("monitoring/prometheus-db", "10Gi", "20Gi")]
    assert change.growing_nodes == () and change.expiring_certificates == ()
    assert (change.score.before, change.score.after) == (week1.score.total, week2.score.total)
    moved = {a.area: (a.before, a.after) for a in change.areas}
    assert moved == {"Networking": (96, 98)}  # the resolved Service, and nothing else moved


def test_the_report_opens_with_those_changes_and_nothing_else(week1, week2):
    weekly = weekly_report(week2, [stored(week1)], NEXT_MONDAY)
    markdown = render("report", weekly, "markdown")
    assert markdown.index("## What changed since last week") < markdown.index(
        "## Executive Summary")
    bullets = [line for line in section(markdown).splitlines() if line.startswith("- ")]
    items = [line.strip() for line in section(markdown).splitlines() if line.startswith("  - ")]
    assert [b.split(":**")[0] for b in bullets] == [
        "- **Score", "- **New problems (1)", "- **Resolved (2)", "- **Deployed",
        "- **Storage growing fastest"]  # two reports: the score line says the trend
    assert items == [
        "- ⚠️ apps/link-checker: 1/1 pods CrashLoopBackOff (0/1 available) (`POD-CRASHLOOP`)",
        "- ✅ celery/flower: 1/1 pods CrashLoopBackOff (0/1 available) (`POD-CRASHLOOP`)",
        "- ✅ https://flower.stratdata.org is down: Service celery/flower has no ready endpoint"
        " (`SERVICE-NO-ENDPOINTS`)",
        "- **apps**: Deployment link-checker, 5d ago",
        "- monitoring/prometheus-db: resized 10Gi → 20Gi, used 7.6Gi → 12Gi (+4.4Gi)",
    ]
    assert "- **Score:** 94/100, unchanged overall; Networking 96 → 98 (+2)" in bullets
    assert "**Next review:** October 27, 2025 09:00 UTC" in markdown
    text = render("report", weekly, "text")
    assert "What changed since last week\n----" in text and "Next review: October 27" in text
    assert "<h2>What changed since last week</h2>" in render("report", weekly, "html")


def test_the_first_weekly_report_says_so(week1):
    markdown = render("report", weekly_report(week1, [], NEXT_MONDAY), "markdown")
    assert "This is the first weekly report" in section(markdown)
    assert "- **" not in section(markdown)


def test_on_demand_reports_have_no_changes_section(week1):
    markdown = render("report", week1, "markdown")
    assert "What changed" not in markdown and "Next review" not in markdown


def test_a_quiet_week_says_nothing_changed(week2):
    change = changes(stored(week2), week2, NEXT_MONDAY)
    assert change.quiet
    markdown = render("report", replace(week2, changes=change), "markdown")
    assert "Nothing else changed" in section(markdown)
    assert "unchanged" in section(markdown)


def test_going_back_a_week_reports_the_removals(week1, week2):
    change = changes(stored(week2), week1, NEXT_MONDAY)
    assert [(g.namespace, [c.name for c in g.changes]) for g in change.removed] == [
        ("apps", ["link-checker"])]
    assert {p.subject for p in change.new_problems} == {"Deployment celery/flower",
                                                        "Service celery/flower"}
    assert "- **Removed:**" in render("report", replace(week1, changes=change), "markdown")


def test_a_whole_new_namespace_is_one_line(week1):
    before = replace(stored(week1), created={
        k: v for k, v in stored(week1).created.items() if "redis" not in k})
    [group] = changes(before, week1, NEXT_MONDAY).deployed
    assert (group.namespace, group.new_namespace, group.age) == ("redis", True, "10h")
    markdown = render("report", replace(week1, changes=changes(before, week1, NEXT_MONDAY)),
                      "markdown")
    assert "  - **redis** (new namespace): Deployment redis, 10h ago" in markdown


def test_nodes_growing_fastest_and_certificates_due_before_the_next_report(week1):
    before = replace(stored(week1), nodes={**stored(week1).nodes, "pi-worker-03": (2, 40),
                                           "pi-worker-07": (1, 41)})
    far = week1.generated_at + timedelta(days=90)
    change = changes(before, week1, far)
    assert [(n.name, n.memory_before, n.memory_after) for n in change.growing_nodes] == [
        ("pi-worker-03", 40, 54)]  # pi-worker-07 rose 1 point: noise
    assert [c.name for c in change.expiring_certificates] == ["wildcard-stratdata-org"]
    markdown = render("report", replace(week1, changes=change), "markdown")
    assert "  - pi-worker-03: CPU 2% → 2%, memory 40% → 54%" in markdown
    assert "wildcard-stratdata-org (*.stratdata.org, stratdata.org): expires in 60 days" in \
        markdown


def test_entries_of_another_version_are_skipped(week1, caplog):
    good = summarize(week1).to_json()
    assert summaries([{**good, "v": 99}, {"at": "garbage"}, {**good, "nodes": 3}, good]) == [
        summarize(week1)]
    assert "skipping" in caplog.text
