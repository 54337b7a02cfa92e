"""The demo cluster and its second week, built once per module."""

from __future__ import annotations

import pytest

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot
from bot.cluster.snapshot import Snapshot


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return demo_snapshot()


@pytest.fixture(scope="module")
def week2() -> Snapshot:
    return demo_week2_snapshot()
