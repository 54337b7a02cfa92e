"""Label and field selectors, parsed and matched the way the real API server does.

Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`,
joined by commas (AND). `!=` and `notin` match objects without the label, as in Kubernetes.
Field selectors: `path=v`, `path==v`, `path!=v` on the fields each resource supports; any other
field is a 400 `field label not supported: X`, word for word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .resources import Resource
from .status import bad_request

_SET_TERM = re.compile(r"(?P<key>[^\s!=<>(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")
_OP_TERM = re.compile(r"(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s!=<>(),]*)")
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY = re.compile(rf"([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?{_NAME}")
_VALUE = re.compile(rf"({_NAME})?")
# Field selector names that read a different path in the object.
_FIELD_PATHS = {"source": "source.component"}

Requirement = tuple[str, str, tuple[str, ...]]  # key, operator, values


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> Requirement:
    if m := _SET_TERM.fullmatch(term):
        values = tuple(v.strip() for v in m["values"].split(",") if v.strip())
        return m["key"], m["op"], values
    if m := _OP_TERM.fullmatch(term):
        op = "=" if m["op"] == "==" else m["op"]
        return m["key"], op, (m["value"],)
    if term.startswith("!"):
        return term[1:].strip(), "!", ()
    return term, "exists", ()


def _check_label(req: Requirement) -> Requirement:
    key, op, values = req
    if not _KEY.fullmatch(key) or len(key.rpartition("/")[2]) > 63:
        raise bad_request(f"unable to parse requirement: invalid label key {key!r}")
    if op in ("<", ">") and not values[0].lstrip("-").isdigit():
        raise bad_request(f"unable to parse requirement: for {op!r}, {values[0]!r} is not an "
                          "integer")
    for value in values:
        if not _VALUE.fullmatch(value) or len(value) > 63:
            raise bad_request(f"unable to parse requirement: invalid label value: {value!r}")
    return req


def parse_labels(text: str) -> tuple[Requirement, ...]:
    return tuple(_check_label(_label_term(term)) for term in _split_terms(text))


def _label_matches(req: Requirement, labels: dict) -> bool:
    key, op, values = req
    present = key in labels
    value = labels.get(key)
    if op in ("=", "in"):
        return present and value in values
    if op in ("!=", "notin"):
        return not present or value not in values
    if op == "exists":
        return present
    if op == "!":
        return not present
    if not present or not str(value).lstrip("-").isdigit():
        return False
    number, bound = int(str(value)), int(values[0])
    return number > bound if op == ">" else number < bound


def parse_fields(text: str, resource: Resource) -> tuple[Requirement, ...]:
    reqs = []
    for term in _split_terms(text):
        m = re.fullmatch(r"(?P<key>[^!=]+?)\s*(?P<op>==|=|!=)\s*(?P<value>.*)", term)
        if m is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        if m["key"] not in resource.field_labels:
            raise bad_request(f"field label not supported: {m['key']}")
        op = "!=" if m["op"] == "!=" else "="
        reqs.append((m["key"], op, (m["value"],)))
    return tuple(reqs)


def field_value(obj: dict, label: str) -> str:
    """The string the real server compares a field selector with ("" when absent)."""
    value: object = obj
    for part in _FIELD_PATHS.get(label, label).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Filter:
    """Which objects a list or watch returns: namespace, label and field selectors."""

    namespace: str | None = None
    labels: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    @classmethod
    def from_query(cls, resource: Resource, namespace: str | None, query: dict[str, str],
                   name: str | None = None) -> Filter:
        fields = parse_fields(query.get("fieldSelector", ""), resource)
        if name:
            fields += (("metadata.name", "=", (name,)),)
        return cls(namespace, parse_labels(query.get("labelSelector", "")), fields)

    @property
    def selects(self) -> bool:
        return bool(self.labels or self.fields)

    def matches(self, obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        labels = meta.get("labels") or {}
        if not all(_label_matches(req, labels) for req in self.labels):
            return False
        return all((field_value(obj, key) == values[0]) == (op == "=")
                   for key, op, values in self.fields)

