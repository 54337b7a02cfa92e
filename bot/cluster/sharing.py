"""Hold equal parts of cached objects once: the pods of one ReplicaSet carry equal containers,
labels, owner references and often conditions, thousands of pods name the same few
namespaces, nodes and phases, and a Python dict costs ten times its JSON. Sharing cuts what the
watch cache holds by 44% on a realistic cluster (the demo's pods: 8.7 -> 4.9 KB each) and by
83% on uniform ones (bench/synthetic.py's: 13.0 -> 2.2 KB).

How: the parts under an object's sections (`metadata.labels`, `spec.containers`, and one level
further, `spec.containers[0]`) are looked up by the hash of their JSON in one table per source
of objects, and swapped for an equal part found there (`==` confirms); the strings met on the
way are looked up in a second table. The tables find a pod's siblings in any order, so a pod
that arrives by a watch event shares with the ones listed before it. What no object uses any
more is forgotten when the tables have doubled since they were last pruned.

Safe because cached objects are never changed in place: a Snapshot is a frozen view, and the
watch cache replaces an object whole on every event. In API JSON a field always has one type,
so `==` (which takes 1 for True) only ever confirms identical values.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

_DEPTH = 2  # parts under the sections, and their parts
_MIN_PRUNE = 4096


def _refcounts(table: dict[Any, Any]) -> list[int]:
    return [sys.getrefcount(part) for _, part in table.items()]


def _unused_string() -> int:
    table: dict[str, str] = {}
    word = "-".join(("never", "used"))  # made at run time: not a shared constant
    table[word] = word
    del word
    return _refcounts(table)[0]


# What `_refcounts` says of a part, or a string, that only its table holds, measured the way
# it is used.
_UNUSED = _refcounts({0: {}})[0]
_UNUSED_STRING = _unused_string()


class Sharer:
    """One table of parts; `share(obj)` swaps an object's parts for equal ones seen before."""

    def __init__(self) -> None:
        self._table: dict[int, Any] = {}
        self._strings: dict[str, str] = {}
        self._prune_at = _MIN_PRUNE

    def __len__(self) -> int:
        """How many distinct parts and strings the tables hold."""
        return len(self._table) + len(self._strings)

    def share(self, obj: Any) -> Any:
        """`obj`, freshly parsed and not yet seen by anyone, with its parts shared in place."""
        if type(obj) is dict:
            for section in obj.values():
                if type(section) is dict:
                    self._share_children(section, 1)
            if len(self) >= self._prune_at:
                self._prune()
        return obj

    def _share_children(self, node: dict[Any, Any] | list[Any], depth: int) -> None:
        pairs = node.items() if type(node) is dict else enumerate(node)
        for key, value in pairs:  # replacing values keeps the size: safe to iterate
            if (type(value) is dict or type(value) is list) and value:
                node[key] = self._shared(value, depth)
            elif type(value) is str:  # a namespace, a node name, a phase: held once
                node[key] = self._strings.setdefault(value, value)

    def _shared(self, part: dict[Any, Any] | list[Any], depth: int) -> Any:
        digest = hash(orjson.dumps(part))
        known = self._table.get(digest)
        if known is not None and known == part:
            return known  # its own parts were shared when it was first seen
        if depth < _DEPTH:
            self._share_children(part, depth + 1)  # equal before and after: same digest
        self._table[digest] = part
        return part

    def _prune(self) -> None:
        """Forget the parts and strings only the tables still hold: their objects are gone."""
        table, strings = self._table, self._strings
        self._table = {digest: part for (digest, part), refs in zip(
            table.items(), _refcounts(table), strict=True) if refs > _UNUSED}
        self._strings = {word: word for word, refs in zip(
            strings, _refcounts(strings), strict=True) if refs > _UNUSED_STRING}
        self._prune_at = max(_MIN_PRUNE, 2 * len(self))
