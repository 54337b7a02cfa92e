"""Node health: readiness, pressure, cordons, and how busy each node is.

On a homelab of a few Raspberry Pis every node is a large share of the cluster, so a NotReady,
silent or memory-starved node is the first thing to know, told in the kubelet's own words with
the commands to run on that node. Usage comes from metrics-server and is computed exactly like
`kubectl top node` (percent of allocatable, truncated); `node_usage()` is exported so reports
print the same figures the findings cite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from bot.analyzers.base import Context, check, finding, guarded, named, per_run, ref
from bot.analyzers.readers import Obj, condition, describe, finished, since, words
from bot.cluster.fields import as_dict, as_list
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import cpu_cores, format_bytes, format_cpu, memory_bytes, quantity
from bot.models import Finding, ObjectRef, Severity

AREA = "nodes"

NODE_NOT_READY = check(
    "NODE-NOT-READY", Severity.CRITICAL, AREA,
    "A node reports Ready=False: its kubelet runs but the node cannot run pods",
)
NODE_UNKNOWN = check(
    "NODE-UNKNOWN", Severity.CRITICAL, AREA,
    "A node's Ready status is Unknown: its kubelet stopped posting status (down or unreachable)",
)
NODE_PRESSURE = check(
    "NODE-PRESSURE", Severity.WARNING, AREA,
    "A node reports MemoryPressure, DiskPressure or PIDPressure: the kubelet evicts pods",
)
NODE_NETWORK_UNAVAILABLE = check(
    "NODE-NETWORK-UNAVAILABLE", Severity.CRITICAL, AREA,
    "A node reports NetworkUnavailable: its pod network is not configured",
)
NODE_CORDONED = check(
    "NODE-CORDONED", Severity.INFO, AREA,
    "A node is cordoned: no new pods are scheduled there (warning when it is also not Ready)",
)
NODE_CPU_HIGH = check(
    "NODE-CPU-HIGH", Severity.WARNING, AREA,
    "A node uses most of its allocatable CPU (critical past the critical threshold; "
    "info for the busiest node when none is high)",
)
NODE_MEMORY_HIGH = check(
    "NODE-MEMORY-HIGH", Severity.WARNING, AREA,
    "A node uses most of its allocatable memory (critical past the critical threshold; "
    "info for the busiest node when none is high)",
)
NODE_METRICS_ABSENT = check(
    "NODE-METRICS-ABSENT", Severity.INFO, AREA,
    "Node metrics are unavailable (metrics-server missing or forbidden): usage not checked",
)


# -- usage, shared with reports -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NodeUsage:
    """One node's `kubectl top node` line; a percent is None when allocatable is unknown."""

    cpu_cores: float
    cpu_pct: int | None
    mem_bytes: float
    mem_pct: int | None


def node_usage(snapshot: Snapshot) -> dict[str, NodeUsage]:
    """Usage per node name from NodeMetrics, as `kubectl top node` prints it; never raises."""
    usage: dict[str, NodeUsage] = {}
    for metrics in snapshot.items("nodemetrics"):
        name = as_dict(metrics.get("metadata")).get("name")
        used = as_dict(metrics.get("usage"))
        cpu, mem = cpu_cores(used.get("cpu")), memory_bytes(used.get("memory"))
        if not isinstance(name, str) or cpu is None or mem is None:
            continue
        node = snapshot.get("nodes", "", name) or {}
        usage[name] = NodeUsage(
            cpu, _percent(cpu, _allocatable(node, "cpu")),
            mem, _percent(mem, _allocatable(node, "memory")),
        )
    return usage


def _allocatable(node: Obj, resource: str) -> float | None:
    return quantity(as_dict(as_dict(node.get("status")).get("allocatable")).get(resource))


def _percent(used: float, total: float | None) -> int | None:
    """Truncated like kubectl top, in integer milli-units so 290m of 1 core is 29, not 28."""
    whole = round(total * 1000) if total else 0
    return round(used * 1000) * 100 // whole if whole > 0 else None


# -- the analyzer ---------------------------------------------------------------------------

