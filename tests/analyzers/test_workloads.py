"""Workloads analyzer: short controllers, stuck rollouts, zero replicas, misscheduled daemons.

workloads.json holds Longhorn's csi-snapshotter at 2/3 with one silent unready pod, a rollout
blocked by a ResourceQuota, a StatefulSet that cannot create its second pod, a DaemonSet pod on
the control plane, and workloads that must stay quiet: healthy ones, one mid-rollout, and one
whose crash-looping pod the pods analyzer already reports.
"""

from __future__ import annotations

import pytest

from bot.analyzers import pods, workloads
from bot.analyzers.base import ANALYZER_ERROR, CATALOGUE
from bot.analyzers.readers import availability, availability_of
from bot.cluster.snapshot import Snapshot
from bot.models import ObjectRef, Severity


@pytest.fixture(scope="module")
def found(load, run):
    return run(load("workloads/workloads.json"))


def test_unavailable_deployment_explains_the_unready_pod(found, only):
    f = only(found, workloads.UNAVAILABLE, "csi-snapshotter")
    assert (f.severity, f.reason) == (Severity.WARNING, "NotReady")
    assert (f.subject.kind, f.subject.namespace) == ("Deployment", "longhorn-system")
    assert f.subject.uid
    assert f.title == "csi-snapshotter: 2/3 available"
    assert len(f.pods) == 1
    assert f.cause.startswith(f"1 pod not ready: {f.pods[0]} on pi-worker-03 (NotReady for 5h")
    assert "containers with unready status: [csi-snapshotter]" in f.cause
    assert "4 restarts" in f.cause
    assert "kubectl -n longhorn-system describe deployment csi-snapshotter" in f.recommendation
    assert "kubectl -n longhorn-system get pods -l app=csi-snapshotter -o wide" in f.recommendation
    assert "kubectl -n longhorn-system rollout restart deployment/csi-snapshotter" \
        in f.recommendation
    assert [(p.action, p.mutating) for p in f.proposals] == [
        ("describe", False), ("logs", False), ("rollout-restart", True)]


def test_unavailable_daemonset_counts_desired_scheduled(found, only):
    f = only(found, workloads.UNAVAILABLE, "svclb-traefik")
    assert f.title == "svclb-traefik: 7/8 available"
    assert "on pi-worker-07" in f.cause
    assert "rollout restart daemonset/svclb-traefik" in f.recommendation


def test_missing_statefulset_pod_quotes_the_controller(found, only):
    f = only(found, workloads.UNAVAILABLE, "redis-replica")
    assert (f.reason, f.subject.kind, f.pods) == ("FailedCreate", "StatefulSet", ())
    assert f.title == "redis-replica: 1/2 available"
    assert "1 pod missing" in f.cause and "exceeded quota: compute-quota" in f.cause
    assert "kubectl -n web describe resourcequota" in f.recommendation


def test_progress_deadline_says_why_the_rollout_is_stuck(found, only):
    f = only(found, workloads.PROGRESS_DEADLINE, "web")
    assert (f.severity, f.reason, f.subject.kind) == (Severity.WARNING,
                                                      "ProgressDeadlineExceeded", "Deployment")
    assert f.title == "web: rollout stuck (ProgressDeadlineExceeded, 2/3 available)"
    assert "progressDeadlineSeconds 600" in f.cause and "has timed out progressing" in f.cause
    assert "exceeded quota" in f.cause
    assert any(e.startswith("ReplicaFailure FailedCreate") for e in f.evidence)
    assert any(e.startswith("FailedCreate ×19") for e in f.evidence)
    assert "kubectl -n web rollout undo deployment/web" in f.recommendation
    assert not [x for x in found if x.code == workloads.UNAVAILABLE and x.subject.name == "web"]


def test_scaled_to_zero_is_info(found, only):
    f = only(found, workloads.SCALED_ZERO, "old-dashboard")
    assert (f.severity, f.reason) == (Severity.INFO, "ScaledToZero")
    assert "kubectl -n monitoring scale deployment old-dashboard --replicas=1" in f.recommendation


