"""The fake's etcd: objects per resource, one global resourceVersion counter, a bounded event
history, and the watchers fed from it.

Every write bumps the counter, stamps the object's metadata.resourceVersion with it, appends
an ADDED/MODIFIED/DELETED event to the history and hands it to each watcher of that resource.
The history serves watches from an old resourceVersion and consistent list pages (a snapshot
at the list's resourceVersion is the current state with later events undone). Compaction (the
history's bound, or `compact()`) makes older versions unavailable: 410 Gone, like etcd.

Stored dicts are never changed in place: writes store new dicts, so events and list results
can share them with watchers and responses safely; `get` returns a copy.
"""

from __future__ import annotations

import contextlib
import copy
import queue
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .resources import RESOURCES, Resource
from .status import (
    EXPIRED_CONTINUE,
    already_exists,
    conflict,
    gone,
    invalid,
    not_found,
    precondition_failed,
)

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
DROPPED = object()  # queued to a watcher whose connection was cut


@dataclass(frozen=True, slots=True)
class Event:
    rv: int
    type: str
    resource: Resource
    obj: dict
    prev: dict | None = None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_of(obj: dict) -> Key:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def order_key(obj: dict) -> str:
    """Where an object sorts in a list: by its etcd key, `namespace/name`."""
    namespace, name = key_of(obj)
    return f"{namespace}/{name}" if namespace else name


