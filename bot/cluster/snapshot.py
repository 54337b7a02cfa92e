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

from bot.cluster.fields import as_dict, text
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
                meta = as_dict(obj.get("metadata"))
                index[(key, text(meta.get("namespace")), text(meta.get("name")))] = obj
        return index

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        return self._by_name.get((key, namespace or "", name))

    @cached_property
    def _events_by_object(self) -> dict[tuple[str, str, str], list[Obj]]:
        index: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for event in self.items("events"):
            involved = as_dict(event.get("involvedObject"))
            ns = text(involved.get("namespace")) or text(
                as_dict(event.get("metadata")).get("namespace"))
            index[(text(involved.get("kind")), ns, text(involved.get("name")))].append(event)
        for events in index.values():
            events.sort(key=event_time)
        return dict(index)

    def events_for(self, kind: str, namespace: str, name: str) -> list[Obj]:
        """Events about one object, oldest first."""
        return self._events_by_object.get((kind, namespace or "", name), [])

    @cached_property
    def _pod_controllers(self) -> dict[int, tuple[Obj, ObjectRef | None]]:
        """Each pod's top-level controller, by the pod's identity (held here, so ids stay
        unique); reports and analyzers ask for it many times per pod."""
        return {id(pod): (pod, self._resolve_controller(pod)) for pod in self.items("pods")}

    @cached_property
    def _pods_by_owner(self) -> dict[tuple[str, str, str], list[Obj]]:
        index: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for pod, ref in self._pod_controllers.values():
            if ref is not None:
                index[(ref.kind, ref.namespace, ref.name)].append(pod)
        return dict(index)

    def pods_of(self, kind: str, namespace: str, name: str) -> list[Obj]:
        """Pods whose top-level controller is the given object (Deployment via ReplicaSet)."""
        return self._pods_by_owner.get((kind, namespace, name), [])

    @cached_property
    def _controllers(self) -> dict[tuple[str, str, str, str], ObjectRef]:
        """Top-level controllers resolved so far, by (namespace, kind, name, uid) of the
        direct owner: the pods of one ReplicaSet share one answer."""
        return {}

    def controller_of(self, obj: Obj) -> ObjectRef | None:
        """The top-level controller of an object: a pod's Deployment, a Job's CronJob, ...

        Malformed metadata or owner references read as "no controller", never as an error.
        """
        known = self._pod_controllers.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        return self._resolve_controller(obj)

    def _resolve_controller(self, obj: Obj) -> ObjectRef | None:
        meta = as_dict(obj.get("metadata"))
        owner = _controller_ref(meta)
        if owner is None:
            return None
        namespace = text(meta.get("namespace"))
        key = (namespace, *owner)
        if key not in self._controllers:
            self._controllers[key] = self._top_controller(namespace, owner, frozenset())
        return self._controllers[key]

    def _top_controller(self, namespace: str, owner: tuple[str, str, str],
                        seen: frozenset[tuple[str, str]]) -> ObjectRef:
        kind, name, uid = owner
        parent_key = {"ReplicaSet": "replicasets", "Job": "jobs"}.get(kind)
        if parent_key and (kind, name) not in seen:  # `seen` stops an ownership cycle
            parent = self.get(parent_key, namespace, name)
            grand = _controller_ref(as_dict(parent.get("metadata"))) if parent is not None else None
            if grand is not None:
                return self._top_controller(namespace, grand, seen | {(kind, name)})
            if parent is None and kind == "ReplicaSet" and "-" in name:
                # The ReplicaSet was not captured: its name is "<deployment>-<hash>".
                return ObjectRef("Deployment", name.rsplit("-", 1)[0], namespace)
        return ObjectRef(kind, name, namespace, uid)


def _controller_ref(meta: Obj) -> tuple[str, str, str] | None:
    """(kind, name, uid) of the owner marked controller, else of the first owner."""
    owners = meta.get("ownerReferences")
    chosen = None
    for owner in owners if isinstance(owners, list) else ():
        if isinstance(owner, dict):
            if owner.get("controller"):
                chosen = owner
                break
            chosen = chosen or owner
    if chosen is None:
        return None
    kind, name = text(chosen.get("kind")), text(chosen.get("name"))
    return (kind, name, text(chosen.get("uid"))) if kind and name else None


def event_time(event: Obj) -> str:
    """The most recent timestamp an event carries, as an ISO string (sorts correctly)."""
    stamps = (as_dict(event.get("series")).get("lastObservedTime"), event.get("lastTimestamp"),
              event.get("eventTime"), event.get("firstTimestamp"),
              as_dict(event.get("metadata")).get("creationTimestamp"))
    return next((stamp for stamp in stamps if isinstance(stamp, str) and stamp), "")


# Snapshot objects may be malformed (a hand-edited dump, a future API version): the lookups
# read a wrongly typed field as empty rather than raising.

