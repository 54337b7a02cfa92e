"""The health score: where the demo lands, and the formula's rules (docs/scoring.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.analyzers import analyze
from bot.cluster.demo import demo_snapshot
from bot.cluster.snapshot import Snapshot
from bot.models import Finding, ObjectRef, Severity
from bot.scoring import area_of, score

NOW = datetime(2025, 10, 19, tzinfo=UTC)


def make(code: str, severity: Severity, namespace: str = "shop", pods: tuple[str, ...] = ()):
    return Finding(code, severity, "Reason", ObjectRef("Deployment", "web", namespace), "web: x",
                   pods=pods)


def cluster(*namespaces: str) -> Snapshot:
    pods = [{"metadata": {"name": f"{ns}-pod", "namespace": ns}, "status": {"phase": "Running"}}
            for ns in namespaces]
    nodes = [{"metadata": {"name": "n1"}, "status": {}}]
    return Snapshot.build({"pods": pods, "nodes": nodes, "namespaces": [
        {"metadata": {"name": ns}} for ns in namespaces]}, taken_at=NOW)


def test_demo_lands_where_the_seed_report_author_put_it():
    snapshot = demo_snapshot()
    result = score(snapshot, analyze(snapshot))
    areas = {a.name: a.score for a in result.areas}
    assert 90 <= result.total <= 95 and result.grade == "B" and result.label == "mostly healthy"
    assert min(areas, key=lambda name: areas[name] or 101) == "Applications"
    assert areas["Core Infrastructure"] == areas["Monitoring"] == areas["Security"] == 100


def test_an_empty_area_is_not_judged():
    result = score(cluster("shop"), [])
    by_name = {a.name: a for a in result.areas}
    assert by_name["Monitoring"].score is None and by_name["Security"].score is None
    assert result.total == 100 and result.grade == "A"


def test_findings_compound_and_never_go_below_zero():
    one = score(cluster("shop"), [make("POD-CRASHLOOP", Severity.WARNING)])
    many = score(cluster("shop"), [make("POD-CRASHLOOP", Severity.CRITICAL)] * 30)
    apps = {a.name: a.score for a in one.areas}["Applications"]
    assert apps == 94
    assert {a.name: a.score for a in many.areas}["Applications"] == 0


def test_anything_critical_caps_the_total_below_mostly_healthy():
    result = score(cluster("shop", "monitoring"),
                   [Finding("NODE-NOT-READY", Severity.CRITICAL, "NotReady",
                            ObjectRef("Node", "n1"), "n1 is NotReady")])
    assert result.total <= 79 and result.grade in ("C", "D", "F")


def test_a_symptom_costs_less_than_its_cause():
    cause = make("POD-CRASHLOOP", Severity.WARNING, pods=("web-1",))
    symptom = Finding("SERVICE-NO-ENDPOINTS", Severity.WARNING, "NoReadyEndpoints",
                      ObjectRef("Service", "web", "shop"), "web down", pods=("web-1",))
    alone = score(cluster("shop"), [symptom])
    explained = score(cluster("shop"), [cause, symptom])
    net = {a.name: a.score for a in explained.areas}["Networking"]
    assert net == 98 and {a.name: a.score for a in alone.areas}["Networking"] == 94


def test_code_decides_the_area_before_the_namespace():
    assert area_of(make("PVC-PENDING", Severity.WARNING, "shop")) == "storage"
    assert area_of(make("POD-CRASHLOOP", Severity.WARNING, "monitoring")) == "monitoring"
    assert area_of(make("POD-CRASHLOOP", Severity.WARNING, "kube-system")) == "core"
    assert area_of(make("NODE-MEMORY-HIGH", Severity.INFO, "")) == "resources"
