"""Resource utilisation and capacity headroom: what the cluster uses, reserves, and can still fit.

Usage comes from metrics.k8s.io (what is burning now); requests come from pod specs (what the
scheduler has promised). Headroom is judged on the larger of the two, because a node full of
requests refuses new pods even when it is idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from bot.analyzers.nodes import node_usage
from bot.cluster.fields import as_dict, as_list, spec, status
from bot.cluster.snapshot import Obj, Snapshot
from bot.cluster.units import format_bytes, format_cpu, quantity


@dataclass(frozen=True)
class Utilisation:
    metrics: bool  # False when metrics.k8s.io is absent
    cpu_used: str
    cpu_total: str
    cpu_pct: int
    memory_used: str
    memory_total: str
    memory_pct: int
    cpu_per_node: str
    memory_per_node: str
    peak_cpu_node: str
    peak_cpu: str
    peak_memory_node: str
    peak_memory: str
    peak_memory_pct: int


@dataclass(frozen=True)
class Capacity:
    cpu_requested: str
    cpu_requested_pct: int
    memory_requested: str
    memory_requested_pct: int
    cpu_headroom_pct: int
    memory_headroom_pct: int
    typical_app: str  # "100m CPU / 256Mi" — the median application's requests
    more_apps: int  # how many more such apps fit, by the scarcer resource


def _allocatable(snapshot: Snapshot) -> tuple[float, float]:
    cpu = mem = 0.0
    for node in snapshot.items("nodes"):
        alloc = as_dict(status(node).get("allocatable"))
        cpu += quantity(alloc.get("cpu")) or 0.0
        mem += quantity(alloc.get("memory")) or 0.0
    return cpu, mem


def _pct(part: float, whole: float) -> int:
    return int(part * 100 / whole) if whole else 0


def utilisation(snapshot: Snapshot) -> Utilisation:
    usage = node_usage(snapshot)
    cpu_total, mem_total = _allocatable(snapshot)
    cpu_used = sum(u.cpu_cores for u in usage.values())
    mem_used = sum(u.mem_bytes for u in usage.values())
    count = max(len(usage), 1)
    peak_cpu = max(usage.items(), key=lambda kv: kv[1].cpu_cores, default=None)
    peak_mem = max(usage.items(), key=lambda kv: kv[1].mem_bytes, default=None)
    return Utilisation(
        metrics=bool(usage),
        cpu_used=format_cpu(cpu_used), cpu_total=format_cpu(cpu_total),
        cpu_pct=_pct(cpu_used, cpu_total),
        memory_used=format_bytes(mem_used), memory_total=format_bytes(mem_total),
        memory_pct=_pct(mem_used, mem_total),
        cpu_per_node=format_cpu(cpu_used / count), memory_per_node=format_bytes(mem_used / count),
        peak_cpu_node=peak_cpu[0] if peak_cpu else "",
        peak_cpu=format_cpu(peak_cpu[1].cpu_cores) if peak_cpu else "",
        peak_memory_node=peak_mem[0] if peak_mem else "",
        peak_memory=format_bytes(peak_mem[1].mem_bytes) if peak_mem else "",
        peak_memory_pct=(peak_mem[1].mem_pct or 0) if peak_mem else 0,
    )


def _requests(pod: Obj) -> tuple[float, float]:
    cpu = mem = 0.0
    for container in as_list(spec(pod).get("containers")):
        requests = as_dict(as_dict(container.get("resources")).get("requests"))
        cpu += quantity(requests.get("cpu")) or 0.0
        mem += quantity(requests.get("memory")) or 0.0
    return cpu, mem


def _active(pod: Obj) -> bool:
    return status(pod).get("phase") not in ("Succeeded", "Failed")


def capacity(snapshot: Snapshot) -> Capacity:
    cpu_total, mem_total = _allocatable(snapshot)
    active = [(p, _requests(p)) for p in snapshot.items("pods") if _active(p)]
    cpu_req = sum(cpu for _, (cpu, _) in active)
    mem_req = sum(mem for _, (_, mem) in active)
    usage = node_usage(snapshot)
    cpu_busy = max(cpu_req, sum(u.cpu_cores for u in usage.values()))
    mem_busy = max(mem_req, sum(u.mem_bytes for u in usage.values()))
    app_cpu, app_mem = _typical_app(snapshot, active)
    fits = [int((total - busy) // need) for total, busy, need in
            ((cpu_total, cpu_busy, app_cpu), (mem_total, mem_busy, app_mem)) if need > 0]
    return Capacity(
        cpu_requested=format_cpu(cpu_req), cpu_requested_pct=_pct(cpu_req, cpu_total),
        memory_requested=format_bytes(mem_req), memory_requested_pct=_pct(mem_req, mem_total),
        cpu_headroom_pct=100 - _pct(cpu_busy, cpu_total) if cpu_total else 0,
        memory_headroom_pct=100 - _pct(mem_busy, mem_total) if mem_total else 0,
        typical_app=f"{format_cpu(app_cpu)} CPU / {format_bytes(app_mem)}",
        more_apps=max(min(fits), 0) if fits else 0,
    )


def _typical_app(snapshot: Snapshot, active: list[tuple[Obj, tuple[float, float]]]
                 ) -> tuple[float, float]:
    """Median total requests of the active pods' controllers: the size of "one more app"."""
    per_owner: dict[tuple[str, str], list[float]] = {}
    for pod, (cpu, mem) in active:
        owner = snapshot.controller_of(pod)
        if owner is None or owner.kind in ("DaemonSet", "Job", "CronJob"):
            continue
        totals = per_owner.setdefault((owner.namespace, owner.name), [0.0, 0.0])
        totals[0] += cpu
        totals[1] += mem
    if not per_owner:
        return 0.0, 0.0
    return (median(v[0] for v in per_owner.values()), median(v[1] for v in per_owner.values()))
