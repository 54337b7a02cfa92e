"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch, JSON patch (RFC 6902).

The strategic merge patch is approximated: maps merge like a merge patch, and lists whose items
all carry a `name` (containers, volumes, env, ports) merge by name; other lists are replaced.
Directive keys (`$patch`, `$setElementOrder/...`, `$retainKeys`) are dropped.
"""

from __future__ import annotations

import copy

from .status import ApiError, unsupported_media

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class PatchError(ValueError):
    pass


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _by_name(items: list) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def strategic_merge_patch(target: object, patch: object) -> object:
    if isinstance(patch, list) and isinstance(target, list) and _by_name(patch + target):
        merged = {item["name"]: item for item in target}
        for item in patch:
            merged[item["name"]] = strategic_merge_patch(merged.get(item["name"]), item)
        return list(merged.values())
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        else:
            out[key] = strategic_merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path and not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _parent(doc: object, path: str) -> tuple[object, str]:
    parts = _pointer(path)
    if not parts:
        raise PatchError("the root of the document cannot be patched")
    node = doc
    for part in parts[:-1]:
        node = _child(node, part)
    return node, parts[-1]


def _child(node: object, part: str) -> object:
    try:
        return node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"path element {part!r} not found") from None


def _json_get(doc: object, path: str) -> object:
    node = doc
    for part in _pointer(path):
        node = _child(node, part)
    return node


def _json_add(doc: object, path: str, value: object) -> None:
    parent, key = _parent(doc, path)
    if isinstance(parent, list):
        index = len(parent) if key == "-" else int(key)
        if not 0 <= index <= len(parent):
            raise PatchError(f"index {index} out of range")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise PatchError(f"cannot add to {path!r}")


def _json_remove(doc: object, path: str) -> object:
    parent, key = _parent(doc, path)
    _child(parent, key)
    if isinstance(parent, list):
        return parent.pop(int(key))
    if isinstance(parent, dict):
        return parent.pop(key)
    raise PatchError(f"cannot remove {path!r}")


def json_patch(target: object, ops: object) -> object:
    """RFC 6902 add, remove, replace, move, copy and test."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        name, path = op.get("op"), op.get("path", "")
        if name == "add":
            _json_add(doc, path, copy.deepcopy(op.get("value")))
        elif name == "remove":
            _json_remove(doc, path)
        elif name == "replace":
            _json_remove(doc, path)
            _json_add(doc, path, copy.deepcopy(op.get("value")))
        elif name in ("move", "copy"):
            value = copy.deepcopy(_json_get(doc, op.get("from", "")))
            if name == "move":
                _json_remove(doc, op.get("from", ""))
            _json_add(doc, path, value)
        elif name == "test":
            if _json_get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed")
        else:
            raise PatchError(f"unexpected kind of operation: {name!r}")
    return doc


_APPLY = {MERGE: merge_patch, STRATEGIC: strategic_merge_patch, JSON_PATCH: json_patch}


def apply(content_type: str, target: dict, patch: object) -> dict:
    """Apply a PATCH body of `content_type` to a copy of `target`; ApiError when it cannot."""
    fn = _APPLY.get(content_type.split(";")[0].strip())
    if fn is None:
        raise unsupported_media(content_type)
    try:
        result = fn(target, patch)
    except (PatchError, AttributeError, TypeError, ValueError) as err:
        raise ApiError(422, "Invalid", f"the server rejected our request: {err}") from None
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the patch did not produce an object")
    return result