def cut_socket(sock: socket.socket) -> None:
    """Shut a connection down both ways now; the peer sees it end mid-response."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Watcher:
    """One open watch: a queue of events for one resource, and the connection to cut."""

    def __init__(self, resource: Resource, rv: int) -> None:
        self.resource = resource
        self.last_rv = rv  # newest event seen, filtered or not: what a bookmark may promise
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._sock: socket.socket | None = None

    def attach(self, sock: socket.socket) -> None:
        self._sock = sock

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def next(self, timeout: float) -> Event | object | None:
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def drop(self) -> None:
        """Cut the connection mid-stream, without the final chunk, as a crashed server would."""
        if self._sock is not None:
            cut_socket(self._sock)
        self._queue.put(DROPPED)


class Store:
    def __init__(self, history: int = 10_000) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Resource, dict[Key, dict]] = {r: {} for r in RESOURCES}
        self._history: deque[Event] = deque(maxlen=history)
        self._rv = 0
        self._compacted = 0  # events at or below this resourceVersion are gone
        self._watchers: set[Watcher] = set()
        self._sorted: dict[Resource, tuple[int, list[dict]]] = {}  # key order, as of a version
        self._encodings: dict[Resource, dict[Key, tuple[dict, bytes]]] = {r: {} for r in RESOURCES}

    # -- reads ---------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._current(resource, (namespace or "", name)))

    def items(self, resource: Resource, at_rv: int | None = None) -> tuple[list[dict], int]:
        """All objects of `resource` in etcd key order, now or as of `at_rv`.

        The dicts are the stored ones, shared for speed: read them, never change them.
        """
        with self._lock:
            if at_rv is None or at_rv >= self._rv:
                return list(self._sorted_now(resource)), self._rv
            return sorted(self._snapshot(resource, at_rv).values(), key=order_key), at_rv

    def _sorted_now(self, resource: Resource) -> list[dict]:
        """The current objects in key order, sorted once per version: the pages of one list
        cost what they hold, not the whole collection again (as etcd range reads do)."""
        cached = self._sorted.get(resource)
        if cached is None or cached[0] != self._rv:
            cached = (self._rv, sorted(self._objects[resource].values(), key=order_key))
            self._sorted[resource] = cached
        return cached[1]

    def encoded(self, resource: Resource, obj: dict, encode: Callable[[dict], bytes]) -> bytes:
        """`encode(obj)`, kept while `obj` is the stored version: lists serve the same
        objects again and again (a watch cache relisting, kubectl, a benchmark)."""
        key = key_of(obj)
        kept = self._encodings[resource].get(key)
        if kept is not None and kept[0] is obj:
            return kept[1]
        data = encode(obj)
        if self._objects[resource].get(key) is obj:
            self._encodings[resource][key] = (obj, data)
        return data

    def groups(self) -> set[str]:
        with self._lock:
            return {r.group for r, objs in self._objects.items() if objs}

    def _current(self, resource: Resource, key: Key) -> dict:
        found = self._objects[resource].get(key)
        if found is None:
            raise not_found(resource, key[1])
        return found

    def _snapshot(self, resource: Resource, at_rv: int) -> dict[Key, dict]:
        if at_rv < self._compacted:
            raise gone(EXPIRED_CONTINUE)
        state = dict(self._objects[resource])
        for event in reversed(self._history):
            if event.rv <= at_rv:
                break
            if event.resource is not resource:
                continue
            if event.type == ADDED:
                state.pop(key_of(event.obj), None)
            else:
                state[key_of(event.obj)] = event.prev  # type: ignore[assignment]
        return state

    # -- writes --------------------------------------------------------------------------

    def create(self, resource: Resource, obj: dict) -> dict:
        with self._lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if not meta.get("name"):
                raise invalid(resource.kind, "", "metadata.name", "FieldValueRequired",
                              "Required value: name or generateName is required")
            if key_of(obj) in self._objects[resource]:
                raise already_exists(resource, meta["name"])
            obj.setdefault("apiVersion", resource.api_version)
            obj.setdefault("kind", resource.kind)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
            if resource.group and isinstance(obj.get("spec"), dict):
                meta.setdefault("generation", 1)
            return copy.deepcopy(self._commit(ADDED, resource, obj))

    def replace(self, resource: Resource, obj: dict, *, check_rv: bool = True
                ) -> tuple[dict, bool]:
        """PUT: (stored object, created?). `check_rv` False is the test-side unchecked update."""
        with self._lock:
            key = key_of(obj)
            if key not in self._objects[resource] and resource.create_on_update and check_rv:
                return self.create(resource, obj), True
            current = self._current(resource, key)
            if check_rv:
                self._check_update_rv(resource, current, obj)
            return self._update(resource, current, copy.deepcopy(obj)), False

    def mutate(self, resource: Resource, namespace: str | None, name: str,
               change: Callable[[dict], dict]) -> dict:
        """Read-modify-write under the lock (PATCH, subresources); `change` gets a copy."""
        with self._lock:
            current = self._current(resource, (namespace or "", name))
            new = change(copy.deepcopy(current))
            wanted = (new.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                raise conflict(resource, name)
            return self._update(resource, current, new)

    def delete(self, resource: Resource, namespace: str | None, name: str, *,
               uid: str | None = None, rv: str | None = None,
               propagation: str | None = None) -> dict:
        with self._lock:
            current = self._current(resource, (namespace or "", name))
            meta = current["metadata"]
            if uid and uid != meta.get("uid"):
                raise precondition_failed(resource, name, "UID", uid, meta.get("uid", ""))
            if rv and rv != meta.get("resourceVersion"):
                raise precondition_failed(resource, name, "ResourceVersion", rv,
                                          meta["resourceVersion"])
            if meta.get("finalizers"):
                return copy.deepcopy(self._mark_deleting(resource, current))
            policy = propagation or ("Orphan" if resource.orphan_by_default else "Background")
            return copy.deepcopy(self._remove(resource, current, policy))

    def compact(self, rv: int) -> None:
        with self._lock:
            self._compacted = max(self._compacted, rv)
            while self._history and self._history[0].rv <= self._compacted:
                self._history.popleft()

    def _check_update_rv(self, resource: Resource, current: dict, obj: dict) -> None:
        meta, name = obj.get("metadata") or {}, current["metadata"]["name"]
        wanted = meta.get("resourceVersion")
        if not wanted and not resource.unconditional_update:
            raise invalid(resource.qualified, name, "metadata.resourceVersion", "FieldValueInvalid",
                          "Invalid value: 0x0: must be specified for an update", resource)
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        if meta.get("uid") and meta["uid"] != current["metadata"]["uid"]:
            raise precondition_failed(resource, name, "UID", meta["uid"],
                                      current["metadata"]["uid"])

    def _update(self, resource: Resource, current: dict, new: dict) -> dict:
        """Write `new` over `current`, keeping what the server owns (uid, creation time)."""
        meta, old = new.setdefault("metadata", {}), current["metadata"]
        for field in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp"):
            if field in old:
                meta[field] = old[field]
            else:
                meta.pop(field, None)
        new["apiVersion"], new["kind"] = current["apiVersion"], current["kind"]
        if "generation" in old:
            changed = new.get("spec") != current.get("spec")
            meta["generation"] = old["generation"] + (1 if changed else 0)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return copy.deepcopy(self._remove(resource, new, "Background", prev=current))
        return copy.deepcopy(self._commit(MODIFIED, resource, new, current))

    def _mark_deleting(self, resource: Resource, current: dict) -> dict:
        if current["metadata"].get("deletionTimestamp"):
            return current
        new = copy.deepcopy(current)
        new["metadata"].update(deletionTimestamp=now(), deletionGracePeriodSeconds=0)
        return self._commit(MODIFIED, resource, new, current)

    def _remove(self, resource: Resource, obj: dict, policy: str, prev: dict | None = None
                ) -> dict:
        gone_obj = self._commit(DELETED, resource, copy.deepcopy(obj), prev or obj)
        uid = obj["metadata"].get("uid")
        for dep_resource, dependent in self._dependents(uid):
            if policy == "Orphan":
                self._orphan(dep_resource, dependent, uid)
            elif key_of(dependent) in self._objects[dep_resource]:
                self._remove(dep_resource, dependent, policy)
        return gone_obj

    def _dependents(self, uid: str | None) -> list[tuple[Resource, dict]]:
        return [(r, obj) for r, objs in self._objects.items() for obj in objs.values()
                if uid and any(ref.get("uid") == uid
                               for ref in obj["metadata"].get("ownerReferences") or ())]

    def _orphan(self, resource: Resource, obj: dict, owner_uid: str) -> None:
        new = copy.deepcopy(obj)
        refs = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != owner_uid]
        new["metadata"]["ownerReferences"] = refs
        if not refs:
            del new["metadata"]["ownerReferences"]
        self._commit(MODIFIED, resource, new, obj)

    def _commit(self, etype: str, resource: Resource, obj: dict, prev: dict | None = None) -> dict:
        """Bump the counter, store (or drop) `obj`, record the event and notify watchers."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        objects = self._objects[resource]
        self._encodings[resource].pop(key_of(obj), None)
        if etype == DELETED:
            objects.pop(key_of(obj), None)
        else:
            objects[key_of(obj)] = obj
        if len(self._history) == self._history.maxlen:
            self._compacted = max(self._compacted, self._history[0].rv)
        event = Event(self._rv, etype, resource, obj, prev)
        self._history.append(event)
        for watcher in self._watchers:
            if watcher.resource is resource:
                watcher.put(event)
        return obj

    # -- watches -------------------------------------------------------------------------

    def watch(self, resource: Resource, since: int | None) -> tuple[Watcher, list[Event]]:
        """Register a watcher; return it with the events it must send first.

        `since` None ("" or "0" on the wire) starts with the current objects as ADDED;
        otherwise every recorded event after `since`, or 410 when those are compacted away.
        """
        with self._lock:
            if since is None:
                objs = sorted(self._objects[resource].values(), key=order_key)
                initial = [Event(int(o["metadata"]["resourceVersion"]), ADDED, resource, o)
                           for o in objs]
            elif since < self._compacted:
                raise gone(f"too old resource version: {since} ({self._compacted})")
            else:
                initial = [e for e in self._history if e.rv > since and e.resource is resource]
            watcher = Watcher(resource, self._rv)
            self._watchers.add(watcher)
            return watcher, initial

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def drop_watchers(self) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.drop()
