"""The watch cache over HTTP against the fake API server: it syncs, follows changes without
relisting, relists on 410, resumes killed watches, rides out the API server going away, polls
metrics, handles absent and forbidden add-ons, and answers warm commands without any request.
The cache's wall clock is a FakeClock the tests move; retries and rechecks are shortened."""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import demo_snapshot
from bot.cluster.kinds import KINDS
from bot.cluster.watch import CacheTiming, WatchCache, backoff_seconds
from bot.report.render import render
from commands import Context, dispatch
from tests.cluster.live_helpers import (
    FAST,
    WAIT,
    FakeClock,
    connect,
    crashlooping,
    demo_objects,
    lists,
    wait_until,
    watch_requests,
    web_pod,
)
from tests.fakeapi import FakeKubeAPI

PODS = "/api/v1/pods"
WATCHED = {k.key for k in KINDS if k.key != "nodemetrics"}

StartCache = Callable[..., WatchCache]


@pytest.fixture
def demo_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(demo_objects()) as api:
        yield api


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start_cache(tmp_path: Path, clock: FakeClock) -> Iterator[StartCache]:
    """Start a synced cache on a fake API server; stopped after the test."""
    caches: list[WatchCache] = []

    def start(api: FakeKubeAPI, timing: CacheTiming = FAST) -> WatchCache:
        cache = WatchCache(connect(api, tmp_path), cluster="pi-k3s", timing=timing,
                           clock=clock, rand=random.Random(7))
        caches.append(cache.start())
        assert cache.wait_synced(WAIT)
        return cache

    yield start
    for cache in caches:
        cache.stop()


def answer(ctx: Context, command: str) -> str:
    reply = dispatch(ctx, command)
    assert not reply.error and reply.report is not None, reply.text
    return render(reply.view or "", reply.report, "text", **reply.options)


def pod_names(cache: WatchCache) -> set[str]:
    return {p["metadata"]["name"] for p in cache.snapshot().items("pods")}


def all_watching(cache: WatchCache, kinds: set[str] = WATCHED) -> None:
    wait_until(lambda: cache.watching() >= kinds, "every kind to be watched")


def test_initial_sync_holds_the_cluster_trimmed(demo_api: FakeKubeAPI,
                                               start_cache: StartCache) -> None:
    cache = start_cache(demo_api)
    snapshot, demo = cache.snapshot(), demo_snapshot()
    assert {k: len(v) for k, v in snapshot.collections.items()} == {
        k: len(v) for k, v in demo.collections.items()}
    assert snapshot.absent == {} and snapshot.stale == "" and snapshot.cluster == "pi-k3s"
    assert all("managedFields" not in p["metadata"] for p in snapshot.items("pods"))
    status = cache.status()
    assert status.synced and status.age_seconds == 0 and status.last_error == ""


def test_replicas_share_their_parts_which_the_analysis_never_changes(
        demo_api: FakeKubeAPI, start_cache: StartCache) -> None:
    cache = start_cache(demo_api)
    snapshot = cache.snapshot()
    by_owner: dict[str, list[dict]] = defaultdict(list)
    for pod in snapshot.items("pods"):
        owner = (pod["metadata"].get("ownerReferences") or [{}])[0]
        by_owner[owner.get("uid", "")].append(pod)
    replicas = max((pods for uid, pods in by_owner.items() if uid), key=len)
    assert len(replicas) > 1
    assert all(p["spec"]["containers"] is replicas[0]["spec"]["containers"] for p in replicas)
    before = copy.deepcopy(dict(snapshot.collections))

    ctx = Context(cache)
    for command in ("health", "nodes", "storage", "issues", "report"):
        answer(ctx, command)
    assert dict(snapshot.collections) == before  # shared parts are safe: nobody writes


def test_a_warm_command_costs_no_api_request_and_no_new_snapshot(
        demo_api: FakeKubeAPI, start_cache: StartCache, clock: FakeClock) -> None:
    cache = start_cache(demo_api)
    all_watching(cache)
    ctx = Context(cache)
    first = cache.snapshot()
    demo_api.reset_requests()
    for command in ("health", "nodes", "storage", "issues", "report", "issues databases"):
        answer(ctx, command)
    clock.advance(seconds=30)
    assert cache.snapshot() is first
    assert list(demo_api.requests) == []
    clock.advance(seconds=31)  # a minute old: rebuilt so ages in replies stay right
    assert cache.snapshot() is not first


