"""Inventory rows for the report: nodes, namespaces, workloads, storage, ingresses, certificates.

Each builder reads the Snapshot once and returns plain rows; statuses come from the findings
so a table and the issue list never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bot.analyzers.nodes import node_usage
from bot.analyzers.storage import pvc_usage
from bot.cluster.snapshot import Obj, Snapshot
from bot.cluster.units import (
    format_age,
    format_bytes,
    format_cpu,
    format_mebibytes,
    parse_time,
    quantity,
)
from bot.models import Finding

ROLE_PREFIX = "node-role.kubernetes.io/"


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _status(obj: Obj) -> Obj:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


@dataclass(frozen=True)
class NodeRow:
    name: str
    ready: bool
    status: str
    roles: str
    control_plane: bool
    address: str
    cpu: str
    memory: str
    cpu_pct: int | None
    memory_pct: int | None
    pressure: tuple[str, ...]
    kubelet: str
    age: str
    pods: int


def node_rows(snapshot: Snapshot, now: datetime) -> tuple[NodeRow, ...]:
    usage = node_usage(snapshot)
    pods_per_node: dict[str, int] = defaultdict(int)
    for pod in snapshot.items("pods"):
        if _status(pod).get("phase") in ("Running", "Pending"):
            pods_per_node[_spec(pod).get("nodeName") or ""] += 1
    rows = [_node_row(n, usage, pods_per_node, now) for n in snapshot.items("nodes")]
    return tuple(sorted(rows, key=lambda r: (not r.control_plane, r.name)))


def _node_row(node: Obj, usage: dict, pods: dict[str, int], now: datetime) -> NodeRow:
    meta, status = _meta(node), _status(node)
    name = meta.get("name", "?")
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []
                  if isinstance(c, dict)}
    ready = conditions.get("Ready") == "True"
    roles = sorted(k[len(ROLE_PREFIX):] for k in (meta.get("labels") or {})
                   if k.startswith(ROLE_PREFIX))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []
                 if isinstance(a, dict)}
    created = parse_time(meta.get("creationTimestamp"))
    used = usage.get(name)
    state = "Ready" if ready else ("Unknown" if conditions.get("Ready") == "Unknown"
                                   else "NotReady")
    if _spec(node).get("unschedulable"):
        state += ",SchedulingDisabled"
    return NodeRow(
        name=name,
        ready=ready,
        status=state,
        roles=",".join(roles) or "worker",
        control_plane=bool({"control-plane", "master"} & set(roles)),
        address=addresses.get("InternalIP") or "",
        cpu=format_cpu(used.cpu_cores) if used else "n/a",
        memory=format_mebibytes(used.mem_bytes) if used else "n/a",
        cpu_pct=used.cpu_pct if used else None,
        memory_pct=used.mem_pct if used else None,
        pressure=tuple(sorted(t for t, s in conditions.items()
                              if t and t.endswith("Pressure") and s == "True")),
        kubelet=((status.get("nodeInfo") or {}).get("kubeletVersion") or ""),
        age=format_age((now - created).total_seconds()) if created else "",
        pods=pods.get(name, 0),
    )


@dataclass(frozen=True)
class NamespaceRow:
    name: str
    pods: int
    running: int
    failing: int
    problems: int
    workloads: str
    status: str  # healthy | degraded | failing | empty


def namespace_rows(snapshot: Snapshot, findings: list[Finding]) -> tuple[NamespaceRow, ...]:
    pods_by_ns: dict[str, list[Obj]] = defaultdict(list)
    for pod in snapshot.items("pods"):
        pods_by_ns[_meta(pod).get("namespace", "")].append(pod)
    problems: dict[str, int] = defaultdict(int)
    for f in findings:
        problems[f.subject.namespace] += 1
    workloads = _workload_names(snapshot)
    names = [_meta(n).get("name", "") for n in snapshot.items("namespaces")] or sorted(pods_by_ns)
    rows = []
    for ns in names:
        pods = pods_by_ns.get(ns, [])
        running = sum(1 for p in pods if _status(p).get("phase") in ("Running", "Succeeded"))
        failing = len(pods) - running
        status = "empty" if not pods else (
            "healthy" if not problems[ns] else ("failing" if failing * 2 > len(pods)
                                                else "degraded"))
        rows.append(NamespaceRow(ns, len(pods), running, failing, problems[ns],
                                 ", ".join(workloads.get(ns, [])[:6]), status))
    return tuple(rows)


def _workload_names(snapshot: Snapshot) -> dict[str, list[str]]:
    names: dict[str, list[str]] = defaultdict(list)
    for key in ("deployments", "statefulsets", "daemonsets", "cronjobs"):
        for obj in snapshot.items(key):
            meta = _meta(obj)
            names[meta.get("namespace", "")].append(meta.get("name", ""))
    return {ns: sorted(set(v)) for ns, v in names.items()}


@dataclass(frozen=True)
class WorkloadRow:
    namespace: str
    kind: str
    name: str
    ready: int
    desired: int

    @property
    def healthy(self) -> bool:
        return self.ready >= self.desired


def workload_rows(snapshot: Snapshot) -> tuple[WorkloadRow, ...]:
    rows = []
    for key, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet"),
                      ("daemonsets", "DaemonSet")):
        for obj in snapshot.items(key):
            meta, spec, status = _meta(obj), _spec(obj), _status(obj)
            if kind == "DaemonSet":
                desired = status.get("desiredNumberScheduled") or 0
                ready = status.get("numberAvailable") or 0
            else:
                desired = spec.get("replicas", 1) if spec.get("replicas") is not None else 1
                ready = status.get("availableReplicas") or status.get("readyReplicas") or 0
            rows.append(WorkloadRow(meta.get("namespace", ""), kind, meta.get("name", ""),
                                    int(ready), int(desired)))
    return tuple(sorted(rows, key=lambda r: (r.namespace, r.kind, r.name)))


@dataclass(frozen=True)
class PVCRow:
    namespace: str
    name: str
    size: str
    size_bytes: float
    used: str
    used_pct: int | None
    phase: str
    volume: str


@dataclass(frozen=True)
class StorageClassGroup:
    name: str
    provisioner: str
    default: bool
    backend: str  # e.g. "NFS 192.168.1.20:/volume1/k8s"
    pvcs: tuple[PVCRow, ...]

    @property
    def allocated(self) -> str:
        return format_bytes(sum(p.size_bytes for p in self.pvcs))


def storage_groups(snapshot: Snapshot) -> tuple[StorageClassGroup, ...]:
    used = pvc_usage(snapshot)
    by_class: dict[str, list[PVCRow]] = defaultdict(list)
    for pvc in snapshot.items("persistentvolumeclaims"):
        meta, spec, status = _meta(pvc), _spec(pvc), _status(pvc)
        size = quantity((status.get("capacity") or {}).get("storage")) or quantity(
            ((spec.get("resources") or {}).get("requests") or {}).get("storage")) or 0.0
        key = (meta.get("namespace", ""), meta.get("name", ""))
        used_bytes = used.get(key)
        by_class[spec.get("storageClassName") or ""].append(PVCRow(
            namespace=key[0], name=key[1], size=format_bytes(size), size_bytes=size,
            used=format_bytes(used_bytes) if used_bytes is not None else "",
            used_pct=int(used_bytes * 100 / size) if used_bytes is not None and size else None,
            phase=status.get("phase", "Unknown"), volume=spec.get("volumeName") or ""))
    classes = {_meta(sc).get("name", ""): sc for sc in snapshot.items("storageclasses")}
    groups = []
    for name in sorted(set(classes) | set(by_class)):
        sc = classes.get(name, {})
        groups.append(StorageClassGroup(
            name=name or "(none)",
            provisioner=sc.get("provisioner", "") if sc else "",
            default=_is_default(sc),
            backend=_backend(snapshot, name, sc),
            pvcs=tuple(sorted(by_class.get(name, []), key=lambda r: (r.namespace, r.name)))))
    return tuple(groups)


def _is_default(storage_class: Obj) -> bool:
    annotations = _meta(storage_class).get("annotations") or {}
    return any(annotations.get(k) == "true" for k in (
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class"))


def _backend(snapshot: Snapshot, name: str, storage_class: Obj) -> str:
    params = storage_class.get("parameters") or {} if storage_class else {}
    if params.get("server"):
        return f"NFS {params['server']}:{params.get('path', '/')}"
    for pv in snapshot.items("persistentvolumes"):
        nfs = _spec(pv).get("nfs")
        if _spec(pv).get("storageClassName") == name and isinstance(nfs, dict):
            return f"NFS {nfs.get('server', '?')}:{nfs.get('path', '/')}"
    return ""


@dataclass(frozen=True)
class IngressRow:
    host: str
    url: str
    namespace: str
    service: str
    tls: bool
    ok: bool


def ingress_rows(snapshot: Snapshot, findings: list[Finding]) -> tuple[IngressRow, ...]:
    broken = {(f.subject.namespace, f.subject.name) for f in findings
              if f.code.startswith(("INGRESS-", "SERVICE-"))}
    rows = []
    for ing in snapshot.items("ingresses"):
        meta, spec = _meta(ing), _spec(ing)
        ns = meta.get("namespace", "")
        tls_hosts = {h for t in spec.get("tls") or [] if isinstance(t, dict)
                     for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            host = rule.get("host") or "*"
            for path in ((rule.get("http") or {}).get("paths") or []):
                service = (((path or {}).get("backend") or {}).get("service") or {}).get("name",
                                                                                          "")
                tls = host in tls_hosts
                ok = (ns, meta.get("name", "")) not in broken and (ns, service) not in broken
                rows.append(IngressRow(host, f"{'https' if tls else 'http'}://{host}", ns,
                                       service, tls, ok))
    return tuple(sorted(rows, key=lambda r: (r.namespace, r.host)))


@dataclass(frozen=True)
class CertificateRow:
    namespace: str
    name: str
    dns_names: str
    issuer: str
    ready: bool
    expires_in: str
    days_left: int | None


def certificate_rows(snapshot: Snapshot, now: datetime) -> tuple[CertificateRow, ...]:
    rows = []
    for cert in snapshot.items("certificates"):
        meta, spec, status = _meta(cert), _spec(cert), _status(cert)
        ready = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
        not_after = parse_time(status.get("notAfter"))
        days = int((not_after - now).total_seconds() // 86400) if not_after else None
        rows.append(CertificateRow(
            namespace=meta.get("namespace", ""), name=meta.get("name", ""),
            dns_names=", ".join(spec.get("dnsNames") or [spec.get("commonName") or ""]),
            issuer=(spec.get("issuerRef") or {}).get("name", ""), ready=ready,
            expires_in=f"{days} days" if days is not None else "unknown", days_left=days))
    return tuple(sorted(rows, key=lambda r: (r.namespace, r.name)))
