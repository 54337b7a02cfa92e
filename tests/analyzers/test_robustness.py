"""Malformed objects cost at most one ANALYZER-ERROR each, and never another object's finding.

robustness/malformed-objects.json holds one object of nearly every kind with the wrong shape
where the analyzers and the Snapshot's lookups read: metadata that is a string or null, owner
references that are a dict, a list of strings or a cycle between two ReplicaSets, events whose
involvedObject or series is a string and whose times are numbers, nodes, metrics, workloads,
claims, ingresses, services and certificates with strings where dicts belong. Added to the demo
cluster, the full run (`bot.analyzers.analyze`) must still find every problem it finds without
them, word for word.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bot.analyzers import analyze
from bot.analyzers.base import ANALYZER_ERROR, finding, guarded, ref
from bot.analyzers.pods import CRASHLOOP
from bot.cluster.demo import demo_snapshot
from bot.cluster.kinds import kind_for
from bot.cluster.snapshot import Snapshot, event_time
from bot.models import Finding, ObjectRef

from .fixtures_util import FIXTURES, only

MALFORMED = FIXTURES / "robustness" / "malformed-objects.json"
BROKEN_NAMESPACE = "broken"


def malformed_objects() -> list[dict[str, Any]]:
    return json.loads(MALFORMED.read_text())["items"]


def names(objects: list[dict[str, Any]]) -> set[str]:
    return {o["metadata"]["name"] for o in objects
            if isinstance(o.get("metadata"), dict) and isinstance(o["metadata"].get("name"), str)}


def with_objects(base: Snapshot, objects: list[dict[str, Any]]) -> Snapshot:
    """`base` plus `objects` exactly as written (untrimmed, so lookups see the bad shapes)."""
    collections = {key: list(items) for key, items in base.collections.items()}
    for obj in objects:
        collections.setdefault(kind_for(obj["kind"], obj["apiVersion"]).key, []).append(obj)
    return Snapshot.build(collections, taken_at=base.taken_at, absent=base.absent, trimmed=True)


def is_about(finding: Finding, objects: list[dict[str, Any]]) -> bool:
    subject = finding.subject
    return (BROKEN_NAMESPACE in (subject.namespace, subject.name) or subject.name == "?"
            or subject.name in names(objects))


@pytest.fixture(scope="module")
def demo() -> Snapshot:
    return demo_snapshot()


@pytest.fixture(scope="module")
def clean(demo) -> list[Finding]:
    return analyze(demo)


def test_the_full_run_keeps_every_other_finding(demo, clean):
    bad = malformed_objects()
    found = analyze(with_objects(demo, bad))
    assert [f for f in found if not is_about(f, bad)] == clean
    errors = Counter(f.subject for f in found if f.code == ANALYZER_ERROR)
    assert errors and max(errors.values()) == 1
    assert len(errors) <= len(bad)
    assert only(found, ANALYZER_ERROR, "weird-endpoints").cause == (
        "ValueError: Endpoints subsets is not a list")


@pytest.mark.parametrize("bad", malformed_objects(),
                         ids=lambda o: f"{o['kind']}-{json.dumps(o.get('metadata'))[:30]}")
def test_one_malformed_object_costs_at_most_one_analyzer_error(demo, clean, bad):
    found = analyze(with_objects(demo, [bad]))
    assert [f for f in found if not is_about(f, [bad])] == clean
    assert sum(1 for f in found if f.code == ANALYZER_ERROR) <= 1


def test_snapshot_lookups_read_malformed_fields_as_empty():
    bad = malformed_objects()
    snapshot = with_objects(Snapshot.build({}), bad)
    for items in snapshot.collections.values():
        for obj in items:
            snapshot.controller_of(obj)
    assert all(isinstance(event_time(e), str) for e in snapshot.items("events"))
    assert event_time(snapshot.items("events")[1]) == ""  # a number is not a timestamp
    pod = snapshot.get("pods", BROKEN_NAMESPACE, "owner-loop-pod")
    assert pod is not None
    assert snapshot.controller_of(pod) == ObjectRef("ReplicaSet", "loop-a", BROKEN_NAMESPACE)
    assert snapshot.pods_of("ReplicaSet", BROKEN_NAMESPACE, "loop-a") == [pod]
    assert [e["reason"] for e in snapshot.events_for("Pod", BROKEN_NAMESPACE,
                                                      "owner-loop-pod")] == ["Unhealthy"]
    for name in ("owners-a-dict", "owners-of-strings", "owner-kind-number"):
        assert snapshot.controller_of(snapshot.get("pods", BROKEN_NAMESPACE, name)) is None
    assert snapshot.get("pods", "", "") is not None  # the pods whose metadata is not a dict


@pytest.mark.parametrize("obj", ["pod", None, 3, ["metadata"], {"metadata": "flower"},
                                 {"metadata": None}, {"metadata": {"name": 5}}])
def test_ref_reads_a_malformed_object_as_unnamed(obj):
    assert ref("Pod", obj) == ObjectRef("Pod", "?")


def test_ref_keeps_what_is_well_formed():
    assert ref("Pod", {"metadata": {"name": "a", "namespace": ["x"], "uid": "u"}}) == ObjectRef(
        "Pod", "a", "", "u")


def test_guarded_turns_each_failure_into_one_analyzer_error():
    def check(obj: Any) -> list[Finding]:
        subject = ObjectRef("Pod", obj["metadata"]["name"])  # raises on the malformed ones
        return [finding(CRASHLOOP, subject, reason="CrashLoopBackOff", title=subject.name)]

    objects: list[Any] = ["text", None, {"metadata": "m"}, {"metadata": {"name": "fine"}}]
    found = list(guarded("Pod", objects, check))
    assert [(f.code, f.subject.name) for f in found] == [(ANALYZER_ERROR, "?")] * 3 + [
        (CRASHLOOP, "fine")]
    assert all("TypeError" in f.cause for f in found[:3])