def analyze(ctx: Context) -> Iterable[Finding]:
    if not ctx.snapshot.has("nodes"):
        return
    yield from guarded("Node", ctx.snapshot.items("nodes"), lambda node: _node(ctx, node))
    if not ctx.snapshot.has("nodemetrics"):
        yield _metrics_absent(ctx)
        return
    usage = node_usage(ctx.snapshot)
    for resource in (_CPU, _MEMORY):
        yield from _usage_findings(ctx, resource, usage)


def _pods_on(ctx: Context, node: str) -> list[Obj]:
    """Pods still holding resources on a node (not Succeeded or Failed)."""
    return _pods_by_node(ctx).get(node, [])


@per_run
def _pods_by_node(ctx: Context) -> dict[str, list[Obj]]:
    by_node: dict[str, list[Obj]] = defaultdict(list)
    for pod in ctx.snapshot.items("pods"):
        node = as_dict(pod.get("spec")).get("nodeName")
        if isinstance(node, str) and node and not finished(pod):
            by_node[node].append(pod)
    return by_node


def _node(ctx: Context, node: Obj) -> Iterator[Finding]:
    subject = named("Node", node)
    yield from _readiness(ctx, node, subject)
    yield from _pressure(ctx, node, subject)
    yield from _network(ctx, node, subject)
    yield from _cordon(ctx, node, subject)


# -- conditions -----------------------------------------------------------------------------

# Substrings of the kubelet's NotReady message, and what they mean.
_NOT_READY_HINTS = (
    ("PLEG is not healthy", "the container runtime does not answer the kubelet in time "
                            "(an overloaded node, a hung containerd or a slow SD card)"),
    ("runtime network not ready", "the pod network (CNI; flannel inside K3s) is not ready"),
    ("container runtime is down", "the container runtime (containerd) is down"),
)


def _service_unit(node: Obj) -> str:
    """The systemd unit that runs the kubelet: k3s on K3s servers, k3s-agent on K3s agents."""
    version = str(as_dict(as_dict(node.get("status")).get("nodeInfo")).get("kubeletVersion") or "")
    if "k3s" not in version:
        return "kubelet"
    labels = as_dict(as_dict(node.get("metadata")).get("labels"))
    server = any(role in labels for role in ("node-role.kubernetes.io/control-plane",
                                             "node-role.kubernetes.io/master"))
    return "k3s" if server else "k3s-agent"


def _internal_ip(node: Obj) -> str:
    addresses = as_list(as_dict(node.get("status")).get("addresses"))
    return next((str(a.get("address") or "") for a in addresses if a.get("type") == "InternalIP"),
                "")


def _condition_evidence(ctx: Context, cond: Obj) -> tuple[str, str]:
    """("Ready=False since 3h", "KubeletNotReady: PLEG is not healthy: ...")."""
    header = words(f"{cond.get('type')}={cond.get('status')}",
                   since(ctx.now, cond.get("lastTransitionTime")))
    return header, ": ".join(str(cond[k]) for k in ("reason", "message") if cond.get(k))


def _on_node_commands(node: Obj, name: str) -> str:
    unit, ip = _service_unit(node), _internal_ip(node)
    host = ip or name
    return (f"on the node: `ssh {host} sudo systemctl status {unit}` and "
            f"`ssh {host} sudo journalctl -u {unit} -n 200 --no-pager`")


def _readiness(ctx: Context, node: Obj, subject: ObjectRef) -> Iterator[Finding]:
    ready = condition(node, "Ready")
    if ready.get("status") == "Unknown":
        yield _unknown(ctx, node, subject, ready, len(_pods_on(ctx, subject.name)))
    elif ready.get("status") == "False":
        yield _not_ready(ctx, node, subject, ready, len(_pods_on(ctx, subject.name)))


def _unknown(ctx: Context, node: Obj, subject: ObjectRef, ready: Obj, pod_count: int) -> Finding:
    name, ip = subject.name, _internal_ip(node)
    state = words("Unknown", since(ctx.now, ready.get("lastTransitionTime")))
    evicted = (f" Its {pod_count} pods are evicted 5 minutes after it went silent; StatefulSet "
               "pods stay Terminating until it returns or they are force-deleted."
               if pod_count else "")
    return finding(
        NODE_UNKNOWN, subject, reason="Unknown",
        title=f"Node {name} is not responding ({state})",
        cause=(f"The kubelet on {name} stopped posting node status ({state}): the node is "
               f"powered off, unreachable on the network, or its kubelet crashed.{evicted}"),
        evidence=(*_condition_evidence(ctx, ready), f"InternalIP {ip}" if ip else ""),
        recommendation=(f"Check it is up: `ping {ip or name}`; then "
                        f"{_on_node_commands(node, name)}; `kubectl describe node {name}`."),
        proposals=(describe(subject),),
    )


