"""Reading the demo cluster's objects in tests: names, lookups, pod state, events, ages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.cluster.snapshot import Snapshot
from bot.cluster.units import parse_time

Obj = dict[str, Any]


def name(o: Obj) -> str:
    return o["metadata"]["name"]


def get(snapshot: Snapshot, key: str, namespace: str, obj_name: str) -> Obj:
    found = snapshot.get(key, namespace, obj_name)
    assert found is not None, (key, namespace, obj_name)
    return found


def pods_in(snapshot: Snapshot, namespace: str, **labels: str) -> list[Obj]:
    return [p for p in snapshot.items("pods") if p["metadata"]["namespace"] == namespace
            and all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())]


def main_status(pod: Obj) -> Obj:
    return pod["status"]["containerStatuses"][0]


def is_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])


def reasons(snapshot: Snapshot, kind: str, namespace: str, obj_name: str) -> dict[str, Obj]:
    return {e["reason"]: e for e in snapshot.events_for(kind, namespace, obj_name)}


def age(snapshot: Snapshot, o: Obj) -> timedelta:
    created = parse_time(o["metadata"]["creationTimestamp"])
    assert created is not None
    return snapshot.taken_at - created
