"""Week over week: a compact summary of each weekly report, and what changed since the last.

The weekly report opens with what changed: the score per area, problems that appeared or were
resolved, what was deployed or removed ("redis and celery deployed, 10h ago"), the PVCs and
nodes growing fastest, and certificates that expire before the next report. To say that, each
report leaves a `Summary` behind (scores, severity counts, node and PVC usage, finding keys,
namespaces and workloads with their creation times, certificate expiries): small JSON that the
history store keeps for 12 weeks. `changes()` compares the previous summary with the current
Report and returns the `Changes` view model that every renderer shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.cluster.units import format_bytes, parse_time, quantity
from bot.models import Severity
from bot.report.inventory import CertificateRow
from bot.report.model import (
    Changes,
    NodeGrowth,
    ProblemChange,
    PVCGrowth,
    RecentChange,
    RecentGroup,
    Report,
    ScoreChange,
    TrendPoint,
    group_by_namespace,
)

log = logging.getLogger(__name__)

VERSION = 1
TOP = 3  # fastest-growing PVCs and nodes shown
PVC_GROWTH_SHARE = 0.01  # used space must grow by 1% of the PVC's size to count
NODE_GROWTH_POINTS = 5  # node CPU or memory must rise by 5 percentage points to count
DEFAULT_PERIOD = timedelta(days=7)  # until the next report, when none is scheduled


@dataclass(frozen=True)
class Summary:
    """What one weekly report leaves behind for the next to compare with."""

    at: datetime
    score: int
    areas: Mapping[str, int | None]
    severities: Mapping[str, int]
    nodes: Mapping[str, tuple[int | None, int | None]]  # CPU %, memory %
    pvcs: Mapping[str, tuple[float, float | None]]  # "ns/name": size, used bytes
    findings: Mapping[str, tuple[str, str, str]]  # Finding.key: severity, subject, headline
    created: Mapping[str, str]  # "Deployment ns/name", "Namespace name": creation time
    certificates: Mapping[str, str]  # "ns/name": expiry date

    def to_json(self) -> dict[str, Any]:
        return {"v": VERSION, "at": self.at.isoformat(), "score": self.score,
                "areas": dict(self.areas), "severities": dict(self.severities),
                "nodes": {k: list(v) for k, v in self.nodes.items()},
                "pvcs": {k: list(v) for k, v in self.pvcs.items()},
                "findings": {k: list(v) for k, v in self.findings.items()},
                "created": dict(self.created), "certificates": dict(self.certificates)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary | None:
        """The summary stored by `to_json`; None (logged) for another version or garbage."""
        at = parse_time(data.get("at"))
        if data.get("v") != VERSION or at is None:
            log.warning("skipping a history entry of version %r at %r", data.get("v"),
                        data.get("at"))
            return None
        try:
            return cls(at=at, score=int(data["score"]), areas=dict(data["areas"]),
                       severities=dict(data["severities"]),
                       nodes={k: (v[0], v[1]) for k, v in data["nodes"].items()},
                       pvcs={k: (float(v[0]), v[1]) for k, v in data["pvcs"].items()},
                       findings={k: (v[0], v[1], v[2]) for k, v in data["findings"].items()},
                       created=dict(data["created"]), certificates=dict(data["certificates"]))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            log.warning("skipping a malformed history entry at %s: %r", at, error)
            return None


def summaries(entries: Iterable[Mapping[str, Any]]) -> list[Summary]:
    """The readable summaries among stored entries, oldest first."""
    return [s for s in map(Summary.from_json, entries) if s is not None]


def _created_key(change: RecentChange) -> str:
    where = f"{change.namespace}/" if change.namespace else ""
    return f"{change.kind} {where}{change.name}"


def _pvc_sizes(report: Report) -> dict[str, tuple[float, float | None]]:
    return {f"{p.namespace}/{p.name}": (p.size_bytes, quantity(p.used) if p.used else None)
            for group in report.storage for p in group.pvcs}


def summarize(report: Report) -> Summary:
    return Summary(
        at=report.generated_at,
        score=report.score.total,
        areas={a.name: a.score for a in report.score.areas},
        severities=dict(report.severity_counts),
        nodes={n.name: (n.cpu_pct, n.memory_pct) for n in report.nodes},
        pvcs=_pvc_sizes(report),
        findings={i.finding.key: (i.finding.severity.value, str(i.finding.subject),
                                  i.finding.headline) for i in report.issues},
        created={_created_key(c): c.created.isoformat() for c in report.created},
        certificates={f"{c.namespace}/{c.name}": (report.generated_at + timedelta(
            days=c.days_left)).date().isoformat() for c in report.certificates
            if c.days_left is not None},
    )


# -- what changed ---------------------------------------------------------------------------


def changes(previous: Summary | None, current: Report, next_run: datetime | None, *,
            trend: Sequence[Summary] = ()) -> Changes:
    """What changed between the previous weekly report and this one; `since` is None (and
    only the score, certificates and trend are filled) when there is no previous report."""
    first = Changes(
        since=None,
        score=ScoreChange("Overall", previous.score if previous else None, current.score.total),
        expiring_certificates=_expiring(current, next_run),
        trend=(*(TrendPoint(s.at, s.score) for s in trend),
               TrendPoint(current.generated_at, current.score.total)),
    )
    if previous is None:
        return first
    new, resolved = _problems(previous, current)
    return replace(
        first,
        since=previous.at,
        areas=tuple(ScoreChange(a.name, previous.areas.get(a.name), a.score)
                    for a in current.score.areas if previous.areas.get(a.name) != a.score),
        new_problems=new,
        resolved_problems=resolved,
        deployed=group_by_namespace(c for c in current.created
                                    if previous.created.get(_created_key(c))
                                    != c.created.isoformat()),
        removed=_removed(previous, current),
        growing_pvcs=_growing_pvcs(previous, current),
        growing_nodes=_growing_nodes(previous, current),
    )


def _problems(previous: Summary, current: Report) -> tuple[tuple[ProblemChange, ...],
                                                           tuple[ProblemChange, ...]]:
    now = {i.finding.key: i.finding for i in current.issues}
    new = tuple(ProblemChange(f.code, f.severity, str(f.subject), f.headline)
                for key, f in now.items() if key not in previous.findings)
    resolved = tuple(ProblemChange(key.split(":", 1)[0], Severity(severity), subject, title)
                     for key, (severity, subject, title) in previous.findings.items()
                     if key not in now)
    return new, resolved


def _removed(previous: Summary, current: Report) -> tuple[RecentGroup, ...]:
    present = {_created_key(c) for c in current.created}
    gone = []
    for key, created in previous.created.items():
        if key in present:
            continue
        kind, _, where = key.partition(" ")
        namespace, _, name = where.rpartition("/")
        gone.append(RecentChange(kind, namespace, name, "", parse_time(created)
                                 or previous.at))
    return group_by_namespace(gone)


def _growing_pvcs(previous: Summary, current: Report) -> tuple[PVCGrowth, ...]:
    grown = [g for name, now in _pvc_sizes(current).items() if name in previous.pvcs
             and (g := _pvc_growth(name, previous.pvcs[name], now)) is not None]
    return tuple(g for _, g in sorted(grown, key=lambda g: -g[0])[:TOP])


def _pvc_growth(name: str, before: tuple[float, float | None],
                after: tuple[float, float | None]) -> tuple[float, PVCGrowth] | None:
    """How much a PVC grew: its used space when known both times, else its size."""
    (old_size, old_used), (size, used) = before, after
    if old_used is not None and used is not None:
        growth = used - old_used
        used_before, used_after = format_bytes(old_used), format_bytes(used)
    else:
        growth = size - old_size
        used_before = used_after = ""
    if growth <= 0 or (size == old_size and growth < size * PVC_GROWTH_SHARE):
        return None
    return growth, PVCGrowth(name, format_bytes(old_size), format_bytes(size), used_before,
                             used_after, f"+{format_bytes(growth)}")


def _growing_nodes(previous: Summary, current: Report) -> tuple[NodeGrowth, ...]:
    grown = []
    for node in current.nodes:
        cpu_before, memory_before = previous.nodes.get(node.name, (None, None))
        rises = [after - before for before, after in ((cpu_before, node.cpu_pct),
                                                      (memory_before, node.memory_pct))
                 if before is not None and after is not None]
        if rises and max(rises) >= NODE_GROWTH_POINTS:
            grown.append((max(rises), NodeGrowth(node.name, cpu_before, node.cpu_pct,
                                                 memory_before, node.memory_pct)))
    return tuple(g for _, g in sorted(grown, key=lambda g: -g[0])[:TOP])


def _expiring(current: Report, next_run: datetime | None
              ) -> tuple[CertificateRow, ...]:
    until_next = (next_run - current.generated_at) if next_run else DEFAULT_PERIOD
    days = until_next.total_seconds() / 86400
    return tuple(c for c in current.certificates if c.days_left is not None and c.days_left < days)


def weekly_report(report: Report, history: Sequence[Summary], next_run: datetime | None
                  ) -> Report:
    """The report as posted weekly: opening with what changed since the last, and saying
    when the next one is due."""
    previous = history[-1] if history else None
    return replace(report, changes=changes(previous, report, next_run, trend=history),
                   next_review=next_run)