def test_a_pod_turning_crashloopbackoff_shows_up_without_a_relist(
        fake_api: FakeKubeAPI, start_cache: StartCache) -> None:
    pod = fake_api.add(web_pod())
    cache = start_cache(fake_api)
    all_watching(cache, {"pods"})
    ctx = Context(cache)
    assert "web-1" not in answer(ctx, "issues")
    listed = lists(fake_api, PODS)

    fake_api.update(crashlooping(pod))

    def issues_naming_the_pod() -> str:
        text = answer(ctx, "issues")
        return text if "web-1" in text else ""

    issues = wait_until(issues_naming_the_pod, "the crash loop in the issues reply")
    assert "CrashLoopBackOff" in issues and "restarted 7 times" in issues
    assert lists(fake_api, PODS) == listed


def test_a_killed_watch_resumes_from_its_resource_version(
        fake_api: FakeKubeAPI, start_cache: StartCache) -> None:
    fake_api.add(web_pod())
    cache = start_cache(fake_api)
    all_watching(cache, {"pods"})
    first_watch = watch_requests(fake_api, PODS)[0]
    listed = lists(fake_api, PODS)

    fake_api.faults.drop_watches()
    fake_api.add(web_pod("web-2"))

    wait_until(lambda: "web-2" in pod_names(cache), "the pod added after the drop")
    resumed = watch_requests(fake_api, PODS)[1]
    assert int(resumed["resourceVersion"]) >= int(first_watch["resourceVersion"]) > 0
    assert lists(fake_api, PODS) == listed


def test_410_gone_relists(fake_api: FakeKubeAPI, start_cache: StartCache) -> None:
    fake_api.add(web_pod())
    cache = start_cache(fake_api)
    all_watching(cache, {"pods"})
    listed = lists(fake_api, PODS)

    fake_api.faults.refuse()
    wait_until(lambda: cache.status().last_error, "the cache to notice the outage")
    fake_api.add(web_pod("web-2"))
    fake_api.delete("pods", "default", "web-1")
    fake_api.faults.compact(fake_api.store.resource_version)  # the history is gone
    fake_api.faults.accept()

    wait_until(lambda: pod_names(cache) == {"web-2"}, "the relisted pods")
    assert lists(fake_api, PODS) == listed + 1


def test_api_server_down_serves_stale_marked_data_then_fresh_with_nothing_lost(
        demo_api: FakeKubeAPI, start_cache: StartCache, clock: FakeClock) -> None:
    cache = start_cache(demo_api)
    all_watching(cache)
    ctx = Context(cache)
    before = pod_names(cache)
    gone = sorted(before)[0]
    namespace = next(p["metadata"]["namespace"] for p in cache.snapshot().items("pods")
                     if p["metadata"]["name"] == gone)
    listed = lists(demo_api, PODS)

    demo_api.faults.refuse()  # 18:00 UTC
    wait_until(lambda: "unreachable" in cache.status().last_error, "the outage to be noticed")
    demo_api.add(web_pod("born-while-down"))  # writes the bot cannot see yet
    demo_api.delete("pods", namespace, gone)
    clock.advance(minutes=4)

    health = answer(ctx, "health")
    assert "data is 4 min old: API server unreachable since 18:00 UTC" in health
    assert pod_names(cache) == before  # still answering with everything it had
    status = cache.status()
    assert status.synced and status.age_seconds == 240 and status.api_errors > 0

    demo_api.faults.accept()
    wait_until(lambda: cache.status().last_error == "", "the cache to reconnect")
    expected = before - {gone} | {"born-while-down"}
    wait_until(lambda: pod_names(cache) == expected, "the changes made during the outage")
    assert "data is" not in answer(ctx, "health")
    assert lists(demo_api, PODS) == listed  # resumed from its resourceVersion