def test_misscheduled_daemon_pod_is_found(found, only):
    f = only(found, workloads.MISSCHEDULED, "node-exporter")
    assert (f.severity, f.subject.kind) == (Severity.INFO, "DaemonSet")
    assert len(f.pods) == 1
    assert any("runs on pi-master" in e for e in f.evidence)
    assert "status.numberMisscheduled 1" in f.evidence
    assert "kubectl -n monitoring get pods -o wide -l app=node-exporter" in f.recommendation


@pytest.mark.parametrize("name", ["coredns", "api-gateway"])
def test_healthy_and_starting_workloads_give_nothing(found, about, name):
    assert not about(found, name)


def test_one_problem_is_one_finding(found, only):
    """flower's pod crash-loops: the pods analyzer reports it, with the availability figure."""
    f = only(found, pods.CRASHLOOP, "flower")
    assert f.title.endswith("(0/1 available)")
    assert not [x for x in found if x.code.startswith("WORKLOAD-") and x.subject.name == "flower"]


def test_seed_deployments_are_left_to_the_pods_analyzer(load, run):
    found = run(load("pods/financial-screener.json"))
    assert not [f for f in found if f.code.startswith("WORKLOAD-")]


def test_every_workloads_check_is_in_the_catalogue():
    assert {c for c, check in CATALOGUE.items() if check.area == "workloads"} == {
        workloads.UNAVAILABLE, workloads.PROGRESS_DEADLINE, workloads.SCALED_ZERO,
        workloads.MISSCHEDULED}


def test_availability_figures():
    assert availability_of("Deployment", {"spec": {"replicas": 7},
                                          "status": {"availableReplicas": 1}}) == (1, 7)
    assert availability_of("Deployment", {"spec": {}, "status": {}}) == (0, 1)
    assert availability_of("StatefulSet", {"spec": {"replicas": 2},
                                           "status": {"readyReplicas": 2}}) == (2, 2)
    assert availability_of("DaemonSet", {"status": {"desiredNumberScheduled": 8,
                                                    "numberAvailable": 7}}) == (7, 8)
    assert availability_of("Deployment", {"spec": "x", "status": None}) == (0, 1)
    empty = Snapshot.build({})
    assert availability(empty, ObjectRef("Deployment", "x", "ns")) is None
    assert availability(empty, ObjectRef("Job", "x", "ns")) is None


@pytest.mark.parametrize("bad", [
    {"kind": "Deployment", "metadata": {"name": "a", "namespace": "n"}, "status": "Available"},
    {"kind": "Deployment", "metadata": {"name": "b", "namespace": "n"},
     "spec": {"replicas": "3", "selector": ["app"]}, "status": {"conditions": "Progressing"}},
    {"kind": "DaemonSet", "metadata": {"name": "c", "namespace": "n"}, "spec": None,
     "status": {"numberMisscheduled": "2", "desiredNumberScheduled": None}},
    {"kind": "StatefulSet", "metadata": {"name": "d", "namespace": "n"}, "status": None},
    {"kind": "Deployment", "metadata": {"name": "e", "namespace": "n"},
     "spec": {"replicas": 2, "template": "x"},
     "status": {"availableReplicas": 1, "conditions": [None, {"type": "Progressing"}]}},
])
def test_malformed_workloads_never_raise(load, run, bad):
    fixture = load("workloads/workloads.json")
    key = {"Deployment": "deployments", "DaemonSet": "daemonsets",
           "StatefulSet": "statefulsets"}[bad["kind"]]
    objects = {k: list(v) for k, v in fixture.collections.items()}
    objects[key].append(bad)
    found = run(Snapshot.build(objects, trimmed=False, taken_at=fixture.taken_at))
    assert any(f.code == workloads.UNAVAILABLE and f.subject.name == "csi-snapshotter"
               for f in found)
    for f in found:
        if f.subject.name == bad["metadata"]["name"]:
            assert f.code in (ANALYZER_ERROR, workloads.UNAVAILABLE), f
