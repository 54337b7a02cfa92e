"""Resource paths: `/api/v1[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]` and the same under
`/apis/GROUP/VERSION`, parsed into a `Target`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .resources import Resource, by_path
from .status import unknown_path


@dataclass(frozen=True, slots=True)
class Target:
    resource: Resource
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def _group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def parse(path: str, groups: set[str]) -> Target | None:
    """The resource a path names; None if it is no API path at all; 404 Status if unknown."""
    parts = [p for p in path.split("/") if p]
    found = _group_version(parts)
    if found is None:
        return None
    group, version, rest = found
    if group not in groups or not rest:
        raise unknown_path()
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        scoped = by_path(group, version, rest[2])
        if scoped is not None and scoped.namespaced:
            namespace, rest = rest[1], rest[2:]
    resource = by_path(group, version, rest[0])
    if resource is None or len(rest) > 3:
        raise unknown_path()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in resource.subresources:
        raise unknown_path()
    if name is not None and resource.namespaced and namespace is None:
        raise unknown_path()
    return Target(resource, namespace, name, sub)
