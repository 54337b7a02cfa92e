"""The Kubernetes kinds a Snapshot holds, and how to find each one in the API and in dumps.

One table serves every source: the dump loader maps `kind`/`PodList`/`pods.json` to a key,
the live source lists each kind from its API path, and the RBAC manifest grants exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KindInfo:
    key: str  # the Snapshot's name for the collection, the API's plural
    kind: str  # the object's `kind`
    group: str  # API group ("" for core)
    version: str
    namespaced: bool = True
    optional: bool = False  # an add-on API that may be absent (metrics, CRDs)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS: tuple[KindInfo, ...] = (
    KindInfo("namespaces", "Namespace", "", "v1", namespaced=False),
    KindInfo("nodes", "Node", "", "v1", namespaced=False),
    KindInfo("pods", "Pod", "", "v1"),
    KindInfo("events", "Event", "", "v1"),
    KindInfo("services", "Service", "", "v1"),
    KindInfo("endpoints", "Endpoints", "", "v1"),
    KindInfo("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1"),
    KindInfo("persistentvolumes", "PersistentVolume", "", "v1", namespaced=False),
    KindInfo("storageclasses", "StorageClass", "storage.k8s.io", "v1", namespaced=False),
    KindInfo("deployments", "Deployment", "apps", "v1"),
    KindInfo("statefulsets", "StatefulSet", "apps", "v1"),
    KindInfo("daemonsets", "DaemonSet", "apps", "v1"),
    KindInfo("replicasets", "ReplicaSet", "apps", "v1"),
    KindInfo("jobs", "Job", "batch", "v1"),
    KindInfo("cronjobs", "CronJob", "batch", "v1"),
    KindInfo("ingresses", "Ingress", "networking.k8s.io", "v1"),
    # Secrets are read as metadata only (names, for Ingress TLS checks), and may be forbidden.
    KindInfo("secrets", "Secret", "", "v1", optional=True),
    KindInfo("nodemetrics", "NodeMetrics", "metrics.k8s.io", "v1beta1", False, optional=True),
    KindInfo("longhornvolumes", "Volume", "longhorn.io", "v1beta2", optional=True),
    KindInfo("certificates", "Certificate", "cert-manager.io", "v1", optional=True),
)

BY_KEY: dict[str, KindInfo] = {k.key: k for k in KINDS}

# `kind` as written in objects and list kinds; Longhorn's "Volume" is qualified by its group
# because the name alone is too generic to claim.
_BY_KIND: dict[tuple[str, str], KindInfo] = {(k.kind, k.group): k for k in KINDS}

# Files written by `kubectl cluster-info dump` and the usual short names of list files.
_BY_FILE_STEM: dict[str, KindInfo] = {k.key: k for k in KINDS}


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def kind_for(kind: str, api_version: str = "") -> KindInfo | None:
    """Find the collection for an object's `kind` (or a list's `PodList`-style kind)."""
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    if kind.endswith("List") and kind != "List":
        kind = kind[: -len("List")]
    group = group_of(api_version)
    found = _BY_KIND.get((kind, group))
    if found is None and not api_version:
        matches = [k for (name, _), k in _BY_KIND.items() if name == kind]
        found = matches[0] if len(matches) == 1 else None
    if found is None and kind == "Event" and group == "events.k8s.io":
        found = BY_KEY["events"]
    return found


def kind_for_file_stem(stem: str) -> KindInfo | None:
    return _BY_FILE_STEM.get(stem)
