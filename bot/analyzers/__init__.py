"""Diagnosis: every analyzer, one file per area, run over a Snapshot to produce Findings.

`ALL` is the explicit list (no plugin discovery, so the catalogue is greppable and ordered).
Each analyzer is a pure function of the Snapshot; `analyze()` runs them all and guards each
so that a bug in one area costs only that area's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from bot.analyzers import certs, jobs, network, nodes, pods, storage, workloads
from bot.analyzers.base import ANALYZER_ERROR, CATALOGUE, Check, Context, Thresholds, finding
from bot.cluster.snapshot import Snapshot
from bot.models import Finding, ObjectRef

Analyzer = Callable[[Context], Iterable[Finding]]

ALL: tuple[tuple[str, Analyzer], ...] = (
    ("nodes", nodes.analyze),
    ("pods", pods.analyze),
    ("workloads", workloads.analyze),
    ("jobs", jobs.analyze),
    ("storage", storage.analyze),
    ("network", network.analyze),
    ("certs", certs.analyze),
)

__all__ = ["ALL", "CATALOGUE", "Check", "Context", "Thresholds", "analyze", "checks"]


def analyze(
    snapshot: Snapshot, *, now: datetime | None = None, thresholds: Thresholds | None = None
) -> list[Finding]:
    """All findings for a snapshot, worst first, then by namespace and name."""
    ctx = Context(snapshot, now or snapshot.taken_at, thresholds or Thresholds())
    found: list[Finding] = []
    for name, run in ALL:
        try:
            found.extend(run(ctx))
        except Exception as error:  # noqa: BLE001 - keep the other areas' findings
            found.append(finding(
                ANALYZER_ERROR, ObjectRef("Analyzer", name), reason="AnalyzerError",
                title=f"The {name} analyzer failed",
                cause=f"{type(error).__name__}: {error}",
                recommendation="Report this with `clusterbot snapshot -o dump.json` attached.",
            ))
    found.sort(key=lambda f: (-f.severity.rank, f.subject.namespace, f.subject.name, f.code))
    return found


def checks() -> list[Check]:
    """The catalogue, ordered by area then code."""
    return sorted(CATALOGUE.values(), key=lambda c: (c.area, c.code))
