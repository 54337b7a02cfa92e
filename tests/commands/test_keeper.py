"""The diagnosis keeper over HTTP against the fake API server: a change in the cluster is
diagnosed in the background, so the next command answers from memory, trailing the cache by
at most the lag; with the keeper stopped nothing refreshes the diagnosis any more."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.watch import WatchCache
from bot.keeper import DiagnosisKeeper
from commands import Context
from tests.cluster.live_helpers import (
    FAST,
    WAIT,
    FakeClock,
    connect,
    crashlooping,
    wait_until,
    web_pod,
)
from tests.fakeapi import FakeKubeAPI


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[tuple[FakeKubeAPI, WatchCache]]:
    # The cache's clock stands still: every snapshot is "0 s" newer than the last, inside
    # any lag, so only the keeper can bring a change into the answers.
    with FakeKubeAPI() as api:
        api.add(web_pod())
        watch = WatchCache(connect(api, tmp_path), timing=FAST, clock=FakeClock(),
                           rand=random.Random(3)).start()
        assert watch.wait_synced(WAIT)
        yield api, watch
        watch.stop()


def crashing(ctx: Context) -> bool:
    return any("CrashLoopBackOff" in str(issue) for issue in ctx.report().issues)


def test_a_change_is_diagnosed_in_the_background(cache: tuple[FakeKubeAPI, WatchCache]) -> None:
    api, watch = cache
    ctx = Context(watch)
    keeper = DiagnosisKeeper(ctx, every=0.05).start()
    try:
        assert ctx.max_lag == 0.1
        assert not crashing(ctx)
        api.update(crashlooping(web_pod()))
        wait_until(lambda: crashing(ctx), "the crash loop, diagnosed by the keeper")
    finally:
        keeper.stop()


def test_without_the_keeper_a_report_within_the_lag_stays(
        cache: tuple[FakeKubeAPI, WatchCache]) -> None:
    api, watch = cache
    ctx = Context(watch, max_lag=0.1)
    first = ctx.report()
    api.update(crashlooping(web_pod()))
    wait_until(lambda: watch.snapshot().items("pods")[0]["status"]["containerStatuses"][0]
               ["restartCount"] == 7, "the cached change")
    assert ctx.report() is first  # nothing refreshed it: the keeper is what does
    assert ctx.refresh() is not first and crashing(ctx)