def test_missing_and_forbidden_add_ons_are_noted_and_found_later(
        fake_api: FakeKubeAPI, start_cache: StartCache) -> None:
    fake_api.add(web_pod())
    fake_api.add(_certificate())
    fake_api.forbid("certificates")
    cache = start_cache(fake_api)
    notes = dispatch(Context(cache), "health").report.notes  # type: ignore[union-attr]
    assert "cert-manager: no permission to read certificates.cert-manager.io" in notes
    assert "Longhorn: not installed" in notes

    fake_api.allow("certificates")
    fake_api.add(_longhorn_volume())  # Longhorn gets installed
    wait_until(lambda: cache.snapshot().has("certificates") and
               cache.snapshot().has("longhornvolumes"), "the add-ons to be found")
    assert [c["metadata"]["name"] for c in cache.snapshot().items("certificates")] == ["site"]


def test_a_kind_it_may_list_but_not_watch_is_relisted_until_watching_is_allowed(
        fake_api: FakeKubeAPI, start_cache: StartCache, clock: FakeClock) -> None:
    pod = web_pod()
    fake_api.add(pod)
    fake_api.forbid("pods", verbs=("watch",))
    cache = start_cache(fake_api, replace(FAST, poll_seconds=0.1, recheck_seconds=60))
    fake_api.update(crashlooping(pod))

    wait_until(lambda: _restarts(cache) == 7, "the relisted pod")
    assert "pods" not in cache.watching()
    assert cache.status().last_error == ""  # polling is not a failure: no stale marks
    assert lists(fake_api, PODS) >= 2

    fake_api.allow("pods")
    clock.advance(minutes=2)  # the recheck is due: list once more, then watch
    wait_until(lambda: "pods" in cache.watching(), "the pod watch")
    fake_api.update(crashlooping(pod, restarts=9))
    wait_until(lambda: _restarts(cache) == 9, "the watched change")


def _restarts(cache: WatchCache) -> int:
    pod = cache.snapshot().items("pods")[0]
    return int(pod["status"]["containerStatuses"][0]["restartCount"])


def test_metrics_are_polled_not_watched(fake_api: FakeKubeAPI,
                                        start_cache: StartCache) -> None:
    fake_api.add(_node_metrics("pi-master", "250m"))
    cache = start_cache(fake_api, replace(FAST, poll_seconds=0.1))
    fake_api.update(_node_metrics("pi-master", "900m"))

    wait_until(lambda: [m["usage"]["cpu"] for m in cache.snapshot().items("nodemetrics")]
               == ["900m"], "the new metrics")
    assert watch_requests(fake_api, "/apis/metrics.k8s.io/v1beta1/nodes") == []


def test_no_api_server_before_the_first_sync_is_a_short_reply(tmp_path: Path) -> None:
    refused = FakeKubeAPI()
    refused.start()
    kubeconfig = refused.kubeconfig(tmp_path / "kubeconfig")
    refused.stop()  # the port refuses connections now
    client = KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=1))
    cache = WatchCache(client, timing=replace(FAST, sync_wait=0.5)).start()
    try:
        reply = dispatch(Context(cache), "health")
        assert reply.error and reply.text.startswith("cluster API unreachable:")
        assert "Traceback" not in reply.text
        status = cache.status()
        assert not status.synced and status.last_error and status.api_errors > 0
    finally:
        cache.stop()


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    timing = CacheTiming(backoff_base=0.5, backoff_cap=30)
    rand = random.Random(1)
    delays = [backoff_seconds(attempt, timing, rand) for attempt in range(1, 10)]
    ceilings = [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: no two retries in lockstep


def _certificate() -> dict:
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "site", "namespace": "web"},
            "spec": {"secretName": "site-tls", "dnsNames": ["example.org"],
                     "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}}


def _longhorn_volume() -> dict:
    return {"apiVersion": "longhorn.io/v1beta2", "kind": "Volume",
            "metadata": {"name": "pvc-1", "namespace": "longhorn-system"},
            "spec": {"size": "1073741824", "numberOfReplicas": 3},
            "status": {"state": "attached", "robustness": "healthy"}}


def _node_metrics(node: str, cpu: str) -> dict:
    return {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
            "metadata": {"name": node}, "timestamp": "2025-10-19T17:59:48Z",
            "window": "10s", "usage": {"cpu": cpu, "memory": "1Gi"}}