def _not_ready(ctx: Context, node: Obj, subject: ObjectRef, ready: Obj, pod_count: int
               ) -> Finding:
    name = subject.name
    state = words(name, "is NotReady", since(ctx.now, ready.get("lastTransitionTime")))
    message = str(ready.get("message") or "")
    hint = next((h for needle, h in _NOT_READY_HINTS if needle in message),
                "the kubelet reports the node unable to run pods")
    return finding(
        NODE_NOT_READY, subject, reason="NotReady",
        title=f"Node {state}",
        cause=(f"{state}: {hint}. No new pods are scheduled on it"
               + (f"; {pod_count} pods still run there." if pod_count else ".")),
        evidence=_condition_evidence(ctx, ready),
        recommendation=f"`kubectl describe node {name}`; {_on_node_commands(node, name)}.",
        proposals=(describe(subject),),
    )


# Per pressure condition: what it means, and what to do about it.
_PRESSURES = {
    "MemoryPressure": (
        "the node is short of memory: the kubelet evicts pods, BestEffort first, then those "
        "using more than they request",
        "find the heaviest pods with `kubectl top pods -A --sort-by=memory | head` and set "
        "memory limits or move one away",
    ),
    "DiskPressure": (
        "the node's disk is nearly full: the kubelet deletes unused images and evicts pods",
        "on the node run `df -h` and prune unused images with `sudo k3s crictl rmi --prune` "
        "(`sudo crictl rmi --prune` outside K3s); look for large emptyDir or log volumes",
    ),
    "PIDPressure": (
        "the node is running out of process IDs: a container is probably forking without "
        "bound",
        "on the node find the process tree with `ps -eo pid,ppid,comm --sort=ppid | tail`, and "
        "set `pids` limits",
    ),
}


def _pressure(ctx: Context, node: Obj, subject: ObjectRef) -> Iterator[Finding]:
    active = [c for c in (condition(node, t) for t in _PRESSURES) if c.get("status") == "True"]
    if not active:
        return
    kinds = [str(c["type"]) for c in active]
    name = subject.name
    yield finding(
        NODE_PRESSURE, subject, reason=kinds[0],
        title=f"Node {name} reports {' and '.join(kinds)}",
        cause="; ".join(f"{words(kind, since(ctx.now, c.get('lastTransitionTime')))}: "
                        f"{_PRESSURES[kind][0]}" for kind, c in zip(kinds, active, strict=True)),
        evidence=[e for c in active for e in _condition_evidence(ctx, c)],
        recommendation=f"`kubectl describe node {name}`; " + "; ".join(
            _PRESSURES[k][1] for k in kinds) + ".",
        proposals=(describe(subject),),
    )


def _network(ctx: Context, node: Obj, subject: ObjectRef) -> Iterator[Finding]:
    cond = condition(node, "NetworkUnavailable")
    if cond.get("status") != "True":
        return
    name, when = subject.name, since(ctx.now, cond.get("lastTransitionTime"))
    yield finding(
        NODE_NETWORK_UNAVAILABLE, subject, reason="NetworkUnavailable",
        title=f"Node {name} has no pod network",
        cause=(f"{words('NetworkUnavailable', when)}: the CNI has not configured routes for "
               f"{name}, so its pods cannot reach other nodes "
               f"({cond.get('reason') or 'no reason given'})."),
        evidence=_condition_evidence(ctx, cond),
        recommendation=(f"Check the network pods on it: `kubectl -n kube-system get pods -o wide "
                        f"--field-selector spec.nodeName={name}`; on K3s flannel runs inside "
                        f"the agent: {_on_node_commands(node, name)}."),
        proposals=(describe(subject),),
    )


