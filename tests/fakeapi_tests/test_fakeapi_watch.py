"""Watches on the fake API server, read raw over HTTP: replay, live events, selectors,
bookmarks, 410 Gone, timeouts and dropped connections."""

from __future__ import annotations

import socket

import pytest

from tests.fakeapi import FakeKubeAPI
from tests.fakeapi_tests.helpers import WatchStream, pod

PODS = "/api/v1/namespaces/default/pods"


def _summary(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


def test_watch_from_zero_lists_then_streams_live_events() -> None:
    with FakeKubeAPI([pod("a"), pod("other", "kube-system")]) as api, \
            WatchStream(api, PODS, resourceVersion="0") as watch:
        assert watch.resp.headers["Transfer-Encoding"] == "chunked"
        first = watch.next()
        assert first is not None and _summary([first]) == [("ADDED", "a")]
        assert (first["object"]["kind"], first["object"]["apiVersion"]) == ("Pod", "v1")
        api.add(pod("b"))
        api.update(pod("a", phase="Failed"))
        api.delete("pods", "default", "b")
        api.add(pod("elsewhere", "kube-system"))
        events = watch.take(3)
        assert _summary(events) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
        versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert versions == sorted(versions) and versions[-1] == 5


def test_watch_from_a_version_replays_what_came_after() -> None:
    with FakeKubeAPI([pod("a")]) as api:
        since = api.store.resource_version
        api.add(pod("b"))
        api.update(pod("a", phase="Succeeded"))
        with WatchStream(api, "/api/v1/pods", resourceVersion=since) as watch:
            assert _summary(watch.take(2)) == [("ADDED", "b"), ("MODIFIED", "a")]


def test_watch_from_a_compacted_version_gets_410_and_ends() -> None:
    with FakeKubeAPI([pod("a"), pod("b")]) as api:
        api.faults.compact(2)
        with WatchStream(api, PODS, resourceVersion=1) as watch:
            error = watch.next()
            assert watch.next() is None  # the stream ends cleanly after the error
        assert error == {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "too old resource version: 1 (2)", "reason": "Expired", "code": 410}}
        with WatchStream(api, PODS, resourceVersion=2, timeoutSeconds=1) as watch:
            assert watch.next() is None  # nothing after 2, and no error


def test_history_bound_compacts_like_etcd() -> None:
    with FakeKubeAPI([pod(f"p{i}") for i in range(5)], history=3) as api, \
            WatchStream(api, PODS, resourceVersion=1) as watch:
        assert watch.next()["type"] == "ERROR"  # type: ignore[index]


def test_selector_changes_become_added_and_deleted() -> None:
    with FakeKubeAPI([pod("a")]) as api, \
            WatchStream(api, PODS, resourceVersion=api.store.resource_version,
                        labelSelector="app=web") as watch:
        api.update(pod("a", labels={"app": "db"}))
        api.update(pod("a", labels={"app": "web"}))
        api.update(pod("a", labels={"app": "web"}, phase="Failed"))
        assert _summary(watch.take(3)) == [("DELETED", "a"), ("ADDED", "a"), ("MODIFIED", "a")]


def test_field_selector_on_a_named_watch() -> None:
    with FakeKubeAPI([pod("a"), pod("b")]) as api, \
            WatchStream(api, PODS, fieldSelector="metadata.name=b") as watch:
        api.update(pod("a", phase="Failed"))
        api.update(pod("b", phase="Failed"))
        assert _summary(watch.take(2)) == [("ADDED", "b"), ("MODIFIED", "b")]


def test_bookmarks_carry_the_latest_resource_version() -> None:
    with FakeKubeAPI([pod("a")], bookmark_interval=0.2) as api, \
            WatchStream(api, PODS, resourceVersion=1, allowWatchBookmarks="true") as watch:
        api.add(pod("other", "kube-system"))  # filtered out, yet advances the version
        bookmark = watch.next()
        while bookmark is not None and bookmark["type"] != "BOOKMARK":
            bookmark = watch.next()
        assert bookmark == {"type": "BOOKMARK", "object": {
            "kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "2"}}}


def test_no_bookmarks_unless_asked() -> None:
    with FakeKubeAPI([pod("a")], bookmark_interval=0.1) as api, \
            WatchStream(api, PODS, resourceVersion=1, timeoutSeconds=1) as watch:
        assert watch.next() is None


def test_timeout_seconds_ends_the_stream_cleanly_and_keeps_the_connection(
        fake_api: FakeKubeAPI) -> None:
    with WatchStream(fake_api, PODS, timeoutSeconds=1) as watch:
        assert watch.next() is None
        watch.conn.request("GET", "/version")  # the keep-alive connection still works
        assert watch.conn.getresponse().status == 200


def _raw_watch(api: FakeKubeAPI, query: str, until: bytes) -> tuple[socket.socket, bytes]:
    """A watch on a bare socket, read until `until` shows up: chunk framing stays visible."""
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    sock.sendall(f"GET {PODS}?watch=1&{query} HTTP/1.1\r\nHost: fake\r\n"
                 "Connection: close\r\n\r\n".encode())
    data = b""
    while until not in data:
        data += sock.recv(65536) or pytest.fail(f"closed before {until!r}: {data!r}")
    return sock, data


def _read_to_eof(sock: socket.socket, data: bytes) -> bytes:
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_timeout_ends_with_the_final_chunk_and_a_drop_without_it() -> None:
    with FakeKubeAPI([pod("a")]) as api:
        sock, data = _raw_watch(api, "timeoutSeconds=1", b"ADDED")
        assert _read_to_eof(sock, data).endswith(b"\r\n0\r\n\r\n")
        sock, data = _raw_watch(api, "", b"ADDED")
        api.faults.drop_watches()
        dropped = _read_to_eof(sock, data)
        assert dropped.endswith(b"}\n\r\n") and not dropped.endswith(b"0\r\n\r\n")
        with WatchStream(api, PODS) as again:  # the server itself is fine
            assert again.next() is not None


def test_metadata_only_watch(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a"))
    accept = {"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"}
    with WatchStream(fake_api, PODS, headers=accept, timeoutSeconds=1) as watch:
        added = watch.next()
        assert added is not None and added["object"] == {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": fake_api.get("pods", "default", "a")["metadata"]}
        assert watch.next() is None
