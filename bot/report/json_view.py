"""JSON output of the view model. The `issues` shape is a public interface: keep it stable.

    {"cluster": ..., "score": {"total": N, "grade": "A", "areas": {"Storage Systems": 100}},
     "findings": [{"code", "severity", "reason", "kind", "namespace", "name", "pods",
                   "title", "cause", "evidence", "recommendation"}]}

The `report` view adds what changed since the last weekly report (`report --since-last`), a
public shape too; both keys are null on a report made on demand. Times are ISO 8601, sizes as
kubectl prints them ("20Gi"), node usage in percent of allocatable, null where unknown:

    "next_review": "2025-10-27T09:00:00+00:00",
    "changes": {"since": time or null (the first weekly report),
                "score": {"area": "Overall", "before", "after", "delta"},
                "areas": [the same, for each area whose score moved],
                "new_problems": [{"code", "severity", "subject", "title"}],
                "resolved_problems": [the same],
                "deployed": [{"namespace", "new_namespace", "age": "5d",
                              "workloads": [{"kind", "name", "created"}]}],
                "removed": [the same, "age" null],
                "growing_pvcs": [{"name": "ns/name", "size_before", "size_after",
                                  "used_before", "used_after", "grown": "+4.4Gi"}],
                "growing_nodes": [{"name", "cpu_before", "cpu_after", "memory_before",
                                   "memory_after"}],
                "expiring_certificates": [{"namespace", "name", "dns_names", "days_left"}],
                "trend": [{"at", "score"}], "quiet": true when nothing moved but the score}
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from bot.models import Finding
from bot.report.model import Changes, RecentGroup, Report, ScoreChange


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "reason": finding.reason,
        "kind": finding.subject.kind,
        "namespace": finding.subject.namespace,
        "name": finding.subject.name,
        "pods": list(finding.pods),
        "title": finding.title,
        "cause": finding.cause,
        "evidence": list(finding.evidence),
        "recommendation": finding.recommendation,
    }


def score_dict(report: Report) -> dict[str, Any]:
    score = report.score
    return {
        "total": score.total,
        "grade": score.grade,
        "label": score.label,
        "areas": {a.name: a.score for a in score.areas},
    }


def _score_change(change: ScoreChange) -> dict[str, Any]:
    return {"area": change.area, "before": change.before, "after": change.after,
            "delta": change.delta}


def _group(group: RecentGroup) -> dict[str, Any]:
    return {"namespace": group.namespace, "new_namespace": group.new_namespace,
            "age": group.age or None,
            "workloads": [{"kind": c.kind, "name": c.name, "created": c.created.isoformat()}
                          for c in group.changes]}


def changes_dict(changes: Changes) -> dict[str, Any]:
    """What changed since the last weekly report, in the shape documented above."""
    return {
        "since": changes.since.isoformat() if changes.since else None,
        "score": _score_change(changes.score),
        "areas": [_score_change(a) for a in changes.areas],
        **{key: [{"code": p.code, "severity": p.severity.value, "subject": p.subject,
                  "title": p.title} for p in problems]
           for key, problems in (("new_problems", changes.new_problems),
                                 ("resolved_problems", changes.resolved_problems))},
        "deployed": [_group(g) for g in changes.deployed],
        "removed": [_group(g) for g in changes.removed],
        "growing_pvcs": [{"name": p.name, "size_before": p.size_before,
                          "size_after": p.size_after, "used_before": p.used_before or None,
                          "used_after": p.used_after or None, "grown": p.grown}
                         for p in changes.growing_pvcs],
        "growing_nodes": [asdict(n) for n in changes.growing_nodes],
        "expiring_certificates": [{"namespace": c.namespace, "name": c.name,
                                   "dns_names": c.dns_names, "days_left": c.days_left}
                                  for c in changes.expiring_certificates],
        "trend": [{"at": t.at.isoformat(), "score": t.score} for t in changes.trend],
        "quiet": changes.quiet,
    }


_SECTIONS = {
    "health": ("facts", "notes"),
    "nodes": ("facts", "nodes", "utilisation"),
    "storage": ("storage", "notes"),
    "report": ("facts", "nodes", "namespaces", "workloads", "storage", "ingresses",
               "certificates", "recent", "utilisation", "capacity", "notes"),
}


def render_json(view: str, report: Report, namespace: str | None = None) -> str:
    document: dict[str, Any] = {
        "cluster": report.cluster,
        "generated_at": report.generated_at.isoformat(),
        "source": report.source,
        "score": score_dict(report),
    }
    for section in _SECTIONS.get(view, ()):
        value = getattr(report, section)
        document[section] = asdict(value) if hasattr(value, "__dataclass_fields__") else \
            [asdict(v) if hasattr(v, "__dataclass_fields__") else v for v in value]
    if view == "report":
        document["next_review"] = report.next_review.isoformat() if report.next_review \
            else None
        document["changes"] = changes_dict(report.changes) if report.changes else None
    if view in ("issues", "health", "report"):
        document["findings"] = [finding_dict(i.finding) for i in report.issues_in(namespace)]
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() \
        + "\n"
