"""Discovery documents (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/G`, `/apis/G/V`), built
from the resource table.

Only legacy discovery is served: clients that ask for aggregated discovery
(`as=APIGroupDiscoveryList`) get the plain documents with `Content-Type: application/json`,
which client-go and kubectl accept as "not aggregated" and fall back on.
"""

from __future__ import annotations

from .resources import RESOURCES, Resource, group_versions

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.2+k3s1",
    "gitCommit": "6da20424b2ab4d4d0a0be2a6d4b1bc8a1a6a2b3c",
    "gitTreeState": "clean",
    "buildDate": "2025-02-25T00:00:00Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/arm64",
}
# Subresources: (kind, group, version, verbs) as listed in the real resource lists.
_SUBRESOURCES = {
    "status": (None, None, None, ("get", "patch", "update")),
    "log": (None, None, None, ("get",)),
    "eviction": ("Eviction", "policy", "v1", ("create",)),
    "scale": ("Scale", "autoscaling", "v1", ("get", "patch", "update")),
}


def _resource_entry(r: Resource) -> dict:
    entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
             "kind": r.kind, "verbs": list(r.verbs)}
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    return entry


def _subresource_entry(r: Resource, sub: str) -> dict:
    kind, group, version, verbs = _SUBRESOURCES[sub]
    entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
             "kind": kind or r.kind, "verbs": list(verbs)}
    if group:
        entry |= {"group": group, "version": version}
    return entry


def resource_list(group: str, version: str) -> dict:
    entries = []
    for r in RESOURCES:
        if (r.group, r.version) == (group, version):
            entries.append(_resource_entry(r))
            entries += [_subresource_entry(r, sub) for sub in r.subresources]
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": entries}


def _group(name: str, versions: list[str]) -> dict:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def document(path: str, groups: set[str], address: str) -> dict | None:
    """The discovery document at `path` for the enabled `groups`, or None if not discovery."""
    parts = [p for p in path.split("/") if p]
    served = {g: vs for g, vs in group_versions().items() if g in groups}
    if parts == ["version"]:
        return dict(VERSION)
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs":
                [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}
    if parts == ["api", "v1"]:
        return resource_list("", "v1")
    if parts == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(g, vs) for g, vs in served.items() if g]}
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in served:
        return {"kind": "APIGroup", "apiVersion": "v1"} | _group(parts[1], served[parts[1]])
    if len(parts) == 3 and parts[0] == "apis" and parts[2] in served.get(parts[1], ()):
        return resource_list(parts[1], parts[2])
    return None
