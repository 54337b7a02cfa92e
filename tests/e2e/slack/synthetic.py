"""A cluster with many broken Deployments, as API JSON, for answers longer than Slack allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.cluster.snapshot import Snapshot

NOW = datetime(2025, 10, 19, 18, 0, tzinfo=UTC)


def _node() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "pi-worker-01", "creationTimestamp": "2025-01-01T00:00:00Z",
                         "labels": {"kubernetes.io/hostname": "pi-worker-01"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.32.2+k3s1"}}}


def _crashlooping_pod(index: int) -> dict[str, Any]:
    app = f"service-{index:03d}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{app}-5d8f7c9b4-x{index:04d}", "namespace": f"team-{index % 4}",
                     "uid": f"00000000-0000-4000-8000-{index:012d}",
                     "creationTimestamp": "2025-10-01T10:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": f"{app}-5d8f7c9b4", "controller": True,
                                          "uid": f"11111111-0000-4000-8000-{index:012d}"}]},
        "spec": {"nodeName": "pi-worker-01", "containers": [{"name": "app",
                                                             "image": f"registry.local/{app}:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": False, "restartCount": 40, "image": f"registry.local/{app}:1",
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                                  "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                         "finishedAt": "2025-10-19T17:55:00Z"}}}]},
    }


def crashlooping_cluster(deployments: int) -> Snapshot:
    """One node and `deployments` Deployments whose single pod crash-loops: one finding each."""
    return Snapshot.build({"nodes": [_node()],
                           "pods": [_crashlooping_pod(i) for i in range(deployments)]},
                          taken_at=NOW, source="test", cluster="crowded")