def _cordon(ctx: Context, node: Obj, subject: ObjectRef) -> Iterator[Finding]:
    if as_dict(node.get("spec")).get("unschedulable") is not True:
        return
    name = subject.name
    on_node = _pods_on(ctx, name)
    healthy = condition(node, "Ready").get("status") == "True"
    daemons = sum(1 for pod in on_node if _owned_by_daemonset(pod))
    others = len(on_node) - daemons
    taint = next((t for t in as_list(as_dict(node.get("spec")).get("taints"))
                  if t.get("key") == "node.kubernetes.io/unschedulable"), {})
    drained = ("it runs no pods: it is drained." if not on_node else
               f"only {daemons} DaemonSet pods remain: it is drained." if others == 0 else
               f"it still runs {others} workload pods (and {daemons} DaemonSet pods) that a "
               "drain would move.")
    yield finding(
        NODE_CORDONED, subject, reason="SchedulingDisabled",
        severity=Severity.INFO if healthy else Severity.WARNING,
        title=f"Node {name} is cordoned",
        cause=(f"{words(name, 'is cordoned', since(ctx.now, taint.get('timeAdded')))}: no new "
               f"pods are scheduled there; {drained}"),
        evidence=("spec.unschedulable=true", "" if healthy else "node is not Ready"),
        recommendation=(f"When the maintenance is done: `kubectl uncordon {name}`. To finish "
                        f"emptying it first: `kubectl drain {name} --ignore-daemonsets "
                        "--delete-emptydir-data`."),
        proposals=(describe(subject),),
    )


def _owned_by_daemonset(pod: Obj) -> bool:
    owners = as_list(as_dict(pod.get("metadata")).get("ownerReferences"))
    return any(o.get("kind") == "DaemonSet" for o in owners)


# -- usage ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Resource:
    code: str
    word: str  # as a sentence says it: "CPU", "memory"
    key: str  # in allocatable, requests and `kubectl top --sort-by`
    pct: Callable[[NodeUsage], int | None]
    used: Callable[[NodeUsage], float]
    top: Callable[[float], str]  # as `kubectl top node` prints it: 185m, 3065Mi
    fmt: Callable[[float], str]  # as a request is written: 250m, 1Gi


def _mebibytes(size: float) -> str:
    return f"{int(size // 2**20)}Mi"


_CPU = _Resource(NODE_CPU_HIGH, "CPU", "cpu", lambda u: u.cpu_pct, lambda u: u.cpu_cores,
                 format_cpu, format_cpu)
_MEMORY = _Resource(NODE_MEMORY_HIGH, "memory", "memory", lambda u: u.mem_pct,
                    lambda u: u.mem_bytes, _mebibytes, format_bytes)

_HIGH_EFFECT = {
    "cpu": "its pods are slowed down (CPU is throttled, not evicted)",
    "memory": "the kubelet evicts pods at MemoryPressure, and containers without limits are "
              "OOM-killed first",
}


def _usage_findings(ctx: Context, res: _Resource, usage: dict[str, NodeUsage]
                    ) -> Iterator[Finding]:
    limits = ctx.thresholds
    ranked = sorted(((pct, name) for name, u in usage.items() if (pct := res.pct(u)) is not None),
                    key=lambda item: (-item[0], item[1]))
    for pct, name in ranked:
        if pct < limits.node_usage_warning:
            break
        critical = pct >= limits.node_usage_critical
        yield _usage_finding(ctx, res, name, usage[name], _pods_on(ctx, name),
                             Severity.CRITICAL if critical else Severity.WARNING, busiest="")
    if ranked and limits.node_usage_highest_info <= ranked[0][0] < limits.node_usage_warning:
        name = ranked[0][1]
        runner_up = (f"the next busiest is {ranked[1][1]} at {ranked[1][0]}%" if len(ranked) > 1
                     else "no other node reports metrics")
        yield _usage_finding(ctx, res, name, usage[name], _pods_on(ctx, name), Severity.INFO,
                             busiest=runner_up)


