"""Helpers for the analyzer tests: load fixture dumps at their own instant, run analyzers on
them, and compare findings.

Fixtures are `kubectl get -o json` Lists loaded through the CLI's own loader (`load_paths`),
so they are trimmed exactly as in production: a field an analyzer reads but the trim spec
drops makes a test fail here rather than in a cluster. Every age in a fixture is relative to
the instant it was "dumped" (its directory's entry in DUMPED_AT): `load()` takes the snapshot
at that instant unless given `now`, and `analyze()` runs at the snapshot's instant unless given
`now`. `rebuild()` and `edited()` build edge cases from realistic objects.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.analyzers import jobs, pods, workloads
from bot.analyzers.base import ANALYZER_ERROR, CATALOGUE, Context, Thresholds
from bot.cluster.dump import load_paths
from bot.cluster.snapshot import Snapshot
from bot.models import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

INFRA_NOW = datetime(2025, 10, 19, 12, 0, 0, tzinfo=UTC)
WORKLOADS_NOW = datetime(2025, 10, 19, 14, 0, 0, tzinfo=UTC)
DUMPED_AT = {"nodes": INFRA_NOW, "storage": INFRA_NOW, "network": INFRA_NOW, "certs": INFRA_NOW,
             "pods": WORKLOADS_NOW, "workloads": WORKLOADS_NOW, "jobs": WORKLOADS_NOW,
             "robustness": WORKLOADS_NOW}

# Run together by default on pod fixtures, so tests also see that one problem yields one
# finding across them.
WORKLOAD_ANALYZERS = (pods, workloads, jobs)


def load(*relative: str, now: datetime | None = None) -> Snapshot:
    """One Snapshot from fixture files under tests/fixtures/ ("nodes/healthy.json", ...),
    taken when the first file's directory was dumped, or at `now`."""
    taken_at = now or DUMPED_AT[Path(relative[0]).parts[0]]
    return load_paths([FIXTURES / r for r in relative], taken_at=taken_at)


def analyze(analyzers: ModuleType | Iterable[ModuleType], snapshot: Snapshot, *,
            now: datetime | None = None, thresholds: Thresholds | None = None) -> list[Finding]:
    """Findings of one analyzer module, or of several sharing one run, at `now` (default:
    the instant the snapshot was taken)."""
    modules = (analyzers,) if isinstance(analyzers, ModuleType) else tuple(analyzers)
    ctx = Context(snapshot, now or snapshot.taken_at, thresholds or Thresholds())
    return [found for module in modules for found in module.analyze(ctx)]


def rebuild(snapshot: Snapshot, *, drop: Iterable[str] = (),
            absent: Mapping[str, str] | None = None, **collections: list[Any]) -> Snapshot:
    """A copy of `snapshot` with collections replaced, dropped, or recorded as absent."""
    objects = {k: list(v) for k, v in snapshot.collections.items() if k not in set(drop)}
    objects.update(collections)
    return Snapshot.build(objects, taken_at=snapshot.taken_at, absent=absent)


def edited(snapshot: Snapshot, key: str, name: str) -> tuple[list[Any], dict[str, Any]]:
    """A deep copy of collection `key` and, inside it, the object named `name` to edit."""
    items = copy.deepcopy(list(snapshot.items(key)))
    return items, next(o for o in items if o["metadata"]["name"] == name)


def summary(findings: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """(code, severity, "namespace/name") per finding, for exact comparisons."""
    return {(f.code, f.severity.value, f"{f.subject.namespace}/{f.subject.name}")
            for f in findings}


def only(findings: Iterable[Finding], code: str, name: str = "") -> Finding:
    """The single finding with this code (and subject name, when given)."""
    matches = [f for f in findings if f.code == code and (not name or f.subject.name == name)]
    assert len(matches) == 1, f"expected one {code} {name}, got {matches}"
    return matches[0]


def about(findings: Iterable[Finding], name: str) -> list[Finding]:
    """Every finding whose subject or pod list names `name`."""
    return [f for f in findings if f.subject.name == name or name in f.pods]


def assert_well_formed(findings: Iterable[Finding]) -> None:
    """What every finding must carry: a registered code, one finding per key, a diagnosis,
    evidence and a recommendation with a command to run."""
    found = list(findings)
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys)), f"duplicate finding keys: {keys}"
    for f in found:
        assert f.code in CATALOGUE
        if f.code == ANALYZER_ERROR:
            continue
        assert f.title and f.cause and f.evidence, f
        assert "`kubectl " in f.recommendation or "`cmctl " in f.recommendation, f
        assert "None" not in f.cause + f.title + " ".join(f.evidence), f
