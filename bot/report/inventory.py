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
from bot.cluster import fields
from bot.cluster.fields import as_dict, as_list, number, strings, text
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
        if fields.status(pod).get("phase") in ("Running", "Pending"):
            pods_per_node[text(fields.spec(pod).get("nodeName"))] += 1
    rows = [_node_row(n, usage, pods_per_node, now) for n in snapshot.items("nodes")]
    return tuple(sorted(rows, key=lambda r: (not r.control_plane, r.name)))


def _node_row(node: Obj, usage: dict, pods: dict[str, int], now: datetime) -> NodeRow:
    meta, status = fields.meta(node), fields.status(node)
    name = text(meta.get("name")) or "?"
    conditions = {c.get("type"): c.get("status") for c in as_list(status.get("conditions"))}
    ready = conditions.get("Ready") == "True"
    roles = sorted(k[len(ROLE_PREFIX):] for k in as_dict(meta.get("labels"))
                   if k.startswith(ROLE_PREFIX))
    addresses = {a.get("type"): text(a.get("address")) for a in as_list(status.get("addresses"))}
    created = parse_time(meta.get("creationTimestamp"))
    used = usage.get(name)
    state = "Ready" if ready else ("Unknown" if conditions.get("Ready") == "Unknown"
                                   else "NotReady")
    if fields.spec(node).get("unschedulable"):
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
                              if isinstance(t, str) and t.endswith("Pressure") and s == "True")),
        kubelet=text(as_dict(status.get("nodeInfo")).get("kubeletVersion")),
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
        pods_by_ns[text(fields.meta(pod).get("namespace"))].append(pod)
    problems: dict[str, int] = defaultdict(int)
    for f in findings:
        problems[f.subject.namespace] += 1
    workloads = _workload_names(snapshot)
    names = [text(fields.meta(n).get("name")) for n in snapshot.items("namespaces")] or sorted(
        pods_by_ns)
    rows = []
    for ns in names:
        pods = pods_by_ns.get(ns, [])
        running = sum(1 for p in pods
                      if fields.status(p).get("phase") in ("Running", "Succeeded"))
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
            meta = fields.meta(obj)
            names[text(meta.get("namespace"))].append(text(meta.get("name")))
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
            meta, spec, status = fields.meta(obj), fields.spec(obj), fields.status(obj)
            if kind == "DaemonSet":
                desired = number(status.get("desiredNumberScheduled"))
                ready = number(status.get("numberAvailable"))
            else:
                desired = number(spec.get("replicas"), default=1)
                ready = number(status.get("availableReplicas")) or number(
                    status.get("readyReplicas"))
            rows.append(WorkloadRow(text(meta.get("namespace")), kind, text(meta.get("name")),
                                    ready, desired))
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
        meta, spec, status = fields.meta(pvc), fields.spec(pvc), fields.status(pvc)
        size = quantity(as_dict(status.get("capacity")).get("storage")) or quantity(
            as_dict(as_dict(spec.get("resources")).get("requests")).get("storage")) or 0.0
        key = (text(meta.get("namespace")), text(meta.get("name")))
        used_bytes = used.get(key)
        by_class[text(spec.get("storageClassName"))].append(PVCRow(
            namespace=key[0], name=key[1], size=format_bytes(size), size_bytes=size,
            used=format_bytes(used_bytes) if used_bytes is not None else "",
            used_pct=int(used_bytes * 100 / size) if used_bytes is not None and size else None,
            phase=text(status.get("phase")) or "Unknown", volume=text(spec.get("volumeName"))))
    classes = {text(fields.meta(sc).get("name")): sc for sc in snapshot.items("storageclasses")}
    groups = []
    for name in sorted(set(classes) | set(by_class)):
        sc = classes.get(name, {})
        groups.append(StorageClassGroup(
            name=name or "(none)",
            provisioner=text(sc.get("provisioner")),
            default=_is_default(sc),
            backend=_backend(snapshot, name, sc),
            pvcs=tuple(sorted(by_class.get(name, []), key=lambda r: (r.namespace, r.name)))))
    return tuple(groups)


def _is_default(storage_class: Obj) -> bool:
    annotations = as_dict(fields.meta(storage_class).get("annotations"))
    return any(annotations.get(k) == "true" for k in (
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class"))


def _backend(snapshot: Snapshot, name: str, storage_class: Obj) -> str:
    params = as_dict(storage_class.get("parameters"))
    if text(params.get("server")):
        return f"NFS {params['server']}:{text(params.get('path')) or '/'}"
    for pv in snapshot.items("persistentvolumes"):
        nfs = fields.spec(pv).get("nfs")
        if fields.spec(pv).get("storageClassName") == name and isinstance(nfs, dict):
            return f"NFS {text(nfs.get('server')) or '?'}:{text(nfs.get('path')) or '/'}"
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
        meta, spec = fields.meta(ing), fields.spec(ing)
        ns = text(meta.get("namespace"))
        tls_hosts = {h for t in as_list(spec.get("tls")) for h in strings(t.get("hosts"))}
        for rule in as_list(spec.get("rules")):
            host = text(rule.get("host")) or "*"
            for path in as_list(as_dict(rule.get("http")).get("paths")):
                service = text(as_dict(as_dict(path.get("backend")).get("service")).get("name"))
                tls = host in tls_hosts
                ok = (ns, text(meta.get("name"))) not in broken and (ns, service) not in broken
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
        meta, spec, status = fields.meta(cert), fields.spec(cert), fields.status(cert)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in as_list(status.get("conditions")))
        not_after = parse_time(status.get("notAfter"))
        days = int((not_after - now).total_seconds() // 86400) if not_after else None
        rows.append(CertificateRow(
            namespace=text(meta.get("namespace")), name=text(meta.get("name")),
            dns_names=", ".join(strings(spec.get("dnsNames")) or [text(spec.get("commonName"))]),
            issuer=text(as_dict(spec.get("issuerRef")).get("name")), ready=ready,
            expires_in=f"{days} days" if days is not None else "unknown", days_left=days))
    return tuple(sorted(rows, key=lambda r: (r.namespace, r.name)))
