"""The watch cache: one LIST+WATCH per kind, so a command answers from memory, not the API.

Like client-go's reflector, each kind has a thread that lists it (paged and trimmed, live.py),
then watches from the list's resourceVersion with bookmarks. A watch the server ends is resumed
from the last version seen; `410 Gone` relists; a lost connection is retried with jittered
exponential backoff, resuming from the same version so nothing is missed. metrics.k8s.io cannot
be watched: it is polled. An add-on API that is absent or forbidden is noted and looked for
again now and then.

`snapshot()` never calls the API. It hands out the same Snapshot object until an object changes,
the freshness changes or it is a minute old (commands.Context reuses its diagnosis per snapshot,
so a warm command costs neither a request nor a re-analysis). When the API server is gone the
cache keeps answering with what it holds, marked stale: "API server unreachable since 10:42 UTC"
and the time it was last current, which the report turns into "data is 4 min old: ...".
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.cluster.client import (
    UNREACHABLE,
    ConnectOptions,
    KubeClient,
    KubeError,
    Unreachable,
    WatchStream,
)
from bot.cluster.discovery import accept_for, collection_path, qualified_name
from bot.cluster.kinds import KINDS, KindInfo
from bot.cluster.live import PAGE_SIZE, Listed, read_kind, source_name
from bot.cluster.sharing import Sharer
from bot.cluster.snapshot import Obj, Snapshot
from bot.cluster.source import SourceError, SourceStatus
from bot.cluster.trim import trim_object

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_POLLED_GROUPS = frozenset({"metrics.k8s.io"})  # aggregated APIs without watch


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CacheTiming:
    """Every interval of the cache, in seconds; tests shrink them."""

    watch_seconds: float = 300.0  # a watch asks the server to end it after 1-2x this
    poll_seconds: float = 60.0  # metrics.k8s.io is listed this often
    recheck_seconds: float = 300.0  # an absent or forbidden API is looked for again
    backoff_base: float = 0.5  # first retry after a failure, doubled up to backoff_cap
    backoff_cap: float = 30.0
    snapshot_max_age: float = 60.0  # a snapshot older than this is rebuilt (ages in replies)
    # How long snapshot() waits for the first sync (None: the client's timeout).
    sync_wait: float | None = None


@dataclass(eq=False)
class _Kind:
    """One kind's share of the cache; written by its thread, read under the cache lock."""

    info: KindInfo
    objects: dict[tuple[str, str], Obj] = field(default_factory=dict)
    resource_version: str = ""
    need_list: bool = True
    synced: bool = False  # listed once, or known to be absent
    absent: str | None = None
    failing_since: datetime | None = None
    error: str = ""
    unreachable: bool = False
    stream: WatchStream | None = None
    sharer: Sharer = field(default_factory=Sharer)
    watch_denied_at: datetime | None = None  # RBAC lets us list the kind but not watch it

    @property
    def polled(self) -> bool:
        return self.info.group in _POLLED_GROUPS or self.watch_denied_at is not None


