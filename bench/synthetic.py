"""A synthetic cluster of N realistic pods, as the API returns them (~10 KB a pod).

Pods carry what real ones do: managedFields, last-applied annotations, env, volumes, probes,
resources, conditions and container statuses. About 5% fail (crash loops, image pulls, OOM),
so the analyzers have real work. Deterministic for a given N.
"""

from __future__ import annotations

import json
from typing import Any

NODES = 20
FAILING_EVERY = 20  # 5%


def _managed_fields(name: str) -> list[dict[str, Any]]:
    fields = {f"f:{k}": {} for k in ("labels", "annotations", "ownerReferences")}
    spec = {"f:containers": {f'k:{{"name":"c{i}"}}': {
        ".": {}, "f:env": {f'k:{{"name":"VAR_{j}"}}': {".": {}, "f:name": {}, "f:value": {}}
                           for j in range(15)},
        "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {"f:httpGet": {}},
        "f:resources": {"f:limits": {}, "f:requests": {}}} for i in range(2)}}
    return [
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
         "time": "2025-10-01T10:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": fields, "f:spec": spec}},
        {"manager": "k3s", "operation": "Update", "apiVersion": "v1", "subresource": "status",
         "time": "2025-10-01T10:00:05Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {},
                                   "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                                   "f:startTime": {}}}},
    ]


def _container(i: int, app: str) -> dict[str, Any]:
    return {
        "name": f"c{i}", "image": f"registry.local/{app}:1.{i}.0",
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": f"VAR_{j}", "value": f"value-{app}-{j}-" + "x" * 20} for j in range(15)],
        "ports": [{"containerPort": 8080 + i, "name": f"http{i}", "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080 + i, "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080 + i, "scheme": "HTTP"},
                           "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1,
                           "failureThreshold": 3},
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "kube-api-access", "mountPath":
                          "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}],
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    }


def _status(i: int, failing: bool) -> dict[str, Any]:
    if failing:
        kind = ("CrashLoopBackOff", "ImagePullBackOff", "OOMKilled")[(i // FAILING_EVERY) % 3]
        state: dict[str, Any] = {"waiting": {"reason": kind if kind != "OOMKilled" else
                                             "CrashLoopBackOff",
                                             "message": "back-off 5m0s restarting failed"}}
        last = {"terminated": {"exitCode": 137 if kind == "OOMKilled" else 1,
                               "reason": "OOMKilled" if kind == "OOMKilled" else "Error",
                               "startedAt": "2025-10-19T17:00:00Z",
                               "finishedAt": "2025-10-19T17:01:00Z"}}
        ready, restarts, phase = False, 40, "Running" if kind != "ImagePullBackOff" else "Pending"
    else:
        state, last, ready, restarts, phase = (
            {"running": {"startedAt": "2025-10-01T10:00:10Z"}}, {}, True, 0, "Running")
    return {
        "phase": phase, "hostIP": f"10.0.0.{i % NODES}", "podIP": f"10.42.{i % 250}.{i % 200}",
        "podIPs": [{"ip": f"10.42.{i % 250}.{i % 200}"}], "qosClass": "Burstable",
        "startTime": "2025-10-01T10:00:00Z",
        "conditions": [{"type": t, "status": "True" if ready or t == "PodScheduled" else "False",
                        "lastProbeTime": None, "lastTransitionTime": "2025-10-01T10:00:10Z"}
                       for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [{
            "name": f"c{c}", "image": f"registry.local/app:1.{c}.0",
            "imageID": "registry.local/app@sha256:" + "ab" * 32,
            "containerID": "containerd://" + "cd" * 32, "ready": ready, "started": ready,
            "restartCount": restarts, "state": state, "lastState": last} for c in range(2)],
    }


def pod(i: int) -> dict[str, Any]:
    app = f"app-{i // 10}"
    namespace = f"team-{i % 40}"
    name = f"{app}-7d9f8c6b5-{i:05d}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace, "uid": f"00000000-0000-4000-8000-{i:012d}",
            "resourceVersion": str(100000 + i), "creationTimestamp": "2025-10-01T10:00:00Z",
            "generateName": f"{app}-7d9f8c6b5-",
            "labels": {"app": app, "pod-template-hash": "7d9f8c6b5", "tier": "backend",
                       "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": namespace},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-10-01T09:59:00Z",
                            "prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": f"{app}-7d9f8c6b5",
                                 "uid": f"11111111-0000-4000-8000-{i // 10:012d}",
                                 "controller": True, "blockOwnerDeletion": True}],
            "managedFields": _managed_fields(name),
        },
        "spec": {
            "containers": [_container(c, app) for c in range(2)],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"{app}-data"}},
                        {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607,
                                                     "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt",
                                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
            "nodeName": f"node-{i % NODES:02d}", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}],
        },
        "status": _status(i, i % FAILING_EVERY == 0),
    }


def node(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{i:02d}", "uid": f"22222222-0000-4000-8000-{i:012d}",
                     "creationTimestamp": "2025-06-01T00:00:00Z",
                     "labels": {"kubernetes.io/arch": "arm64"}},
        "spec": {},
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                   "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.2+k3s1", "architecture": "arm64"}},
    }


def cluster_list(pods: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [node(i) for i in range(NODES)] + [pod(i) for i in range(pods)]}


def write_cluster(path: str, pods: int) -> int:
    """Write the cluster as one `kubectl get -o json` List; returns its size in bytes."""
    data = json.dumps(cluster_list(pods)).encode()
    with open(path, "wb") as out:
        out.write(data)
    return len(data)
