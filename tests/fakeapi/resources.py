"""The resources the fake API server serves: one data table, and lookups into it.

Each row says what the real server's discovery says about a resource (plural, singular, kind,
group/version, scope, verbs, short names, categories) plus the few registry behaviours the fake
copies: extra field selectors, subresources, create-on-update, whether an update may omit
metadata.resourceVersion, and the default garbage-collection policy on delete.

It covers every kind in `bot/cluster/kinds.py` plus Lease, ConfigMap, Secret and Event.
Add-on APIs (metrics, Longhorn, cert-manager) are `optional`: served only once enabled.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")

# Field selectors the real server accepts for every resource.
COMMON_FIELDS = ("metadata.name", "metadata.namespace")

_POD_FIELDS = (
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
    "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
)
_ALL = ("all",)


@dataclass(frozen=True, slots=True)
class Resource:
    plural: str
    singular: str
    kind: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    fields: tuple[str, ...] = ()  # field selectors beyond COMMON_FIELDS
    subresources: tuple[str, ...] = ("status",)
    categories: tuple[str, ...] = ()
    optional: bool = False  # an add-on API, absent until seeded or enabled
    create_on_update: bool = False  # PUT to a missing name creates it (Lease, Event)
    unconditional_update: bool = True  # PUT may omit metadata.resourceVersion
    orphan_by_default: bool = False  # delete without propagationPolicy orphans (batch/v1 Job)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name used in error messages: `pods`, `leases.coordination.k8s.io`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def field_labels(self) -> tuple[str, ...]:
        return COMMON_FIELDS + self.fields


R = Resource
RESOURCES: tuple[Resource, ...] = (
    R("namespaces", "namespace", "Namespace", namespaced=False, short_names=("ns",),
      fields=("status.phase",)),
    R("nodes", "node", "Node", namespaced=False, short_names=("no",),
      fields=("spec.unschedulable",)),
    R("pods", "pod", "Pod", short_names=("po",), fields=_POD_FIELDS,
      subresources=("status", "log", "eviction"), categories=_ALL),
    R("events", "event", "Event", short_names=("ev",), fields=_EVENT_FIELDS, subresources=(),
      create_on_update=True),
    R("services", "service", "Service", short_names=("svc",), categories=_ALL),
    R("endpoints", "endpoints", "Endpoints", short_names=("ep",), subresources=(),
      create_on_update=True),
    R("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim",
      short_names=("pvc",)),
    R("persistentvolumes", "persistentvolume", "PersistentVolume", namespaced=False,
      short_names=("pv",)),
    R("configmaps", "configmap", "ConfigMap", short_names=("cm",), subresources=()),
    R("secrets", "secret", "Secret", fields=("type",), subresources=()),
    R("storageclasses", "storageclass", "StorageClass", "storage.k8s.io", namespaced=False,
      short_names=("sc",), subresources=()),
    R("deployments", "deployment", "Deployment", "apps", short_names=("deploy",),
      subresources=("status", "scale"), categories=_ALL),
    R("statefulsets", "statefulset", "StatefulSet", "apps", short_names=("sts",),
      subresources=("status", "scale"), categories=_ALL),
    R("daemonsets", "daemonset", "DaemonSet", "apps", short_names=("ds",), categories=_ALL),
    R("replicasets", "replicaset", "ReplicaSet", "apps", short_names=("rs",),
      fields=("status.replicas",), subresources=("status", "scale"), categories=_ALL),
    R("jobs", "job", "Job", "batch", fields=("status.successful",), categories=_ALL,
      orphan_by_default=True),
    R("cronjobs", "cronjob", "CronJob", "batch", short_names=("cj",), categories=_ALL),
    R("ingresses", "ingress", "Ingress", "networking.k8s.io", short_names=("ing",)),
    R("endpointslices", "endpointslice", "EndpointSlice", "discovery.k8s.io", subresources=()),
    R("leases", "lease", "Lease", "coordination.k8s.io", subresources=(),
      create_on_update=True, unconditional_update=False),
    R("nodes", "", "NodeMetrics", "metrics.k8s.io", "v1beta1", namespaced=False,
      verbs=READ_VERBS, subresources=(), optional=True),
    R("pods", "", "PodMetrics", "metrics.k8s.io", "v1beta1", verbs=READ_VERBS,
      subresources=(), optional=True),
    R("volumes", "volume", "Volume", "longhorn.io", "v1beta2", short_names=("lhv",),
      optional=True),
    R("certificates", "certificate", "Certificate", "cert-manager.io",
      short_names=("cert", "certs"), categories=("cert-manager",), optional=True),
)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
# A bare plural names the first row with it: `nodes` is core, `nodes.metrics.k8s.io` is metrics.
_BY_NAME = {r.plural: r for r in reversed(RESOURCES)} | {r.qualified: r for r in RESOURCES}


def by_path(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> Resource | None:
    return _BY_KIND.get((api_version, kind))


def by_object(obj: dict) -> Resource:
    """The resource an object with `apiVersion` and `kind` belongs to; ValueError if none."""
    found = by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
    if found is None:
        raise ValueError(f"no resource for {obj.get('apiVersion')!r} {obj.get('kind')!r}")
    return found


def by_name(name: str) -> Resource:
    """`pods`, `leases`, or qualified: `nodes.metrics.k8s.io`. A bare plural is core/built-in."""
    found = _BY_NAME.get(name)
    if found is None:
        raise KeyError(f"unknown resource {name!r}")
    return found


def group_versions() -> dict[str, list[str]]:
    """Every API group (core is "") and its versions, in table order."""
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


def optional_groups() -> frozenset[str]:
    return frozenset(r.group for r in RESOURCES if r.optional)
