"""Block Kit rendering: every view within Slack's limits, cut with a count, escaped, with a
seam for remediation buttons. Blocks are checked with slack_sdk's own models.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cluster.demo import demo_snapshot
from bot.cluster.snapshot import Snapshot
from bot.models import Finding, ObjectRef, Severity
from bot.report.blocks import SECTION_CHARS, render_blocks, text_message
from bot.report.model import Issue, Report, diagnose
from bot.report.render import VIEWS
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of


@pytest.fixture(scope="module")
def report() -> Report:
    return diagnose(demo_snapshot())


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_of_the_demo_is_valid_block_kit_with_a_fallback(view: str,
                                                                  report: Report) -> None:
    message = render_blocks(view, report, {"limit": 10})
    assert_valid_blocks(message.blocks)
    assert message.text.startswith(report.cluster)
    assert message.complete is (view != "report")  # the report's blocks are its summary


def _many_nodes(count: int) -> Snapshot:
    nodes = [{"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": f"node-{i:04d}", "creationTimestamp": "2025-01-01T00:00:00Z"},
              "status": {"conditions": [{"type": "Ready", "status": "True"}],
                         "nodeInfo": {"kubeletVersion": "v1.32.2+k3s1"}}}
             for i in range(count)]
    return Snapshot.build({"nodes": nodes}, taken_at=datetime(2025, 10, 19, tzinfo=UTC))


def test_a_list_longer_than_fifty_blocks_is_cut_and_counted() -> None:
    report = diagnose(_many_nodes(2000))
    message = render_blocks("nodes", report)
    assert_valid_blocks(message.blocks)
    assert len(message.blocks) == 50
    assert not message.complete
    shown = text_of(message.blocks)
    listed = sum(1 for n in report.nodes if f"*{n.name}*" in shown)
    assert 0 < listed < 2000
    assert f"…and {2000 - listed} more nodes" in shown
    assert message.blocks[-1]["elements"][0]["text"] == "The full answer is in the attached file."


def _with_issue(report: Report, **finding: Any) -> Report:
    made = Finding(code="POD-CRASHLOOP", severity=Severity.WARNING, reason="CrashLoopBackOff",
                   subject=ObjectRef("Deployment", "web", "default"), title="web: crash loop",
                   **finding)
    return dataclasses.replace(report, issues=(Issue(1, "High", "Applications", made),))


def test_cluster_text_is_escaped_and_long_text_cut_to_a_section(report: Report) -> None:
    odd = _with_issue(report, cause="x < y & z > w " + "long " * 1000,
                      recommendation="push it to `<registry>/web:1`")
    message = render_blocks("issues", odd)
    assert_valid_blocks(message.blocks)
    shown = text_of(message.blocks)
    assert "x &lt; y &amp; z &gt; w" in shown
    assert "`&lt;registry&gt;/web:1`" in shown
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert max(len(s) for s in sections) < SECTION_CHARS
    assert "…\n*Fix:* push it to `&lt;registry&gt;/web:1`" in shown  # cause cut, fix whole


def test_issues_beyond_the_limit_point_to_the_full_list(report: Report) -> None:
    message = render_blocks("issues", report, {"limit": 2})
    shown = text_of(message.blocks)
    assert f"…and {len(report.issues) - 2} more: run `/cluster issues --all`" in shown
    namespace = report.issues[0].finding.subject.namespace
    only = render_blocks("issues", report, {"limit": 0, "namespace": namespace})
    assert f"run `/cluster issues {namespace} --all`" in text_of(only.blocks)


def test_remediation_blocks_come_from_the_actions_seam(report: Report) -> None:
    def buttons(issue: Issue) -> list[dict[str, Any]]:
        return [{"type": "actions", "elements": [{
            "type": "button", "action_id": f"fix-{issue.number}",
            "text": {"type": "plain_text", "text": "Fix"}, "value": issue.finding.key}]}]

    message = render_blocks("issues", report, {"limit": 3}, actions=buttons)
    assert_valid_blocks(message.blocks)
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert [a["elements"][0]["value"] for a in actions] == [
        i.finding.key for i in report.issues[:3]]
    assert not [b for b in render_blocks("issues", report, {"limit": 3}).blocks
                if b["type"] == "actions"]


def test_a_long_plain_answer_is_split_into_monospaced_sections() -> None:
    lines = [f"CHECK-{i:03d}  warning  something worth knowing about number {i}"
             for i in range(300)]
    message = text_message("Checks clusterbot runs:\n" + "\n".join(lines), error=False)
    assert_valid_blocks(message.blocks)
    first, *rest = message.blocks
    assert first["text"]["text"] == "Checks clusterbot runs:"
    assert len(rest) > 1 and all(b["text"]["text"].startswith("```\n") for b in rest)
    assert all(line in text_of(message.blocks) for line in lines)
    assert text_message("cluster API unreachable: refused", error=True).blocks[0]["text"][
        "text"] == "⚠️ cluster API unreachable: refused"
