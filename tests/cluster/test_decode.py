"""Decoding a list, or one object, straight into trimmed objects gives exactly what parsing it
whole and trimming gives, on every fixture (malformed ones included), the demo cluster and
synthetic pods; invalid JSON is a DecodeError, and so is a piece of a list that is not one
whole object (how a dump's items are cut apart)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from bot.cluster.decode import DecodeError, decode_list, decode_object, peek_type
from bot.cluster.kinds import KINDS, kind_for
from bot.cluster.trim import trim_object
from tests.cluster.live_helpers import demo_objects

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BENCH = Path(__file__).resolve().parents[2] / "bench"


def _fixture_objects() -> list[Any]:
    found: list[Any] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        document = orjson.loads(path.read_bytes())
        found += document.get("items", []) if isinstance(document, dict) else []
    return found


def _synthetic_pods() -> list[Any]:
    sys.path.insert(0, str(BENCH))
    try:
        import synthetic
    finally:
        sys.path.remove(str(BENCH))
    return [synthetic.pod(i) for i in range(0, 400, 7)]


def _by_collection(objects: list[Any]) -> dict[str, list[Any]]:
    lists: dict[str, list[Any]] = defaultdict(list)
    for obj in objects:
        info = kind_for(obj.get("kind", ""), obj.get("apiVersion", "")) \
            if isinstance(obj, dict) else None
        if info is not None:
            lists[info.key].append(obj)
    return lists


@pytest.mark.parametrize("source", ["fixtures", "demo", "synthetic"])
def test_decoding_equals_parsing_then_trimming(source: str) -> None:
    objects = {"fixtures": _fixture_objects, "demo": demo_objects,
               "synthetic": _synthetic_pods}[source]()
    lists = _by_collection(objects)
    assert len(lists) > 3 if source != "synthetic" else lists["pods"]
    for key, items in lists.items():
        body = orjson.dumps({"kind": "List", "metadata": {"resourceVersion": "42"},
                             "items": [*items, "not an object", None]})
        decoded, meta = decode_list(key, body)
        expected = [trim_object(key, o) for o in orjson.loads(body)["items"]
                    if isinstance(o, dict)]
        assert decoded == expected, key
        assert meta == {"resourceVersion": "42"}
        one_by_one = [decode_object(key, orjson.dumps(o)) for o in items if isinstance(o, dict)]
        assert one_by_one == expected, key


def test_peeking_reads_the_type_and_refuses_what_is_not_one_object() -> None:
    owned = b'{"metadata": {"ownerReferences": [{"kind": "ReplicaSet"}]}, "kind": "Pod", ' \
            b'"apiVersion": "v1"}'
    assert peek_type(owned) == ("Pod", "v1")
    assert peek_type(b'{"kind": 7, "spec": {}}') == ("", "")
    for broken in (b'[1]', b'{"a": 1}, {"b": 2}', b'{"a": [1, {"b": 2}'):
        with pytest.raises(DecodeError):
            peek_type(broken)


def test_every_kind_has_a_decoder_and_bad_json_is_an_error() -> None:
    for info in KINDS:
        assert decode_list(info.key, b'{"items": []}') == ([], {})
    with pytest.raises(DecodeError):
        decode_list("pods", b'{"items": [')
