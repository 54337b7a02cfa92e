"""Nodes analyzer: readiness, pressure, cordons, usage against allocatable, metrics-server."""

from __future__ import annotations

import pytest

from bot.analyzers import nodes
from bot.analyzers.base import CATALOGUE, Thresholds
from bot.analyzers.nodes import NodeUsage, node_usage
from bot.models import Severity

from .fixtures_util import analyze, assert_well_formed, edited, load, only, rebuild, summary

HEALTHY = ("nodes/healthy.json", "nodes/healthy-metrics.json")
PROBLEMS = ("nodes/problems.json", "nodes/problems-metrics.json")
MALFORMED = ("nodes/malformed.json", "nodes/malformed-metrics.json")
MIB = 2**20


def _metrics(name: str, cpu: str, memory: str) -> dict:
    return {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
            "metadata": {"name": name, "creationTimestamp": "2025-10-19T11:59:58Z"},
            "timestamp": "2025-10-19T11:59:48Z", "window": "10s",
            "usage": {"cpu": cpu, "memory": memory}}


def _with_usage(cpu: str = "100m", memory: str = "1Gi", **others: tuple[str, str]):
    """Healthy nodes where pi-worker-01 uses `cpu` and `memory`, the others 100m and 1Gi."""
    snapshot = load("nodes/healthy.json")
    usage = {f"pi-worker-0{i}": ("100m", "1Gi") for i in range(2, 8)}
    usage.update({"pi-master": ("100m", "1Gi"), "pi-worker-01": (cpu, memory), **others})
    return rebuild(snapshot, nodemetrics=[_metrics(n, c, m) for n, (c, m) in usage.items()])


@pytest.mark.parametrize(("code", "severity"), [
    ("NODE-NOT-READY", Severity.CRITICAL), ("NODE-UNKNOWN", Severity.CRITICAL),
    ("NODE-PRESSURE", Severity.WARNING), ("NODE-NETWORK-UNAVAILABLE", Severity.CRITICAL),
    ("NODE-CORDONED", Severity.INFO), ("NODE-CPU-HIGH", Severity.WARNING),
    ("NODE-MEMORY-HIGH", Severity.WARNING), ("NODE-METRICS-ABSENT", Severity.INFO),
])
def test_checks_are_registered(code: str, severity: Severity) -> None:
    assert CATALOGUE[code].severity is severity
    assert CATALOGUE[code].area == "nodes"


# -- the seed cluster: all Ready, one note about pi-worker-03 --------------------------------

def test_healthy_cluster_only_notes_the_busiest_node() -> None:
    found = analyze(nodes, load(*HEALTHY))
    assert summary(found) == {("NODE-MEMORY-HIGH", "info", "/pi-worker-03")}
    note = found[0]
    assert note.title == "pi-worker-03 uses 54% of its memory, the highest in the cluster"
    assert note.cause.startswith("4377Mi of 7962Mi allocatable memory in use")
    assert "the next busiest is pi-worker-07 at 43%" in note.cause
    assert note.evidence[0] == "kubectl top node: 4377Mi (54%)"
    assert note.evidence[1:] == ("databases/postgresql-primary-0 requests 1Gi memory",
                                 "monitoring/prometheus-kube-prometheus-stack-prometheus-0 "
                                 "requests 768Mi memory",
                                 "celery/worker-5c9d8b7f6-h4tnm requests 512Mi memory")
    assert "`kubectl top node pi-worker-03`" in note.recommendation
    assert "rebalance" in note.recommendation
    assert note.proposals[0].action == "describe" and not note.proposals[0].mutating
    assert_well_formed(found)


def test_node_usage_matches_kubectl_top_node() -> None:
    usage = node_usage(load(*HEALTHY))
    assert usage["pi-master"] == NodeUsage(pytest.approx(0.185123456), 4, 3065 * MIB, 38)
    assert {name: (u.cpu_pct, u.mem_pct) for name, u in usage.items()} == {
        "pi-master": (4, 38), "pi-worker-01": (2, 25), "pi-worker-02": (2, 22),
        "pi-worker-03": (2, 54), "pi-worker-04": (2, 26), "pi-worker-05": (2, 35),
        "pi-worker-06": (2, 35), "pi-worker-07": (4, 43)}


