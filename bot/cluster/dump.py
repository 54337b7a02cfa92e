"""Load a Snapshot from kubectl output: `get -o json` Lists, list files, or a cluster-info dump.

Accepted, unchanged from kubectl:
- a `List` (what `kubectl get nodes,pods,... -A -o json` prints), or a typed list (`PodList`);
- several such files;
- a directory written by `kubectl cluster-info dump --all-namespaces --output-directory DIR`
  (top-level `nodes.json`, per-namespace `pods.json`, `events.json`, ...), whose list items
  carry no `kind`, so the file name says what they are.

Anything else raises `DumpError` naming the file and what is wrong, for a one-line CLI error.
"""

from __future__ import annotations

import gc
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bot.cluster.decode import DecodeError, decode_object, peek_type
from bot.cluster.kinds import BY_KEY, KindInfo, kind_for, kind_for_file_stem
from bot.cluster.snapshot import Snapshot
from bot.cluster.trim import trim_object


class DumpError(Exception):
    """A dump file that cannot be read as Kubernetes API JSON."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: it is most of the cost of parsing large JSON."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_paths(paths: Iterable[str | Path], *, taken_at: datetime | None = None) -> Snapshot:
    """Read every given file or dump directory into one Snapshot."""
    collected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    names = []
    with paused_gc():  # parsing and trimming make millions of objects and no cycles
        for path in map(Path, paths):
            names.append(path.name)
            files = _dump_files(path) if path.is_dir() else [path]
            for file in files:
                _collect(file, collected)
    gc.freeze()  # the snapshot lives on: keep the collector from re-scanning its objects
    if not any(collected.values()):
        raise DumpError(f"{', '.join(names)}: no Kubernetes objects found")
    return Snapshot.build(
        collected,
        trimmed=True,
        taken_at=taken_at or _newest_mtime(paths),
        source="snapshot " + ", ".join(names),
    )


def _dump_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.rglob("*.json") if p.is_file())
    if not files:
        raise DumpError(f"{directory}: directory holds no .json files")
    return files


def _collect(file: Path, collected: dict[str, list[dict[str, Any]]]) -> None:
    """Add the file's objects to `collected`; a typed list marks its kind as read, even empty."""
    data = _read(file)
    try:
        envelope, pieces = _split_items(data)
        _collect_document(file, envelope, lambda fallback: _decoded_items(
            file, pieces, fallback), collected)
    except _Unsplittable:
        document = _parse(file, data)
        items = document.get("items") if isinstance(document, dict) else None
        _collect_document(file, document, lambda fallback: _parsed_items(
            file, items, fallback), collected)


Items = Callable[[KindInfo | None], Iterator[tuple[str, dict[str, Any]]]]


def _collect_document(file: Path, document: Any, items: Items,
                      collected: dict[str, list[dict[str, Any]]]) -> None:
    """Add a List's items (`items(the file's kind)`, trimmed), or a lone object."""
    if not isinstance(document, dict):
        raise DumpError(f"{file}: expected a JSON object (a Kubernetes List), found "
                        f"{type(document).__name__}")
    doc_kind = document.get("kind", "")
    list_kind = kind_for(doc_kind, document.get("apiVersion", ""))
    if list_kind is None and str(doc_kind).endswith("List") and doc_kind != "List":
        return  # a list of a kind clusterbot does not read (ReplicationControllerList, ...)
    if "items" in document:
        fallback = list_kind or kind_for_file_stem(file.stem)
        found = list(items(fallback))  # all or nothing: a file that fails adds no object
        if fallback is not None:
            collected.setdefault(fallback.key, [])
        for key, obj in found:
            collected[key].append(obj)
    elif list_kind is not None:
        collected[list_kind.key].append(trim_object(list_kind.key, document))
    else:
        raise DumpError(f"{file}: not Kubernetes API JSON (no 'items' and no known 'kind')")


def _item_kind(file: Path, index: int, kind: Any, api_version: Any,
               fallback: KindInfo | None) -> KindInfo | None:
    """What item `index` is: its own kind, else the file's; None for a kind clusterbot does
    not read (ConfigMap, Role, ...), to skip."""
    if kind:
        return kind_for(kind, api_version or "")
    if fallback is None:
        raise DumpError(f"{file}: item {index} has no 'kind' and the file name does not say "
                        "what it holds")
    return fallback


