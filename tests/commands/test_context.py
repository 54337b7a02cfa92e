"""The shared Context: one diagnosis per snapshot, answers that may trail the source by at
most `max_lag` seconds (never across a change of freshness), and one diagnosis at a time."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.cluster.demo import DEMO_NOW, demo_snapshot
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import SourceStatus
from commands import Context, dispatch


class SteppedSource:
    """A source whose next snapshot the test chooses."""

    def __init__(self) -> None:
        self.current = self.taken(seconds=0)

    @staticmethod
    def taken(*, seconds: float, stale: str = "") -> Snapshot:
        demo = demo_snapshot()
        return Snapshot.build(dict(demo.collections), trimmed=True, cluster=demo.cluster,
                              taken_at=DEMO_NOW + timedelta(seconds=seconds), stale=stale,
                              synced_at=DEMO_NOW if stale else None)

    def snapshot(self) -> Snapshot:
        return self.current

    def status(self) -> SourceStatus:
        return SourceStatus(synced=True)


def test_without_lag_every_new_snapshot_is_diagnosed() -> None:
    source = SteppedSource()
    ctx = Context(source)
    first = ctx.report()
    assert ctx.report() is first
    source.current = source.taken(seconds=1)
    second = ctx.report()
    assert second is not first
    source.current = source.taken(seconds=1)  # a change within the same second
    assert ctx.report() is not second


def test_a_report_within_the_lag_is_reused_and_one_beyond_it_is_not() -> None:
    source = SteppedSource()
    ctx = Context(source, max_lag=10)
    first = ctx.report()
    source.current = source.taken(seconds=10)
    assert ctx.report() is first
    source.current = source.taken(seconds=11)
    assert ctx.report() is not first


def test_a_cache_gone_stale_is_said_at_once_whatever_the_lag() -> None:
    source = SteppedSource()
    ctx = Context(source, max_lag=600)
    ctx.report()
    source.current = source.taken(seconds=120, stale="API server unreachable since 10:42 UTC")
    reply = dispatch(ctx, "health")
    assert reply.report is not None
    assert reply.report.data_age == "data is 2 min old: API server unreachable since 10:42 UTC"


def test_refresh_diagnoses_the_newest_snapshot_even_within_the_lag() -> None:
    source = SteppedSource()
    ctx = Context(source, max_lag=60)
    first = ctx.report()
    source.current = source.taken(seconds=1)
    refreshed = ctx.refresh()
    assert refreshed is not first
    assert ctx.report() is refreshed


def test_commands_arriving_together_share_one_diagnosis() -> None:
    ctx = Context(SteppedSource())
    reports, start = [], threading.Barrier(4)

    def ask() -> None:
        start.wait()
        reports.append(ctx.report())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 4 and all(r is reports[0] for r in reports)