def test_percent_is_truncated_in_milli_units_like_kubectl() -> None:
    usage = node_usage(_with_usage(cpu="1160m", memory="1Gi"))["pi-worker-01"]
    assert usage.cpu_pct == 29  # 1160m / 4 cores = 29.0%, not 28.999...


# -- every problem, each in Kubernetes' own words ---------------------------------------------

def test_problem_cluster_findings() -> None:
    found = analyze(nodes, load(*PROBLEMS))
    assert summary(found) == {
        ("NODE-NOT-READY", "critical", "/pi-worker-01"),
        ("NODE-PRESSURE", "warning", "/pi-worker-02"),
        ("NODE-UNKNOWN", "critical", "/pi-worker-03"),
        ("NODE-CORDONED", "info", "/pi-worker-04"),
        ("NODE-NETWORK-UNAVAILABLE", "critical", "/pi-worker-05"),
        ("NODE-PRESSURE", "warning", "/pi-worker-06"),
        ("NODE-CPU-HIGH", "warning", "/pi-worker-01"),
        ("NODE-CPU-HIGH", "critical", "/pi-worker-06"),
        ("NODE-MEMORY-HIGH", "warning", "/pi-worker-02"),
        ("NODE-MEMORY-HIGH", "critical", "/pi-worker-07"),
    }
    assert_well_formed(found)


def test_not_ready_quotes_the_kubelet_and_says_since_when() -> None:
    f = only(analyze(nodes, load(*PROBLEMS)), "NODE-NOT-READY")
    assert f.reason == "NotReady"
    assert f.title == "Node pi-worker-01 is NotReady since 3h"
    assert "container runtime does not answer the kubelet" in f.cause  # PLEG
    assert f.evidence == ("Ready=False since 3h", "KubeletNotReady: PLEG is not healthy: pleg "
                          "was last seen active 3m12.458s ago; threshold is 3m0s")
    assert "`kubectl describe node pi-worker-01`" in f.recommendation
    assert "`ssh 192.168.1.241 sudo systemctl status k3s-agent`" in f.recommendation


def test_not_ready_server_points_at_the_k3s_unit() -> None:
    snapshot = load(*HEALTHY)
    items, master = edited(snapshot, "nodes", "pi-master")
    ready = next(c for c in master["status"]["conditions"] if c["type"] == "Ready")
    ready.update(status="False", reason="KubeletNotReady", message="container runtime is down")
    f = only(analyze(nodes, rebuild(snapshot, nodes=items)), "NODE-NOT-READY")
    assert "containerd) is down" in f.cause
    assert "systemctl status k3s`" in f.recommendation


def test_unknown_says_the_kubelet_went_silent() -> None:
    found = analyze(nodes, load(*PROBLEMS))
    f = only(found, "NODE-UNKNOWN")
    assert f.reason == "Unknown"
    assert f.title == "Node pi-worker-03 is not responding (Unknown since 12m)"
    assert "stopped posting node status" in f.cause
    assert "NodeStatusUnknown: Kubelet stopped posting node status." in f.evidence
    assert "`ping 192.168.1.243`" in f.recommendation
    # its pressure conditions are Unknown too: not reported as pressure
    assert not [x for x in found if x.code == "NODE-PRESSURE" and x.subject.name == "pi-worker-03"]


def test_pressure_is_one_finding_per_node_named_by_the_condition() -> None:
    found = analyze(nodes, load(*PROBLEMS))
    both = only(found, "NODE-PRESSURE", "pi-worker-02")
    assert both.reason == "MemoryPressure"
    assert both.title == "Node pi-worker-02 reports MemoryPressure and DiskPressure"
    assert "MemoryPressure since 40m" in both.cause and "DiskPressure since 40m" in both.cause
    assert "`kubectl top pods -A --sort-by=memory | head`" in both.recommendation
    assert "crictl rmi --prune" in both.recommendation
    pid = only(found, "NODE-PRESSURE", "pi-worker-06")
    assert pid.reason == "PIDPressure"


