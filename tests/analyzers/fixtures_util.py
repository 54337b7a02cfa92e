"""Helpers for the nodes, storage, network and certs analyzer tests.

Fixtures are `kubectl get -o json` Lists read by the CLI's own loader (`load_paths`), so they
are trimmed as in production. Every age in them is relative to NOW, the instant they were
"dumped"; `analyze()` runs one analyzer module at that instant unless told otherwise, and
`rebuild()` swaps collections of a loaded snapshot to build edge cases from realistic objects.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.analyzers.base import ANALYZER_ERROR, CATALOGUE, Context, Thresholds
from bot.cluster.dump import load_paths
from bot.cluster.snapshot import Snapshot
from bot.models import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2025, 10, 19, 12, 0, 0, tzinfo=UTC)


def load(*relative: str) -> Snapshot:
    """One Snapshot from fixture files under tests/fixtures/ ("nodes/healthy.json", ...)."""
    return load_paths([FIXTURES / r for r in relative], taken_at=NOW)


def analyze(module: ModuleType, snapshot: Snapshot, *, now: datetime = NOW,
            thresholds: Thresholds | None = None) -> list[Finding]:
    return list(module.analyze(Context(snapshot, now, thresholds or Thresholds())))


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
    assert len(matches) == 1, f"{code} {name}: {len(matches)} findings"
    return matches[0]


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