class _Relist(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


class WatchCache:
    """A ClusterSource over a LIST+WATCH per kind: `start()`, then `snapshot()` per command."""

    def __init__(self, client: KubeClient, *, cluster: str = "cluster",
                 timing: CacheTiming | None = None, clock: Clock = utc_now,
                 rand: random.Random | None = None, kinds: Iterable[KindInfo] = KINDS,
                 page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._cluster = cluster
        self._timing = timing or CacheTiming()
        self._clock = clock
        self._rand = rand or random.Random()
        self._page_size = page_size
        self._kinds = [_Kind(info) for info in kinds]
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._generation = 0  # bumped on every change of an object
        self._api_errors = 0
        self._frozen = False
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple[int, str] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> WatchCache:
        for kind in self._kinds:
            thread = threading.Thread(target=self._run, args=(kind,), daemon=True,
                                      name=f"watch-{kind.info.key}")
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._lock:
            streams = [k.stream for k in self._kinds if k.stream is not None]
        for stream in streams:
            stream.close()
        for thread in self._threads:
            thread.join(timeout)
        self._client.close()

    def __enter__(self) -> WatchCache:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_synced(self, timeout: float | None) -> bool:
        """Wait until every kind has been read once; False when `timeout` passed first."""
        with self._lock:
            return self._lock.wait_for(self._all_synced, timeout)

    # -- what commands read --------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The cluster as cached; the same object while nothing changed. No API call."""
        wait = self._timing.sync_wait
        with self._lock:
            if not self._lock.wait_for(self._all_synced,
                                       self._client.timeout if wait is None else wait):
                raise self._not_synced()
            now = self._clock()
            stale, synced_at = self._freshness()
            key = (self._generation, stale)
            cached = self._snapshot
            if cached is not None and self._snapshot_key == key and (
                    now - cached.taken_at).total_seconds() < self._timing.snapshot_max_age:
                return cached
            self._snapshot = Snapshot.build(
                {k.info.key: tuple(k.objects.values()) for k in self._kinds if not k.absent},
                trimmed=True, taken_at=now, source=source_name(self._client),
                cluster=self._cluster, stale=stale, synced_at=synced_at,
                absent={k.info.key: k.absent for k in self._kinds if k.absent})
            self._snapshot_key = key
            return self._snapshot

    def status(self) -> SourceStatus:
        with self._lock:
            _, synced_at = self._freshness()
            age = (self._clock() - synced_at).total_seconds() if synced_at else 0.0
            errors = [k.error for k in self._kinds if k.failing_since is not None]
            return SourceStatus(synced=self._all_synced(), age_seconds=max(age, 0.0),
                                last_error=errors[0] if errors else "",
                                api_errors=self._api_errors)

    def watching(self) -> set[str]:
        """The kinds with a watch open now (the rest are listing, polled, absent or failing)."""
        with self._lock:
            return {k.info.key for k in self._kinds if k.stream is not None}

    def _all_synced(self) -> bool:
        return all(k.synced for k in self._kinds)

    def _freshness(self) -> tuple[str, datetime | None]:
        """Why the data may be behind ("" when it is current), and since when."""
        failing = [k for k in self._kinds if k.failing_since is not None]
        if not failing:
            return "", None
        since = min(k.failing_since for k in failing if k.failing_since is not None)
        at = f"{since:%H:%M %Z}".strip()
        if any(k.unreachable for k in failing):
            return f"API server unreachable since {at}", since
        names = ", ".join(qualified_name(k.info) for k in failing)
        return f"reading {names} failing since {at}: {failing[0].error}", since

    def _not_synced(self) -> SourceError:
        failing = [k for k in self._kinds if not k.synced and k.error]
        if any(k.unreachable for k in failing):
            error = next(k.error for k in failing if k.unreachable)
            return Unreachable(f"no answer yet: {error.removeprefix(UNREACHABLE).strip()}")
        waiting = ", ".join(qualified_name(k.info) for k in self._kinds if not k.synced)
        why = f" ({failing[0].error})" if failing else ""
        return SourceError(f"still reading the cluster: {waiting} not listed yet{why}")

    # -- one thread per kind -------------------------------------------------------------

    def _run(self, kind: _Kind) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                pause = self._step(kind)
                attempt = 0
            except _Relist:
                pause = 0.0
                kind.need_list = True
            except Exception as error:  # noqa: BLE001 - the thread must outlive any failure
                if self._stopping.is_set():
                    return  # stop() cut the watch
                if not isinstance(error, SourceError | KubeError):
                    log.exception("watch of %s failed", qualified_name(kind.info))
                attempt += 1
                pause = self._failed(kind, error, attempt)
            if pause:
                self._stopping.wait(pause)

    def _step(self, kind: _Kind) -> float:
        """List if needed, then watch until the stream ends; returns how long to wait next."""
        self._retry_denied_watch(kind)
        if kind.need_list:
            found = read_kind(self._client, kind.info, page_size=self._page_size,
                              sharer=kind.sharer)
            if not isinstance(found, Listed):
                self._set_absent(kind, found)
                return self._timing.recheck_seconds
            self._replace(kind, found)
            if kind.polled:
                return self._timing.poll_seconds
        return self._watch(kind)

    def _watch(self, kind: _Kind) -> float:
        """Follow the kind's changes until the stream ends: 0 s to the next step, or (when
        watching is forbidden) the polling interval."""
        seconds = int(self._timing.watch_seconds * self._rand.uniform(1.0, 2.0)) or 1
        query = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": seconds,
                 "resourceVersion": kind.resource_version}
        try:
            stream = self._client.stream(collection_path(kind.info), query,
                                         read_timeout=seconds + 30,
                                         accept=accept_for(kind.info))
        except KubeError as error:
            if error.status == 410:
                raise _Relist from None
            if error.status == 403:
                return self._deny_watch(kind, error)
            raise
        with self._lock:
            kind.stream = stream
            self._recovered(kind)
        try:
            if not self._stopping.is_set():  # else stop() may have missed this stream
                for line in stream:
                    self._apply(kind, _decode(line))
                    if self._stopping.is_set():
                        break
            return 0.0
        finally:
            with self._lock:
                kind.stream = None
            stream.close()

    def _apply(self, kind: _Kind, event: dict[str, Any]) -> None:
        etype, obj = event.get("type"), event.get("object")
        if not isinstance(obj, dict):
            return
        if etype == "ERROR":
            if obj.get("code") == 410:
                raise _Relist
            raise KubeError(int(obj.get("code") or 500), str(obj.get("reason") or "Error"),
                            str(obj.get("message") or ""))
        version = str((obj.get("metadata") or {}).get("resourceVersion")
                      or kind.resource_version)
        key = _key(obj)
        trimmed = kind.sharer.share(trim_object(kind.info.key, obj)) if etype in (
            "ADDED", "MODIFIED") else None
        with self._lock:
            kind.resource_version = version
            if trimmed is not None:
                kind.objects[key] = trimmed
                self._generation += 1
            elif etype == "DELETED" and kind.objects.pop(key, None) is not None:
                self._generation += 1

    def _deny_watch(self, kind: _Kind, error: KubeError) -> float:
        """Watching is forbidden where listing is allowed (a hand-written Role): relist the
        kind every poll interval instead, and try watching again now and then."""
        if kind.watch_denied_at is None:
            log.warning("no permission to watch %s (%s): relisting it every %.0f s",
                        qualified_name(kind.info), error.message, self._timing.poll_seconds)
        with self._lock:
            kind.watch_denied_at = self._clock()
            kind.need_list = True
            self._recovered(kind)
        return self._timing.poll_seconds

    def _retry_denied_watch(self, kind: _Kind) -> None:
        denied_at = kind.watch_denied_at
        if denied_at is not None and (
                self._clock() - denied_at).total_seconds() >= self._timing.recheck_seconds:
            kind.watch_denied_at = None  # listed once more, then watched if RBAC allows now

    # -- state changes, under the lock ---------------------------------------------------

    def _replace(self, kind: _Kind, listed: Listed) -> None:
        objects = {_key(obj): obj for obj in listed.items}
        with self._lock:
            kind.objects = objects
            kind.resource_version = listed.resource_version
            kind.need_list = kind.polled
            kind.absent = None
            self._generation += 1
            self._mark_synced(kind)
            self._recovered(kind)

    def _set_absent(self, kind: _Kind, reason: str) -> None:
        with self._lock:
            if kind.absent != reason or kind.objects:
                self._generation += 1
            kind.objects, kind.absent = {}, reason
            self._mark_synced(kind)
            self._recovered(kind)

    def _mark_synced(self, kind: _Kind) -> None:
        kind.synced = True
        if not self._frozen and self._all_synced():
            self._frozen = True
            gc.freeze()  # the initial lists are long-lived: keep them out of every collection
            _release_free_memory()
        self._lock.notify_all()

    def _recovered(self, kind: _Kind) -> None:
        if kind.failing_since is not None:
            log.info("reading %s works again", qualified_name(kind.info))
        kind.failing_since, kind.error, kind.unreachable = None, "", False

    def _failed(self, kind: _Kind, error: Exception, attempt: int) -> float:
        """Record a failure; returns the jittered exponential backoff before the next try."""
        with self._lock:
            self._api_errors += 1
            if kind.failing_since is None:
                kind.failing_since = self._clock()
                log.warning("reading %s failed, retrying: %s", qualified_name(kind.info), error)
            kind.error = str(error)
            kind.unreachable = isinstance(error, Unreachable)
            self._lock.notify_all()
        return backoff_seconds(attempt, self._timing, self._rand)


def backoff_seconds(attempt: int, timing: CacheTiming, rand: random.Random) -> float:
    """Exponential backoff with jitter: retries of many threads (and replicas) spread out."""
    ceiling = min(timing.backoff_cap, timing.backoff_base * 2 ** (attempt - 1))
    return ceiling * rand.uniform(0.5, 1.0)


def watch_cluster(options: ConnectOptions, *, cluster: str = "cluster",
                  timing: CacheTiming | None = None) -> WatchCache:
    """Connect like kubectl and start caching the cluster (the long-running bot)."""
    return WatchCache(KubeClient.connect(options), cluster=cluster, timing=timing).start()


def _release_free_memory() -> None:
    """Give the heap the initial lists left free back to the system: glibc keeps it for
    reuse otherwise, and a Pi's RSS would stay at the sync's peak."""
    with contextlib.suppress(AttributeError, OSError):  # not glibc (musl, macOS): no-op
        ctypes.CDLL(None).malloc_trim(0)


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _decode(line: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise SourceError(f"undecodable watch event: {error}") from None
    return event if isinstance(event, dict) else {}
