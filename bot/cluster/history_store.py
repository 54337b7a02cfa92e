"""Where the weekly reports' history lives: the `clusterbot-history` ConfigMap, or a local file.

The weekly report says what changed since the last one, so a compact summary of each report
must survive restarts and be shared by every replica, without a database: it is JSON in one
ConfigMap in the bot's namespace. Beside the summaries it keeps the scheduled time of the last
report claimed, so a report is never posted twice, across replicas and restarts alike.

Writes are read-modify-write with the resourceVersion that was read (409 Conflict: read again
and retry), and every write is trimmed to the last 12 weeks and to a size well below the 1 MiB
a ConfigMap can hold. The summaries are opaque dicts here (the report layer gives them their
meaning); each carries its time in `at`. `FileHistory` keeps the same document in a file, for
snapshots and dumps read without a cluster.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from bot.cluster.client import KubeClient, KubeError
from bot.cluster.units import parse_time

log = logging.getLogger(__name__)

CONFIGMAP = "clusterbot-history"
DATA_KEY = "history.json"
KEEP_WEEKS = 12
MAX_BYTES = 768 * 1024  # a ConfigMap holds 1 MiB; leave room for metadata and a week's growth
CONFLICT_RETRIES = 5

Entry = dict[str, Any]


class HistoryError(Exception):
    """The history could not be written (too large, or lost every race); the message says why."""


@dataclass(frozen=True)
class History:
    entries: tuple[Entry, ...] = ()  # report summaries, oldest first; each has "at"
    last_run: str = ""  # RFC 3339 UTC time of the last scheduled report claimed

    def last_run_time(self) -> datetime | None:
        return parse_time(self.last_run)


def encode(history: History) -> str:
    document = {"lastRun": history.last_run, "entries": list(history.entries)}
    return orjson.dumps(document).decode()


def decode(text: str, where: str) -> History:
    """The stored document; an unreadable one is reported and treated as empty (it is ours
    and will be rewritten), so a corrupt history costs one week's comparison, not the report."""
    try:
        document = orjson.loads(text)
        entries = tuple(e for e in document.get("entries") or () if isinstance(e, dict))
        return History(entries, str(document.get("lastRun") or ""))
    except (orjson.JSONDecodeError, AttributeError, TypeError) as error:
        log.warning("%s: unreadable history, starting afresh: %s", where, error)
        return History()


def trimmed(history: History, max_bytes: int = MAX_BYTES) -> History:
    """The last KEEP_WEEKS weeks (and at most that many entries), oldest dropped first until
    the document fits in `max_bytes`."""
    entries = list(history.entries[-KEEP_WEEKS:])
    newest = parse_time(entries[-1].get("at")) if entries else None
    if newest is not None:
        cutoff = newest - timedelta(weeks=KEEP_WEEKS)
        entries = [e for e in entries if (parse_time(e.get("at")) or newest) > cutoff]
    kept = replace(history, entries=tuple(entries))
    while len(encode(kept).encode()) > max_bytes:
        if len(kept.entries) <= 1:
            raise HistoryError(f"one report summary is larger than {max_bytes} bytes")
        kept = replace(kept, entries=kept.entries[1:])
    return kept


Change = Callable[[History], History | None]


class HistoryStore(Protocol):
    def load(self) -> History: ...

    def update(self, change: Change) -> History | None:
        """Apply `change` to the stored history atomically; None from it writes nothing."""
        ...