def _usage_finding(ctx: Context, res: _Resource, name: str, used: NodeUsage, on_node: list[Obj],
                   severity: Severity, *, busiest: str) -> Finding:
    node = ctx.snapshot.get("nodes", "", name) or {}
    subject = ref("Node", node) if node else ObjectRef("Node", name)
    pct, allocatable = res.pct(used), _allocatable(node, res.key)
    top = res.top(res.used(used))
    share = f"{top} of {res.top(allocatable or 0)} allocatable {res.word}"
    list_pods = f"`kubectl get pods -A -o wide --field-selector spec.nodeName={name}`"
    if busiest:
        title = f"{name} uses {pct}% of its {res.word}, the highest in the cluster"
        cause = f"{share} in use; {busiest}. Nothing is short yet."
        advice = (f"Watch it with `kubectl top node {name}`; if it grows toward "
                  f"{ctx.thresholds.node_usage_warning:.0f}%, rebalance: list its pods with "
                  f"{list_pods} and move a heavy one (podAntiAffinity or "
                  f"topologySpreadConstraints), or set {res.word} requests so the scheduler "
                  "spreads the load.")
    else:
        title = f"{name} uses {pct}% of its {res.word}"
        cause = f"{share} in use: {_HIGH_EFFECT[res.key]}."
        advice = (f"Find the heaviest pods: `kubectl top pods -A --sort-by={res.key} | head` "
                  f"and {list_pods}; `kubectl describe node {name}` shows what is requested. "
                  f"Move or limit the heaviest workload, or set {res.word} requests so the "
                  "scheduler stops packing this node.")
    return finding(res.code, subject, reason=f"High{res.word.capitalize()}Usage",
                   severity=severity, title=title, cause=cause,
                   evidence=(f"kubectl top node: {top} ({pct}%)",
                             *_top_requests(on_node, res)),
                   recommendation=advice, proposals=(describe(subject),))


def _top_requests(on_node: list[Obj], res: _Resource, limit: int = 3) -> list[str]:
    """The pods on a node that request the most of a resource, heaviest first."""
    requested = sorted(((_requested(pod, res.key), pod) for pod in on_node),
                       key=lambda item: -item[0])
    top = [(amount, pod) for amount, pod in requested if amount > 0][:limit]
    if not top:
        return [f"no pod on this node sets {res.word} requests"] if on_node else []
    return [f"{_pod_name(pod)} requests {res.fmt(amount)} {res.word}" for amount, pod in top]


def _pod_name(pod: Obj) -> str:
    subject = ref("Pod", pod)
    return f"{subject.namespace}/{subject.name}"


def _requested(pod: Obj, resource: str) -> float:
    total = 0.0
    for container in as_list(as_dict(pod.get("spec")).get("containers")):
        requests = as_dict(as_dict(container.get("resources")).get("requests"))
        total += quantity(requests.get(resource)) or 0.0
    return total


# -- metrics-server -------------------------------------------------------------------------

def _metrics_absent(ctx: Context) -> Finding:
    why = ctx.snapshot.absent.get("nodemetrics", "not installed")
    subject = ObjectRef("APIService", "v1beta1.metrics.k8s.io")
    if "forbidden" in why.lower():
        cause = ("metrics.k8s.io answered Forbidden: clusterbot's ServiceAccount may not read "
                 "node metrics, so node CPU and memory use are not checked.")
        advice = ("Grant `get` and `list` on `nodes` in API group `metrics.k8s.io` to clusterbot's "
                  "ClusterRole (see deploy/), then check with `kubectl auth can-i list "
                  "nodes.metrics.k8s.io --as=system:serviceaccount:<namespace>:clusterbot`.")
    else:
        cause = ("The metrics.k8s.io API is not served, so node CPU and memory use are not "
                 "checked (`kubectl top node` fails the same way).")
        advice = ("Check it: `kubectl get apiservice v1beta1.metrics.k8s.io` and "
                  "`kubectl -n kube-system get deploy metrics-server`. K3s ships metrics-server "
                  "unless the server was started with `--disable=metrics-server`: remove that "
                  "flag. Elsewhere install metrics-server: `kubectl apply -f https://github.com/"
                  "kubernetes-sigs/metrics-server/releases/latest/download/components.yaml`.")
    return finding(NODE_METRICS_ABSENT, subject, reason="MetricsUnavailable",
                   title="Node metrics are unavailable", cause=cause,
                   evidence=(f"metrics.k8s.io: {why}",), recommendation=advice)
