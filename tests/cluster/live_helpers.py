"""Helpers for the live source tests: the demo cluster as API objects to seed the fake API
server with, a pod to break, a clock the test moves, and bounded waits.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import DEMO_NOW, demo_snapshot
from bot.cluster.dump import to_list_document
from bot.cluster.watch import CacheTiming
from tests.fakeapi import FakeKubeAPI

WAIT = 10.0  # seconds any wait for the cache may take before the test fails
# Short retries and rechecks; watches and metrics polls long enough not to happen mid-test.
FAST = CacheTiming(watch_seconds=300, poll_seconds=300, recheck_seconds=0.2,
                   backoff_base=0.02, backoff_cap=0.2, sync_wait=WAIT)


def demo_objects() -> list[dict[str, Any]]:
    """The demo cluster (8 Pis, 123 pods, metrics, Longhorn, cert-manager) as API objects."""
    return to_list_document(demo_snapshot())["items"]


def connect(api: FakeKubeAPI, tmp_path: Path, timeout: float = 5.0) -> KubeClient:
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    return KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=timeout))


def web_pod(name: str = "web-1", namespace: str = "default") -> dict[str, Any]:
    """A healthy bare pod, created an hour before the demo's instant."""
    started = (DEMO_NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": started,
                     "labels": {"app": "web"},
                     "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
        "spec": {"nodeName": "pi-worker-01", "restartPolicy": "Always",
                 "containers": [{"name": "web", "image": "nginx:1.27",
                                 "env": [{"name": "TOKEN", "value": "s3cr3t"}]}]},
        "status": {"phase": "Running", "startTime": started, "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": started}],
            "containerStatuses": [{"name": "web", "image": "nginx:1.27", "ready": True,
                                   "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": started}}}]},
    }


def crashlooping(pod: dict[str, Any], restarts: int = 7) -> dict[str, Any]:
    """The same pod after its container kept exiting with code 1."""
    broken = copy.deepcopy(pod)
    status = broken["status"]
    status["conditions"][0]["status"] = "False"
    status["containerStatuses"][0].update(
        ready=False, started=False, restartCount=restarts,
        state={"waiting": {"reason": "CrashLoopBackOff",
                           "message": "back-off 5m0s restarting failed container"}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error",
                                  "startedAt": status["startTime"],
                                  "finishedAt": status["startTime"]}})
    return broken


class FakeClock:
    """The cache's wall clock, moved by the test."""

    def __init__(self, start: datetime = DEMO_NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `condition` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def lists(api: FakeKubeAPI, path: str) -> int:
    """LIST requests (not watches) received on `path`."""
    return sum(1 for r in api.requests
               if r.method == "GET" and r.path == path and r.query.get("watch") != "true")


def watch_requests(api: FakeKubeAPI, path: str) -> list[dict[str, str]]:
    return [r.query for r in api.requests
            if r.method == "GET" and r.path == path and r.query.get("watch") == "true"]
