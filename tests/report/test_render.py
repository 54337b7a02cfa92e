"""One view model, many formats: text, Markdown and HTML say the same things."""

from __future__ import annotations

import re

import pytest

from bot.cluster.demo import demo_snapshot
from bot.report.model import diagnose
from bot.report.render import VIEWS, render


@pytest.fixture(scope="module")
def report():
    return diagnose(demo_snapshot())


def test_markdown_tables_have_a_header_rule_and_even_columns(report):
    markdown = render("report", report, "markdown")
    tables = re.findall(r"((?:^\|.*\|\n)+)", markdown + "\n", re.M)
    assert len(tables) >= 6
    for table in tables:
        rows = table.strip().splitlines()
        assert set(rows[1].replace("|", "").split()) == {"---"}
        assert len({row.count(" | ") for row in rows}) == 1, rows[0]


def test_report_has_the_seed_reports_sections_in_order(report):
    markdown = render("report", report, "markdown")
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    expected = ["Executive Summary", "Cluster Nodes (8 Total)", "Namespaces (18 Total)",
                "Deployed Services", "Storage Analysis", "Networking",
                "Issues & Recommendations", "Recent Deployments (last 14 days)",
                "Resource Utilization", "Security Status", "Capacity Planning",
                "Summary & Health Score"]
    assert [h for h in headings if h in expected] == expected


def test_node_table_matches_kubectl_top(report):
    text = render("nodes", report, "text")
    row = next(line for line in text.splitlines() if line.startswith("pi-worker-03"))
    assert "4377Mi" in row and "54%" in row and "119m" in row


def test_text_has_no_markdown_markup(report):
    text = render("issues", report, "text")
    assert "**" not in text and "| ---" not in text and "```" not in text
    assert "kubectl delete pod -n financial-screener test-eodhd-complete" in text


def test_html_renders_tables(report):
    html = render("storage", report, "html")
    assert "<table>" in html and "<td>prometheus-db</td>" in html


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_view_every_format_names_the_cluster_facts(report, view, fmt):
    out = render(view, report, fmt)
    assert out.strip()
    if view in ("health", "report", "issues"):
        assert "celery-worker" in out


def test_issues_filtered_to_a_healthy_namespace(report):
    out = render("issues", report, "text", namespace="redis")
    assert out.strip() == "No problems found in namespace redis. ✅"


def test_unknown_view_is_refused(report):
    with pytest.raises(ValueError, match="unknown view"):
        render("nodez", report, "text")
