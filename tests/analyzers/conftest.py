"""pytest fixtures for the pods, workloads and jobs analyzer tests, over fixtures_util.

`run` runs the pods, workloads and jobs analyzers together unless given modules; the other
analyzer tests import the helpers directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

from bot.cluster.snapshot import Snapshot
from bot.models import Finding

from .fixtures_util import WORKLOAD_ANALYZERS, WORKLOADS_NOW, about, analyze, load, only


@pytest.fixture(scope="session")
def now() -> datetime:
    return WORKLOADS_NOW


@pytest.fixture(name="load", scope="session")
def load_fixture() -> Callable[..., Snapshot]:
    return load


@pytest.fixture(name="run", scope="session")
def run_analyzers() -> Callable[..., list[Finding]]:
    def run(snapshot: Snapshot, *modules: ModuleType, **options: Any) -> list[Finding]:
        return analyze(modules or WORKLOAD_ANALYZERS, snapshot, **options)

    return run


@pytest.fixture(name="only", scope="session")
def only_fixture() -> Callable[..., Finding]:
    return only


@pytest.fixture(name="about", scope="session")
def about_fixture() -> Callable[[Iterable[Finding], str], list[Finding]]:
    return about
