"""Read a live cluster: a paged, trimmed LIST of every kind, raw JSON on the KubeClient.

The one-shot CLI (`clusterbot health --kubeconfig F`) reads the cluster this way, and the watch
cache (watch.py) lists the same way before it watches. Lists come in pages (`limit`/`continue`),
each decoded straight into the fields the analyzers read (decode.py) and its parts shared with
equal ones (sharing.py), while the next page is already being fetched; the garbage collector
rests meanwhile. Pages are small (100 objects): what is kept is allocated among what a page
throws away, and 5,000 synthetic pods (~12 MB of objects kept) left 34 MB more RSS with
500-object pages, 16 MB with 100. The one-shot read lists four kinds at once. Never a
kubernetes model object: those cost ten times the JSON's time and memory.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.cluster.client import ConnectOptions, KubeClient, KubeError, Unreachable
from bot.cluster.decode import DecodeError, decode_list
from bot.cluster.discovery import (
    NOT_INSTALLED,
    absence_reason,
    accept_for,
    collection_path,
    is_served,
    qualified_name,
)
from bot.cluster.kinds import KINDS, KindInfo
from bot.cluster.sharing import Sharer
from bot.cluster.snapshot import Obj, Snapshot
from bot.cluster.source import SourceError

PAGE_SIZE = 100
_LIST_ATTEMPTS = 3  # a long list can outlive its continue token (410 Expired): start over
_CONTINUE = re.compile(rb'"continue"\s*:\s*"([^"\\]+)"')
_HEAD = 4096  # bytes of a page that hold the list's metadata
_KINDS_AT_ONCE = 4  # the one-shot read's concurrent lists: round trips overlap, RSS stays low


@dataclass(frozen=True)
class Listed:
    items: list[Obj]  # trimmed, in the API's order
    resource_version: str  # where a watch of the kind resumes


def read_cluster(options: ConnectOptions, *, cluster: str = "cluster") -> Snapshot:
    """Connect like kubectl and read every kind once (the one-shot CLI)."""
    client = KubeClient.connect(options)
    try:
        return read_snapshot(client, cluster=cluster)
    finally:
        client.close()


def read_snapshot(client: KubeClient, *, cluster: str = "cluster",
                  kinds: Iterable[KindInfo] = KINDS, page_size: int = PAGE_SIZE) -> Snapshot:
    """One paged LIST per kind, a few kinds at once, no watch; an add-on or forbidden kind is
    noted as absent. The first failure stops the read (kinds not started are not listed)."""
    collections: dict[str, list[Obj]] = {}
    absent: dict[str, str] = {}
    failed = threading.Event()  # kinds not started by then are not read: no second timeout

    def read(info: KindInfo) -> Listed | str | None:
        if failed.is_set():
            return None
        try:
            return read_kind(client, info, page_size=page_size)
        except Exception:
            failed.set()
            raise

    with ThreadPoolExecutor(_KINDS_AT_ONCE) as pool:
        reads = {info.key: pool.submit(read, info) for info in kinds}
        for key, found in ((key, future.result()) for key, future in reads.items()):
            if isinstance(found, Listed):
                collections[key] = found.items
            elif found is not None:
                absent[key] = found
    return Snapshot.build(collections, trimmed=True, source=source_name(client),
                          cluster=cluster, absent=absent)


def source_name(client: KubeClient) -> str:
    return f"Kubernetes API {client.host}"


def read_kind(client: KubeClient, info: KindInfo, *, page_size: int = PAGE_SIZE,
              sharer: Sharer | None = None) -> Listed | str:
    """The kind's objects, or why it is absent ("not installed", "no permission to read X").

    Raises `Unreachable` when the API server does not answer or keeps failing (5xx, 429),
    `SourceError` for any other refusal (401 bad credentials, 400...).
    """
    try:
        if not is_served(client, info):
            return NOT_INSTALLED
        return list_kind(client, info, page_size=page_size, sharer=sharer)
    except KubeError as error:
        reason = absence_reason(info, error)
        if reason is not None:
            return reason
        raise list_failure(info, error) from None


def list_failure(info: KindInfo, error: KubeError) -> SourceError:
    """The error to raise for a kind that could not be listed."""
    message = f"cannot list {qualified_name(info)}: {error}"
    return Unreachable(message) if error.status >= 500 or error.status == 429 else \
        SourceError(message)


def list_kind(client: KubeClient, info: KindInfo, *, page_size: int = PAGE_SIZE,
              sharer: Sharer | None = None) -> Listed:
    """A complete, consistent list of the kind, trimmed (and its parts shared) page by page."""
    for attempt in range(1, _LIST_ATTEMPTS + 1):
        try:
            return _list_pages(client, info, page_size,
                               sharer if sharer is not None else Sharer())
        except KubeError as error:
            if error.status != 410 or attempt == _LIST_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _list_pages(client: KubeClient, info: KindInfo, page_size: int, sharer: Sharer) -> Listed:
    """Fetch page N+1 while page N is decoded: the server's time to make a page and ours to
    read it overlap. The next page's continue token is read from the head of the raw page
    (a list's metadata comes before its items) and checked once the page is decoded."""
    path, accept = collection_path(info), accept_for(info)
    items: list[Obj] = []
    with _gc_paused_while_listing(), ThreadPoolExecutor(1) as ahead:
        body = client.request_bytes(path, query={"limit": page_size}, accept=accept)
        while True:
            guess = _continue_token(body)
            upcoming = _fetch_ahead(ahead, client, path, accept, {
                "limit": page_size, "continue": guess}) if guess else None
            try:
                objects, meta = decode_list(info.key, body)
            except DecodeError as error:
                raise SourceError(f"{path}: the API answered with invalid JSON ({error})"
                                  ) from None
            del body  # the raw page goes before the next one comes: that bounds the peak
            items.extend(sharer.share(obj) for obj in objects)
            token = meta.get("continue")
            if not token:
                return Listed(items, str(meta.get("resourceVersion") or ""))
            body = upcoming.result() if upcoming is not None and token == guess else \
                client.request_bytes(path, accept=accept,
                                     query={"limit": page_size, "continue": token})


def _fetch_ahead(ahead: ThreadPoolExecutor, client: KubeClient, path: str, accept: str,
                 query: dict[str, Any]) -> Future[bytes]:
    """Fetch a page in the background, returning once the fetch runs: the decoding that
    follows holds the GIL, and the fetch must have sent its request (a socket call lets go of
    the GIL) for the server to work on it meanwhile."""
    running = threading.Event()

    def fetch() -> bytes:
        running.set()
        return client.request_bytes(path, accept=accept, query=query)

    upcoming = ahead.submit(fetch)
    running.wait()
    return upcoming


def _continue_token(body: bytes) -> str | None:
    found = _CONTINUE.search(body, 0, _HEAD)
    return found.group(1).decode() if found else None


_gc_lock = threading.Lock()
_gc_listers = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused_while_listing() -> Iterator[None]:
    """Pause the garbage collector while any thread lists (the watch cache lists every kind at
    once): parsing and trimming make millions of objects and no cycles, and collection passes
    over them are most of the cost of a big list."""
    global _gc_listers, _gc_was_enabled
    with _gc_lock:
        if _gc_listers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_listers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_listers -= 1
            if _gc_listers == 0 and _gc_was_enabled:
                gc.enable()