def test_network_unavailable() -> None:
    f = only(analyze(nodes, load(*PROBLEMS)), "NODE-NETWORK-UNAVAILABLE")
    assert f.reason == "NetworkUnavailable"
    assert "NetworkUnavailable since 88m" in f.cause and "NoRouteCreated" in f.cause
    assert "--field-selector spec.nodeName=pi-worker-05" in f.recommendation


def test_cordoned_ready_node_is_info_and_counts_its_pods() -> None:
    f = only(analyze(nodes, load(*PROBLEMS)), "NODE-CORDONED")
    assert f.severity is Severity.INFO
    assert f.reason == "SchedulingDisabled"
    assert f.cause.startswith("pi-worker-04 is cordoned since 2d")
    assert "4 workload pods (and 1 DaemonSet pods)" in f.cause
    assert "`kubectl uncordon pi-worker-04`" in f.recommendation
    assert "`kubectl drain pi-worker-04 --ignore-daemonsets" in f.recommendation


def test_cordoned_not_ready_node_is_a_warning() -> None:
    snapshot = load(*PROBLEMS)
    items, node = edited(snapshot, "nodes", "pi-worker-01")
    node["spec"]["unschedulable"] = True
    f = only(analyze(nodes, rebuild(snapshot, nodes=items)), "NODE-CORDONED", "pi-worker-01")
    assert f.severity is Severity.WARNING
    assert "it runs no pods: it is drained" in f.cause


def test_usage_above_thresholds() -> None:
    found = analyze(nodes, load(*PROBLEMS))
    cpu = only(found, "NODE-CPU-HIGH", "pi-worker-06")
    assert cpu.title == "pi-worker-06 uses 91% of its CPU"
    assert cpu.cause.startswith("3650m of 4000m allocatable CPU in use")
    assert "`kubectl top pods -A --sort-by=cpu | head`" in cpu.recommendation
    memory = only(found, "NODE-MEMORY-HIGH", "pi-worker-07")
    assert memory.title == "pi-worker-07 uses 91% of its memory"
    assert memory.evidence == ("kubectl top node: 3540Mi (91%)",
                               "celery/worker-5c9d8b7f6-9fj2k requests 1.5Gi memory",
                               "logging/loki-0 requests 512Mi memory")
    # a node at or above the warning threshold exists: no "busiest node" note besides
    assert all(f.severity is not Severity.INFO for f in found if f.code.endswith("-HIGH"))


@pytest.mark.parametrize(("cpu", "severity"), [
    ("3600m", "critical"),  # 90%
    ("3599m", "warning"),  # 89%
    ("3200m", "warning"),  # 80%
    ("3199m", "info"),  # 79%: the busiest, above 50%
    ("2000m", "info"),  # 50%
    ("1999m", None),  # 49%: nothing to say
])
def test_cpu_thresholds_at_their_boundaries(cpu: str, severity: str | None) -> None:
    found = [f for f in analyze(nodes, _with_usage(cpu=cpu)) if f.code == "NODE-CPU-HIGH"]
    assert [f.severity.value for f in found] == ([severity] if severity else [])
    assert all(f.subject.name == "pi-worker-01" for f in found)


@pytest.mark.parametrize(("memory", "severity"), [  # of 8153600Ki allocatable
    ("7338240Ki", "critical"),  # exactly 90%
    ("7338239Ki", "warning"),
    ("6522880Ki", "warning"),  # exactly 80%
    ("6522879Ki", "info"),
    ("4076800Ki", "info"),  # exactly 50%
    ("4076799Ki", None),
])
def test_memory_thresholds_at_their_boundaries(memory: str, severity: str | None) -> None:
    found = [f for f in analyze(nodes, _with_usage(memory=memory))
             if f.code == "NODE-MEMORY-HIGH"]
    assert [f.severity.value for f in found] == ([severity] if severity else [])


