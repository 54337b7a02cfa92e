"""The demo cluster a week later: exactly the intended changes (for the weekly report)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.cluster.demo import DEMO_NOW
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import parse_time
from tests.cluster.demo_helpers import Obj, age, get, is_ready, main_status, name, pods_in, reasons

# -- a week later ---------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _by_identity(snapshot: Snapshot) -> dict[tuple[str, str, str], Any]:
    """Objects by (key, namespace, name), with timestamps of the last hour (what is still
    happening: heartbeats, metrics, the latest crash), resourceVersions and the container IDs
    of each run (a new crash is a new container) masked."""
    recent = snapshot.taken_at - timedelta(hours=1)

    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()
                    if k not in ("resourceVersion", "containerID")}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, str) and _TIMESTAMP.match(value) and \
                parse_time(value) >= recent:  # type: ignore[operator]
            return "<recent>"
        return value

    return {(key, o["metadata"].get("namespace", ""), name(o)): mask(o)
            for key, items in snapshot.collections.items() for o in items}


def test_week2_differs_exactly_as_intended(snap: Snapshot, week2: Snapshot) -> None:
    one, two = _by_identity(snap), _by_identity(week2)
    [old_flower] = pods_in(snap, "celery", component="flower")
    [new_flower] = pods_in(week2, "celery", component="flower")
    [checker] = pods_in(week2, "apps")

    def pod_and_events(snapshot: Snapshot, pod: Obj) -> set[tuple[str, str, str]]:
        namespace = pod["metadata"]["namespace"]
        rs = pod["metadata"]["ownerReferences"][0]["name"]
        events = {("events", namespace, name(e)) for e in snapshot.items("events")
                  if e["involvedObject"]["name"] in (name(pod), rs)
                  or e["involvedObject"]["kind"] == "Deployment"
                  and e["involvedObject"]["name"] == rs.rsplit("-", 1)[0]
                  and e["involvedObject"]["namespace"] == namespace}
        return {("pods", namespace, name(pod)), ("replicasets", namespace, rs)} | events

    removed, added = one.keys() - two.keys(), two.keys() - one.keys()
    assert removed == pod_and_events(snap, old_flower)
    assert added == pod_and_events(week2, new_flower) | pod_and_events(week2, checker) | {
        ("deployments", "apps", "link-checker")}

    volume = get(snap, "persistentvolumeclaims", "monitoring", "prometheus-db")["spec"][
        "volumeName"]
    changed = {k for k in one.keys() & two.keys() if one[k] != two[k]}
    assert changed == {
        ("deployments", "celery", "flower"), ("endpoints", "celery", "flower"),
        ("persistentvolumeclaims", "monitoring", "prometheus-db"),
        ("persistentvolumes", "", volume), ("longhornvolumes", "longhorn-system", volume),
        ("nodes", "", checker["spec"]["nodeName"]),  # now holds link-checker's image
    }


def test_week2_flower_fixed(week2: Snapshot) -> None:
    [pod] = pods_in(week2, "celery", component="flower")
    assert is_ready(pod) and main_status(pod)["restartCount"] == 0
    assert pod["spec"]["containers"][0]["livenessProbe"]["timeoutSeconds"] > 1
    assert get(week2, "deployments", "celery", "flower")["status"]["availableReplicas"] == 1
    [subset] = get(week2, "endpoints", "celery", "flower")["subsets"]
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == [name(pod)]
    assert "notReadyAddresses" not in subset
    assert not [e for e in week2.items("events") if e["involvedObject"]["namespace"] == "celery"
                and e["type"] == "Warning"]


def test_week2_new_crash_loop_and_bigger_prometheus(snap: Snapshot, week2: Snapshot) -> None:
    [pod] = pods_in(week2, "apps")
    status = main_status(pod)
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert reasons(week2, "Pod", "apps", name(pod))["BackOff"]["type"] == "Warning"
    assert week2.controller_of(pod).name == "link-checker"  # type: ignore[union-attr]

    claim = get(week2, "persistentvolumeclaims", "monitoring", "prometheus-db")
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["status"]["capacity"]["storage"] == "20Gi"
    pv_name = claim["spec"]["volumeName"]
    assert get(week2, "persistentvolumes", "", pv_name)["spec"]["capacity"]["storage"] == "20Gi"
    before = get(snap, "longhornvolumes", "longhorn-system", pv_name)["status"]["actualSize"]
    after = get(week2, "longhornvolumes", "longhorn-system", pv_name)
    assert after["spec"]["size"] == str(20 * 2**30) and after["status"]["actualSize"] > before


def test_week2_ages_advance_by_a_week(snap: Snapshot, week2: Snapshot) -> None:
    assert week2.taken_at == DEMO_NOW + timedelta(days=7)
    for key, namespace, obj_name in (("deployments", "redis", "redis"),
                                     ("nodes", "", "pi-master"),
                                     ("statefulsets", "databases", "postgresql-primary")):
        assert age(week2, get(week2, key, namespace, obj_name)) == \
            age(snap, get(snap, key, namespace, obj_name)) + timedelta(days=7)
