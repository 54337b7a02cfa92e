"""Helpers for the fake API server's tests: minimal API objects, raw HTTP calls and a watch
reader, all bounded by socket timeouts so a misbehaving server fails a test instead of hanging it.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlencode

from tests.fakeapi import FakeKubeAPI

TIMEOUT = 5.0


def pod(name: str, namespace: str = "default", *, phase: str = "Running", node: str = "pi-1",
        labels: dict | None = None, owner: dict | None = None) -> dict:
    meta: dict = {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "nginx:1.27"}]},
        "status": {"phase": phase, "containerStatuses": [
            {"name": "main", "image": "nginx:1.27", "imageID": "docker.io/library/nginx@sha256:"
             "0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a",
             "ready": phase == "Running", "restartCount": 0, "started": phase == "Running",
             "state": {"running": {}} if phase == "Running" else {"waiting": {"reason": "x"}}}]},
    }


def lease(name: str = "clusterbot-leader", namespace: str = "clusterbot",
          holder: str = "replica-a") -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15}}


def job(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"backoffLimit": 1, "template": {"spec": {"containers": []}}}}


def event(name: str, involved: str, reason: str, type_: str = "Warning") -> dict:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": involved, "namespace": "default"},
            "reason": reason, "type": type_, "message": f"{reason} on {involved}"}


class Reply:
    def __init__(self, resp: http.client.HTTPResponse, data: bytes) -> None:
        self.status = resp.status
        self.headers = resp.headers
        self.text = data.decode()

    @property
    def json(self) -> dict:
        return json.loads(self.text)


def call(api: FakeKubeAPI, method: str, path: str, body: object = None,
         query: dict | None = None, headers: dict | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=TIMEOUT)
    try:
        url = f"{path}?{urlencode(query)}" if query else path
        payload = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} | (headers or {})
        conn.request(method, url, payload, hdrs)
        resp = conn.getresponse()
        return Reply(resp, resp.read())
    finally:
        conn.close()


def get(api: FakeKubeAPI, path: str, **query: object) -> Reply:
    return call(api, "GET", path, query={k: str(v) for k, v in query.items()})


class WatchStream:
    """A raw watch over http.client; `next()` returns one decoded event, None at a clean end."""

    def __init__(self, api: FakeKubeAPI, path: str, headers: dict | None = None,
                 **query: object) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=TIMEOUT)
        params = {"watch": "true"} | {k: str(v) for k, v in query.items()}
        self.conn.request("GET", f"{path}?{urlencode(params)}", headers=headers or {})
        self.resp = self.conn.getresponse()

    def next(self) -> dict | None:
        line = self.resp.readline()
        return json.loads(line) if line else None

    def take(self, count: int) -> list[dict]:
        events = [self.next() for _ in range(count)]
        assert None not in events, events
        return events  # type: ignore[return-value]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def names(items: list[dict]) -> list[str]:
    return [item["metadata"]["name"] for item in items]
