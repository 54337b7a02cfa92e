"""The demo cluster's two weeks, diagnosed once for every test of the weekly report: week 2
has celery's flower fixed, a new crash-looping apps/link-checker and prometheus-db grown."""

from __future__ import annotations

import pytest

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot
from bot.report.model import Report, diagnose


@pytest.fixture(scope="session")
def week1() -> Report:
    return diagnose(demo_snapshot())


@pytest.fixture(scope="session")
def week2() -> Report:
    return diagnose(demo_week2_snapshot())
