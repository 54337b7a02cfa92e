"""JSON output of the view model. The `issues` shape is a public interface: keep it stable.

    {"cluster": ..., "score": {"total": N, "grade": "A", "areas": {"Storage Systems": 100}},
     "findings": [{"code", "severity", "reason", "kind", "namespace", "name", "pods",
                   "title", "cause", "evidence", "recommendation"}]}
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from bot.models import Finding
from bot.report.model import Report


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
    if view in ("issues", "health", "report"):
        document["findings"] = [finding_dict(i.finding) for i in report.issues_in(namespace)]
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() \
        + "\n"