def _parsed_items(file: Path, items: Any, fallback: KindInfo | None) -> Iterator[
        tuple[str, dict[str, Any]]]:
    """The items of a List parsed whole, trimmed."""
    if not isinstance(items, list):
        raise DumpError(f"{file}: 'items' is not a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DumpError(f"{file}: item {index} is not an object")
        info = _item_kind(file, index, item.get("kind"), item.get("apiVersion"), fallback)
        if info is not None:
            yield info.key, trim_object(info.key, item)


def _decoded_items(file: Path, pieces: Iterable[Piece],
                   fallback: KindInfo | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """The items cut apart by `_split_items`, each decoded straight into its trimmed form."""
    for index, ((kind, api_version), piece) in enumerate(pieces):
        info = _item_kind(file, index, kind, api_version, fallback)
        if info is not None:
            try:
                yield info.key, decode_object(info.key, piece)
            except DecodeError as error:
                raise DumpError(f"{file}: item {index}: {error}") from None


def _read(file: Path) -> bytes:
    try:
        data = file.read_bytes()
    except OSError as error:
        raise DumpError(f"{file}: cannot read: {error.strerror or error}") from None
    if not data.strip():
        raise DumpError(f"{file}: file is empty")
    return data


def _parse(file: Path, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise DumpError(f"{file}: not valid JSON ({error})") from None


# A List's items are decoded one at a time, straight into their trimmed form (decode.py), so
# the raw document (1.6 GB of Python objects for 20,000 pods) is never built.
_ITEMS_START = re.compile(rb'"items"\s*:\s*\[')
# Where one item ends and the next begins. The same bytes can occur between two elements of a
# nested list (ownerReferences); such a false cut makes an unbalanced piece that is not one
# JSON object, and is then joined with the next piece.
_ITEM_BOUNDARY = re.compile(rb'\}\s*,\s*\{\s*"(?:apiVersion|kind|metadata)"')

Piece = tuple[tuple[str, str], memoryview]  # an item's (kind, apiVersion) and its bytes


class _Unsplittable(Exception):
    """The document is not a List whose items can be cut apart: parse it whole."""


def _split_items(data: bytes) -> tuple[dict[str, Any], Iterator[Piece]]:
    start = _ITEMS_START.search(data)
    end = data.rfind(b"]")
    if start is None or end < start.end():
        raise _Unsplittable
    try:
        envelope = orjson.loads(data[:start.end()] + data[end:])
    except orjson.JSONDecodeError:
        raise _Unsplittable from None
    if not isinstance(envelope, dict) or envelope.get("items") != []:
        raise _Unsplittable
    return envelope, _item_pieces(data, start.end(), end)


def _item_pieces(data: bytes, start: int, end: int) -> Iterator[Piece]:
    view = memoryview(data)
    # One serializer wrote every item alike: search for its exact separator, at memchr speed.
    # Indented output indents nested lists deeper, so the shortest candidate is the items'.
    candidates = itertools.islice(_ITEM_BOUNDARY.finditer(data, start, end), 64)
    separator = min((m.group() for m in candidates), key=len, default=b"")
    next_item = separator.find(b"{")  # where, in the separator, the next item begins
    piece_start, cut = start, data.find(separator, start, end) if separator else -1
    while cut != -1:
        piece = view[piece_start:cut + 1]
        try:
            yield peek_type(piece), piece
            piece_start = cut + next_item
        except DecodeError:
            pass  # a cut inside a nested list: keep this piece and join the next one
        cut = data.find(separator, cut + 1, end)
    last = bytes(view[piece_start:end]).strip()
    if last:
        try:
            yield peek_type(last), memoryview(last)
        except DecodeError:
            raise _Unsplittable from None


def _newest_mtime(paths: Iterable[str | Path]) -> datetime:
    stamps = [Path(p).stat().st_mtime for p in paths if Path(p).exists()]
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else datetime.now(UTC)


def to_list_document(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot as one Kubernetes `List`, which `load_paths` reads back unchanged."""
    items = []
    for key, objects in snapshot.collections.items():
        info = BY_KEY[key]
        for obj in objects:
            items.append({"apiVersion": info.api_version, "kind": info.kind, **obj})
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": items}
