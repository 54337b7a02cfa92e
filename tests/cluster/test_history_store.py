"""The report history in the `clusterbot-history` ConfigMap (fake API over HTTP) and in a file:
it survives a restart, keeps 12 weeks within its size bound, and claims each run once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from bot.cluster.client import KubeClient
from bot.cluster.history_store import (
    CONFIGMAP,
    DATA_KEY,
    KEEP_WEEKS,
    ConfigMapHistory,
    FileHistory,
    History,
    HistoryError,
    append_entry,
    claim_run,
    release_run,
)
from tests.cluster.live_helpers import connect
from tests.fakeapi import FakeKubeAPI

NS = "clusterbot"
MONDAY = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(fake_api: FakeKubeAPI, tmp_path: Path) -> Iterator[KubeClient]:
    made = connect(fake_api, tmp_path)
    yield made
    made.close()


def entry(week: int, padding: int = 0) -> dict[str, Any]:
    return {"at": (MONDAY + timedelta(weeks=week)).isoformat(), "score": 90 + week % 10,
            "padding": "x" * padding}


def stored(api: FakeKubeAPI) -> dict[str, Any]:
    configmap = api.get("configmaps", NS, CONFIGMAP)
    assert configmap is not None
    return orjson.loads(configmap["data"][DATA_KEY])


def test_history_survives_a_restart_and_keeps_twelve_weeks(fake_api, client, tmp_path):
    first = ConfigMapHistory(client, NS)
    for week in range(8):
        append_entry(first, entry(week))
    restarted = ConfigMapHistory(connect(fake_api, tmp_path), NS)  # a new process
    assert [e["at"] for e in restarted.load().entries] == [entry(w)["at"] for w in range(8)]
    for week in range(8, 15):
        append_entry(restarted, entry(week))
    kept = first.load().entries
    assert len(kept) == KEEP_WEEKS
    assert [e["at"] for e in kept] == [entry(w)["at"] for w in range(15 - KEEP_WEEKS, 15)]
    labels = fake_api.get("configmaps", NS, CONFIGMAP)["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "clusterbot"


def test_entries_older_than_twelve_weeks_go_even_when_few(client):
    store = ConfigMapHistory(client, NS)
    append_entry(store, entry(0))
    append_entry(store, entry(KEEP_WEEKS + 3))  # the bot was off for three months
    assert [e["at"] for e in store.load().entries] == [entry(KEEP_WEEKS + 3)["at"]]


def test_history_is_trimmed_to_its_size_bound(fake_api, client):
    store = ConfigMapHistory(client, NS, max_bytes=10_000)
    for week in range(6):
        append_entry(store, entry(week, padding=3_000))
    size = len(fake_api.get("configmaps", NS, CONFIGMAP)["data"][DATA_KEY].encode())
    assert size <= 10_000
    assert [e["at"] for e in stored(fake_api)["entries"]] == [entry(w)["at"] for w in (3, 4, 5)]
    with pytest.raises(HistoryError, match="larger than 10000 bytes"):
        append_entry(store, entry(6, padding=20_000))
    assert len(stored(fake_api)["entries"]) == 3  # nothing written


def test_default_bound_stays_well_below_the_configmap_limit(fake_api, client):
    store = ConfigMapHistory(client, NS)
    for week in range(KEEP_WEEKS):
        append_entry(store, entry(week, padding=100_000))
    size = len(fake_api.get("configmaps", NS, CONFIGMAP)["data"][DATA_KEY].encode())
    assert size < 1024 * 1024 * 0.8
    assert len(stored(fake_api)["entries"]) < KEEP_WEEKS


def test_a_run_is_claimed_once_across_replicas_and_restarts(fake_api, client, tmp_path):
    store = ConfigMapHistory(client, NS)
    other = ConfigMapHistory(connect(fake_api, tmp_path), NS)
    assert claim_run(store, MONDAY)
    assert not claim_run(other, MONDAY)
    assert not claim_run(store, MONDAY - timedelta(weeks=1))  # an older run: long done
    assert claim_run(other, MONDAY + timedelta(weeks=1))
    assert stored(fake_api)["lastRun"] == "2025-10-27T09:00:00+00:00"


def test_a_released_claim_can_be_taken_again_and_a_later_one_is_kept(fake_api, client,
                                                                     tmp_path):
    store = ConfigMapHistory(client, NS)
    other = ConfigMapHistory(connect(fake_api, tmp_path), NS)
    first = claim_run(store, MONDAY)
    assert first is not None
    nothing_posted = claim_run(store, MONDAY + timedelta(weeks=1))
    assert nothing_posted is not None
    release_run(store, nothing_posted)
    assert stored(fake_api)["lastRun"] == "2025-10-20T09:00:00+00:00"  # back to last week's
    retried = claim_run(other, MONDAY + timedelta(weeks=1))
    assert retried is not None
    release_run(store, first)  # stale: a later run is claimed since
    assert stored(fake_api)["lastRun"] == "2025-10-27T09:00:00+00:00"


def test_concurrent_writers_retry_on_conflict_and_lose_nothing(fake_api, client, tmp_path):
    store = ConfigMapHistory(client, NS)
    other = ConfigMapHistory(connect(fake_api, tmp_path), NS)
    append_entry(store, entry(0))
    calls: list[int] = []

    def add_week_one(history: History) -> History:
        calls.append(len(history.entries))
        if len(calls) == 1:  # another replica writes between this read and this write
            append_entry(other, entry(2))
        return History((*history.entries, entry(1)), history.last_run)

    store.update(add_week_one)
    assert calls == [1, 2]  # read again after 409 Conflict
    assert [e["score"] for e in store.load().entries] == [90, 92, 91]


def test_an_unreadable_history_starts_afresh(fake_api, client, caplog):
    fake_api.add({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": CONFIGMAP, "namespace": NS},
                  "data": {DATA_KEY: "{not json"}})
    store = ConfigMapHistory(client, NS)
    with caplog.at_level(logging.WARNING):
        assert store.load() == History()
    assert "unreadable history" in caplog.text
    append_entry(store, entry(0))
    assert len(stored(fake_api)["entries"]) == 1


def test_file_history_round_trip_and_errors(tmp_path):
    path = tmp_path / "history.json"
    store = FileHistory(path)
    assert store.load() == History()
    append_entry(store, entry(0))
    assert claim_run(store, MONDAY)
    again = FileHistory(path)
    assert again.load().entries == (entry(0),) and not claim_run(again, MONDAY)
    blocked = FileHistory(tmp_path / "missing-dir" / "history.json")
    with pytest.raises(HistoryError, match="missing-dir"):
        append_entry(blocked, entry(0))
