"""Watch streams: chunked newline-delimited JSON events, like the real server's watch cache.

`resourceVersion` "" or "0" starts with the current objects as ADDED; a version replays the
recorded events after it, or sends one ERROR event (410 Expired, "too old resource version")
and ends when that history is compacted. Selectors turn a MODIFIED event into ADDED or DELETED
when the object starts or stops matching. BOOKMARKs come every `bookmark_interval` seconds if
`allowWatchBookmarks`; `timeoutSeconds` ends the stream cleanly; a dropped watch ends it
abruptly (no final chunk).
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from . import tables
from .routes import Target
from .selectors import Filter
from .status import ApiError, bad_request
from .store import ADDED, DELETED, DROPPED, MODIFIED, Event, Watcher

if TYPE_CHECKING:
    from .server import FakeKubeAPI

_POLL = 0.5  # longest wait between checks of the deadline and the bookmark timer


class _Stream:
    """A chunked HTTP response carrying one JSON document per line."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._handler = handler

    def start(self) -> None:
        h = self._handler
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "no-cache, private")
        h.end_headers()
        h.wfile.flush()

    def send(self, doc: dict) -> None:
        data = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
        self._handler.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        self._handler.wfile.write(b"0\r\n\r\n")


class _Params:
    def __init__(self, target: Target, query: dict[str, str]) -> None:
        self.filter = Filter.from_query(target.resource, target.namespace, query, target.name)
        rv = query.get("resourceVersion", "")
        if rv not in ("", "0") and not rv.isdigit():
            raise bad_request(f"invalid resource version: {rv}")
        self.since = int(rv) if rv not in ("", "0") else None
        try:
            timeout = float(query.get("timeoutSeconds") or 0)
        except ValueError:
            raise bad_request("invalid timeoutSeconds") from None
        self.deadline = time.monotonic() + timeout if timeout > 0 else None
        self.bookmarks = query.get("allowWatchBookmarks", "").lower() in ("1", "true")
        self.include = query.get("includeObject")


def serve(handler: BaseHTTPRequestHandler, api: FakeKubeAPI, target: Target,
          query: dict[str, str], fmt: str) -> None:
    """Stream a watch on `handler`'s connection until timeout, drop or client hang-up."""
    params = _Params(target, query)  # a bad request is answered before the stream starts
    stream = _Stream(handler)
    try:
        watcher, initial = api.store.watch(target.resource, params.since)
    except ApiError as err:
        stream.start()
        stream.send({"type": "ERROR", "object": err.body})
        stream.end()
        return
    watcher.attach(handler.connection)
    try:
        stream.start()
        for event in initial:
            _send(stream, event, params, fmt)
        if _pump(stream, watcher, params, fmt, api.bookmark_interval):
            stream.end()
            return
    except OSError:
        pass
    finally:
        api.store.unwatch(watcher)
    handler.close_connection = True


def _pump(stream: _Stream, watcher: Watcher, params: _Params, fmt: str,
          interval: float) -> bool:
    """Relay events; True when the stream should end cleanly, False when it was dropped."""
    next_bookmark = time.monotonic() + interval if params.bookmarks else None
    while True:
        now = time.monotonic()
        if params.deadline is not None and now >= params.deadline:
            return True
        if next_bookmark is not None and now >= next_bookmark:
            stream.send(_bookmark(watcher, fmt))
            next_bookmark = now + interval
        timers = [t for t in (params.deadline, next_bookmark) if t is not None]
        item = watcher.next(min([*timers, now + _POLL]) - now)
        if item is DROPPED:
            return False
        if isinstance(item, Event):
            watcher.last_rv = item.rv
            _send(stream, item, params, fmt)


def _send(stream: _Stream, event: Event, params: _Params, fmt: str) -> None:
    found = _as_seen(event, params.filter)
    if found is not None:
        etype, obj = found
        obj = tables.render_object(fmt, event.resource, obj, params.include)
        stream.send({"type": etype, "object": obj})


def _as_seen(event: Event, filt: Filter) -> tuple[str, dict] | None:
    """The event a watcher with `filt` gets, if any (MODIFIED may become ADDED or DELETED)."""
    now_matches = filt.matches(event.obj)
    if event.type != MODIFIED:
        return (event.type, event.obj) if now_matches else None
    was_matching = event.prev is not None and filt.matches(event.prev)
    if now_matches:
        return (MODIFIED if was_matching else ADDED), event.obj
    if was_matching and event.prev is not None:
        gone = dict(event.prev)
        gone["metadata"] = dict(gone["metadata"], resourceVersion=str(event.rv))
        return DELETED, gone
    return None


def _bookmark(watcher: Watcher, fmt: str) -> dict:
    r = watcher.resource
    kind, api_version = (("PartialObjectMetadata", tables.META_V1) if fmt == tables.PARTIAL
                         else (r.kind, r.api_version))
    return {"type": "BOOKMARK", "object": {
        "kind": kind, "apiVersion": api_version,
        "metadata": {"resourceVersion": str(watcher.last_rv)}}}

