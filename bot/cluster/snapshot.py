"""The cluster at one instant: trimmed raw API dicts per kind, plus cheap lookups over them.

Every source (demo cluster, kubectl dump, live watch cache) produces a `Snapshot`, and every
consumer (analyzers, reports, commands) reads only this. Objects are plain dicts as the API
returns them, trimmed to what is read (see `trim.py`); an optional API that is missing or
forbidden is recorded in `absent` with the reason, never raised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from bot.cluster.kinds import BY_KEY, KINDS
from bot.cluster.trim import trim_object
from bot.models import ObjectRef

Obj = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Frozen view of the cluster; build it with `Snapshot.build()` so objects get trimmed."""

    collections: Mapping[str, tuple[Obj, ...]]
    taken_at: datetime
    source: str = ""
    cluster: str = "cluster"
    absent: Mapping[str, str] = field(default_factory=dict)
    # Freshness, for a live source that lost the API server: why the data may be behind
    # ("API server unreachable since 10:42 UTC") and when it was last known current.
    stale: str = ""
    synced_at: datetime | None = None  # None: current as of taken_at

    @classmethod
    def build(
        cls,
        objects: Mapping[str, Iterable[Obj]],
        *,
        taken_at: datetime | None = None,
        source: str = "",
        cluster: str = "cluster",
        absent: Mapping[str, str] | None = None,
        trimmed: bool = False,
        stale: str = "",
        synced_at: datetime | None = None,
    ) -> Snapshot:
        """Make a snapshot from raw objects per collection key (untrimmed unless `trimmed`)."""
        unknown = set(objects) - set(BY_KEY)
        if unknown:
            raise ValueError(f"unknown collections: {', '.join(sorted(unknown))}")
        collections = {
            key: tuple(o if trimmed else trim_object(key, o) for o in items if isinstance(o, dict))
            for key, items in objects.items()
        }
        missing = dict(absent or {})
        for info in KINDS:
            if info.optional and info.key not in collections:
                missing.setdefault(info.key, "not installed")
        return cls(
            collections=collections,
            taken_at=taken_at or datetime.now(UTC),
            source=source,
            cluster=cluster,
            absent=missing,
            stale=stale,
            synced_at=synced_at,
        )

    # -- access ---------------------------------------------------------------------------

    def items(self, key: str) -> tuple[Obj, ...]:
        return self.collections.get(key, ())

    def has(self, key: str) -> bool:
        """True when the collection was read (it may still be empty)."""
        return key in self.collections and key not in self.absent

    def count(self) -> int:
        return sum(len(v) for v in self.collections.values())

    def data_age(self, now: datetime) -> float:
        """Seconds between when the data was last known current and `now`."""
        return max(0.0, (now - (self.synced_at or self.taken_at)).total_seconds())

    # -- lookups the analyzers share -------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[tuple[str, str, str], Obj]:
        index: dict[tuple[str, str, str], Obj] = {}
        for key, items in self.collections.items():
            for obj in items:
                meta = obj.get("metadata") or {}
                index[(key, meta.get("namespace") or "", meta.get("name") or "")] = obj
        return index

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        return self._by_name.get((key, namespace or "", name))

    @cached_property
    def _events_by_object(self) -> dict[tuple[str, str, str], list[Obj]]:
        index: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for event in self.items("events"):
            involved = event.get("involvedObject") or {}
            ns = involved.get("namespace") or (event.get("metadata") or {}).get("namespace", "")
            index[(involved.get("kind", ""), ns or "", involved.get("name", ""))].append(event)
        for events in index.values():
            events.sort(key=event_time)
        return dict(index)

    def events_for(self, kind: str, namespace: str, name: str) -> list[Obj]:
        """Events about one object, oldest first."""
        return self._events_by_object.get((kind, namespace or "", name), [])

    @cached_property
    def _pods_by_owner(self) -> dict[tuple[str, str, str], list[Obj]]:
        index: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for pod in self.items("pods"):
            ref = self.controller_of(pod)
            if ref is not None:
                index[(ref.kind, ref.namespace, ref.name)].append(pod)
        return dict(index)

    def pods_of(self, kind: str, namespace: str, name: str) -> list[Obj]:
        """Pods whose top-level controller is the given object (Deployment via ReplicaSet)."""
        return self._pods_by_owner.get((kind, namespace, name), [])

    def controller_of(self, obj: Obj) -> ObjectRef | None:
        """The top-level controller of an object: a pod's Deployment, a Job's CronJob, ..."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        owner = _controller_ref(meta)
        if owner is None:
            return None
        kind, name, uid = owner
        parent_key = {"ReplicaSet": "replicasets", "Job": "jobs"}.get(kind)
        if parent_key:
            parent = self.get(parent_key, namespace, name)
            if parent is not None:
                grand = self.controller_of(parent)
                if grand is not None:
                    return grand
            elif kind == "ReplicaSet" and "-" in name:
                # The ReplicaSet was not captured: its name is "<deployment>-<hash>".
                return ObjectRef("Deployment", name.rsplit("-", 1)[0], namespace)
        return ObjectRef(kind, name, namespace, uid)


def _controller_ref(meta: Obj) -> tuple[str, str, str] | None:
    owners = meta.get("ownerReferences") or []
    chosen = next((o for o in owners if isinstance(o, dict) and o.get("controller")), None)
    if chosen is None and owners and isinstance(owners[0], dict):
        chosen = owners[0]
    if not chosen or not chosen.get("kind") or not chosen.get("name"):
        return None
    return chosen["kind"], chosen["name"], chosen.get("uid", "")


def event_time(event: Obj) -> str:
    """The most recent timestamp an event carries, as an ISO string (sorts correctly)."""
    series = event.get("series") or {}
    return (
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