class ConfigMapHistory:
    """The history in a ConfigMap, shared by replicas; writes use optimistic concurrency."""

    def __init__(self, client: KubeClient, namespace: str, name: str = CONFIGMAP,
                 max_bytes: int = MAX_BYTES) -> None:
        self._client = client
        self._collection = f"/api/v1/namespaces/{namespace}/configmaps"
        self.namespace, self.name, self.max_bytes = namespace, name, max_bytes

    def load(self) -> History:
        return self._read()[0]

    def update(self, change: Change) -> History | None:
        for _ in range(CONFLICT_RETRIES):
            current, configmap = self._read()
            wanted = change(current)
            if wanted is None:
                return None
            wanted = trimmed(wanted, self.max_bytes)
            try:
                self._write(configmap, wanted)
            except KubeError as error:
                if error.status == 409:  # another replica wrote first: read again
                    continue
                raise
            return wanted
        raise HistoryError(f"ConfigMap {self.namespace}/{self.name} kept changing under "
                           f"{CONFLICT_RETRIES} attempts to write it")

    def _read(self) -> tuple[History, dict[str, Any] | None]:
        try:
            configmap = self._client.request("GET", f"{self._collection}/{self.name}")
        except KubeError as error:
            if error.status == 404:
                return History(), None
            raise
        text = ((configmap or {}).get("data") or {}).get(DATA_KEY) or "{}"
        return decode(text, f"ConfigMap {self.namespace}/{self.name}"), configmap

    def _write(self, configmap: dict[str, Any] | None, history: History) -> None:
        data = {DATA_KEY: encode(history)}
        if configmap is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "data": data, "metadata": {
                "name": self.name, "namespace": self.namespace,
                "labels": {"app.kubernetes.io/name": "clusterbot",
                           "app.kubernetes.io/component": "report-history"}}}
            self._client.request("POST", self._collection, body=body)
        else:  # carries the resourceVersion read: 409 if it moved on
            self._client.request("PUT", f"{self._collection}/{self.name}",
                                 body={**configmap, "data": data})


class FileHistory:
    """The same document in a local file (`clusterbot report --history FILE`)."""

    def __init__(self, path: str | Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes

    def load(self) -> History:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return History()
        except OSError as error:
            raise HistoryError(f"{self.path}: {error.strerror or error}") from None
        return decode(text, str(self.path))

    def update(self, change: Change) -> History | None:
        wanted = change(self.load())
        if wanted is None:
            return None
        wanted = trimmed(wanted, self.max_bytes)
        partial = self.path.with_name(f".{self.path.name}.partial")
        try:
            partial.write_text(encode(wanted))
            os.replace(partial, self.path)
        except OSError as error:
            raise HistoryError(f"{self.path}: {error.strerror or error}") from None
        return wanted


class MemoryHistory:
    """History held in this process only: a bot without a cluster API (`serve --demo`)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._history = History()
        self.max_bytes = max_bytes

    def load(self) -> History:
        return self._history

    def update(self, change: Change) -> History | None:
        wanted = change(self._history)
        if wanted is None:
            return None
        self._history = trimmed(wanted, self.max_bytes)
        return self._history


@dataclass(frozen=True)
class Claim:
    """A scheduled report this replica took, and the mark it replaced (to undo the claim)."""

    run: datetime
    previous: str


def claim_run(store: HistoryStore, run: datetime) -> Claim | None:
    """Mark the report scheduled for `run` as taken; None when it (or a later one) already
    was, by this replica or another, before or after a restart."""
    replaced: list[str] = []

    def claim(history: History) -> History | None:
        last = history.last_run_time()
        if last is not None and last >= run:
            return None
        replaced[:] = [history.last_run]
        return replace(history, last_run=run.astimezone(UTC).isoformat())

    return Claim(run, replaced[0]) if store.update(claim) is not None else None


def release_run(store: HistoryStore, claim: Claim) -> None:
    """Undo a claim nothing was posted for, so the run can be tried again (here or by the
    next leader); a later run claimed since stays."""
    def release(history: History) -> History | None:
        if history.last_run_time() != claim.run:
            return None
        return replace(history, last_run=claim.previous)

    store.update(release)


def append_entry(store: HistoryStore, entry: Entry) -> History | None:
    """Add one report summary (it must carry its time in "at"); the store trims."""
    return store.update(lambda h: replace(h, entries=(*h.entries, entry)))
