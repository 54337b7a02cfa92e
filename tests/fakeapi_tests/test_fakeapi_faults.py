"""Injected faults on the fake API server: errors, throttling, latency, server down and back."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from tests.fakeapi import FakeKubeAPI
from tests.fakeapi_tests.helpers import WatchStream, get, pod

PODS = "/api/v1/namespaces/default/pods"


def test_fail_n_times_then_succeed(fake_api: FakeKubeAPI) -> None:
    fake_api.faults.fail(500, times=2)
    first, second, third = (get(fake_api, PODS) for _ in range(3))
    assert [first.status, second.status, third.status] == [500, 500, 200]
    assert (first.json["reason"], first.json["code"]) == ("InternalError", 500)


def test_fail_only_matching_paths(fake_api: FakeKubeAPI) -> None:
    fake_api.faults.fail(503, times=None, path_prefix="/apis/apps/")
    reply = get(fake_api, "/apis/apps/v1/deployments")
    assert (reply.status, reply.json["reason"]) == (503, "ServiceUnavailable")
    assert get(fake_api, PODS).status == 200
    assert get(fake_api, "/apis/apps/v1/statefulsets").status == 503
    fake_api.faults.clear()
    assert get(fake_api, "/apis/apps/v1/deployments").status == 200


def test_throttle_answers_429_with_retry_after(fake_api: FakeKubeAPI) -> None:
    fake_api.faults.throttle(times=1, retry_after=3)
    reply = get(fake_api, PODS)
    assert reply.status == 429 and reply.headers["Retry-After"] == "3"
    assert reply.json == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                          "status": "Failure",
                          "message": "Too many requests, please try again later.",
                          "reason": "TooManyRequests", "details": {"retryAfterSeconds": 3},
                          "code": 429}
    assert get(fake_api, PODS).status == 200


def test_latency_delays_matching_requests(fake_api: FakeKubeAPI) -> None:
    fake_api.faults.latency(0.3, path_prefix=PODS)
    started = time.monotonic()
    assert get(fake_api, PODS).status == 200
    assert time.monotonic() - started >= 0.3


def test_faults_still_count_as_requests(fake_api: FakeKubeAPI) -> None:
    fake_api.faults.fail(500, times=1)
    get(fake_api, PODS)
    get(fake_api, PODS)
    assert fake_api.requests.count("GET", PODS) == 2


def _ended(watch: WatchStream) -> bool:
    try:
        return watch.next() is None
    except (http.client.IncompleteRead, ConnectionError):
        return True


def test_refuse_then_accept_on_the_same_port() -> None:
    with FakeKubeAPI([pod("a")]) as api, WatchStream(api, PODS) as watch:
        assert watch.next() is not None
        port = api.port
        api.faults.refuse()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert _ended(watch)  # the open watch was cut
        api.faults.accept()
        assert api.port == port
        assert get(api, f"{PODS}/a").status == 200  # and the state survived


def test_clear_accepts_again_and_stop_is_idempotent() -> None:
    api = FakeKubeAPI().start()
    api.faults.refuse()
    api.faults.clear()
    assert get(api, "/version").status == 200
    api.stop()
    api.stop()
    api.faults.clear()  # not refused: does not start a stopped server
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", api.port), timeout=5).close()
