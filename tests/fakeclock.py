"""A clock the test moves, for the Lease elector, the scheduler and APScheduler itself.

APScheduler 3 reads `datetime.now()` in its scheduler loop and in its executors' misfire check;
`drive_apscheduler` points both at the fake clock (pytest-mock, for clocks only), so a job
fires when the test moves the clock past its time and wakes the scheduler up.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, tzinfo

from pytest_mock import MockerFixture


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


def drive_apscheduler(mocker: MockerFixture, clock: FakeClock) -> None:
    class _FakeNow(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return clock().astimezone(tz)

    mocker.patch("apscheduler.schedulers.base.datetime", _FakeNow)
    mocker.patch("apscheduler.executors.base.datetime", _FakeNow)
