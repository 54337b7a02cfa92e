"""Shared helpers for analyzer tests: load a fixture dump, run analyzers at a fixed instant.

Fixtures are `kubectl get -o json` Lists loaded through the same loader the CLI uses
(`bot.cluster.dump.load_paths`), so they are trimmed exactly as in production: a field an
analyzer reads but the trim spec drops makes a test fail here rather than in a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from bot.analyzers import jobs, pods, workloads
from bot.analyzers.base import Context, Thresholds
from bot.cluster.dump import load_paths
from bot.cluster.snapshot import Snapshot
from bot.models import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# The instant the fixtures were "dumped": every age in them is relative to it.
NOW = datetime(2025, 10, 19, 14, 0, 0, tzinfo=UTC)


def load(relative: str) -> Snapshot:
    """The Snapshot of a fixture file under tests/fixtures/ (e.g. "pods/crashloop.json")."""
    return load_paths([FIXTURES / relative], taken_at=NOW)


def run(snapshot: Snapshot, now: datetime = NOW, *modules: ModuleType,
        thresholds: Thresholds | None = None) -> list[Finding]:
    """Findings of the given analyzer modules (default: pods, workloads and jobs together,
    so tests also see that one problem yields one finding across them)."""
    ctx = Context(snapshot, now, thresholds or Thresholds())
    found: list[Finding] = []
    for module in modules or (pods, workloads, jobs):
        found.extend(module.analyze(ctx))
    return found


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(name="load", scope="session")
def load_fixture() -> Callable[[str], Snapshot]:
    return load


@pytest.fixture(name="run", scope="session")
def run_analyzers() -> Callable[..., list[Finding]]:
    return run


def only(findings: Iterable[Finding], code: str, name: str) -> Finding:
    """The one finding with this code about the object (or namespace) called `name`."""
    found = [f for f in findings if f.code == code and f.subject.name == name]
    assert len(found) == 1, f"expected one {code} about {name}, got {found}"
    return found[0]


def about(findings: Iterable[Finding], name: str) -> list[Finding]:
    """Every finding whose subject or pod list names `name`."""
    return [f for f in findings if f.subject.name == name or name in f.pods]


@pytest.fixture(name="only", scope="session")
def only_fixture() -> Callable[[Iterable[Finding], str, str], Finding]:
    return only


@pytest.fixture(name="about", scope="session")
def about_fixture() -> Callable[[Iterable[Finding], str], list[Finding]]:
    return about
