"""Reading fields of raw API objects without trusting their types.

Snapshot objects can be partial or malformed (a dump edited by hand, an object from a future
API version): each reader returns an empty value for a missing or wrongly typed field instead
of raising. Analyzers, the report and the score all read through these.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Obj]:
    """The dicts of a list (other items dropped); [] when it is not a list."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def number(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def meta(obj: Any) -> Obj:
    return as_dict(as_dict(obj).get("metadata"))


def spec(obj: Any) -> Obj:
    return as_dict(as_dict(obj).get("spec"))


def status(obj: Any) -> Obj:
    return as_dict(as_dict(obj).get("status"))