def test_thresholds_come_from_the_context() -> None:
    limits = Thresholds(node_usage_warning=20, node_usage_critical=30, node_usage_highest_info=10)
    found = analyze(nodes, load(*HEALTHY), thresholds=limits)
    assert {f.subject.name for f in found if f.severity is Severity.CRITICAL} == {
        "pi-master", "pi-worker-03", "pi-worker-05", "pi-worker-06", "pi-worker-07"}
    assert {f.subject.name for f in found if f.severity is Severity.WARNING} == {
        "pi-worker-01", "pi-worker-02", "pi-worker-04"}


def test_busiest_note_breaks_ties_by_name() -> None:
    snapshot = _with_usage(memory="5Gi", **{"pi-worker-05": ("100m", "5Gi")})
    f = only(analyze(nodes, snapshot), "NODE-MEMORY-HIGH")
    assert f.subject.name == "pi-worker-01"
    assert "the next busiest is pi-worker-05 at 64%" in f.cause


# -- optional metrics API ----------------------------------------------------------------------

def test_metrics_not_installed_is_one_info_finding() -> None:
    found = analyze(nodes, load("nodes/healthy.json"))
    f = only(found, "NODE-METRICS-ABSENT")
    assert summary(found) == {("NODE-METRICS-ABSENT", "info", "/v1beta1.metrics.k8s.io")}
    assert "not served" in f.cause
    assert "--disable=metrics-server" in f.recommendation  # K3s ships it
    assert "metrics-server/releases/latest/download/components.yaml" in f.recommendation
    assert_well_formed(found)


def test_metrics_forbidden_asks_for_rbac() -> None:
    snapshot = rebuild(load(*HEALTHY), drop=["nodemetrics"], absent={"nodemetrics": "forbidden"})
    f = only(analyze(nodes, snapshot), "NODE-METRICS-ABSENT")
    assert "Forbidden" in f.cause
    assert "`kubectl auth can-i list nodes.metrics.k8s.io" in f.recommendation
    assert f.evidence == ("metrics.k8s.io: forbidden",)


def test_metrics_installed_but_empty_says_nothing() -> None:
    assert analyze(nodes, rebuild(load(*HEALTHY), nodemetrics=[])) == []


def test_no_nodes_captured_means_no_node_findings() -> None:
    snapshot = rebuild(load(*PROBLEMS), drop=["nodes", "nodemetrics"])
    assert analyze(nodes, snapshot) == []


# -- malformed objects -------------------------------------------------------------------------

def test_malformed_nodes_never_raise_and_other_findings_survive() -> None:
    found = analyze(nodes, load(*MALFORMED))
    assert summary(found) == {
        # the well-formed NotReady node and its usage
        ("NODE-NOT-READY", "critical", "/pi-worker-01"),
        ("NODE-CPU-HIGH", "critical", "/pi-worker-01"),
        ("NODE-MEMORY-HIGH", "warning", "/pi-worker-01"),
        # garbage conditions beside a valid Ready=Unknown; taints and addresses not lists
        ("NODE-UNKNOWN", "critical", "/pi-worker-06"),
        ("NODE-CORDONED", "warning", "/pi-worker-06"),
        # metadata null: no name to report under
        ("ANALYZER-ERROR", "info", "/?"),
    }
    assert "pod network (CNI" in only(found, "NODE-NOT-READY").cause
    # status null (02), conditions a dict (03), allocatable "abc" (04): nothing to report
    assert not {"pi-worker-02", "pi-worker-03", "pi-worker-04"} & {f.subject.name for f in found}
    assert_well_formed(found)


def test_node_usage_skips_what_it_cannot_read() -> None:
    usage = node_usage(load(*MALFORMED))
    assert set(usage) == {"pi-worker-01", "pi-worker-04"}  # usage null, no name, cpu garbage
    assert usage["pi-worker-04"].cpu_pct is None and usage["pi-worker-04"].mem_pct is None
    assert usage["pi-worker-04"].cpu_cores == 3.9
