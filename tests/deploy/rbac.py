"""What the bot asked the API server for, in RBAC's words, and whether the manifests allow it.

A test records the HTTP requests the real code makes against the fake API server
(`fake_api.requests`), turns each into the `Access` the API server's authorizer would check,
and compares those with the rules the rendered manifests grant the bot's ServiceAccount:

    accesses = to_accesses(fake_api.requests)
    verdict = check(accesses, render_kustomize("deploy"))
    assert not verdict.missing          # every call the code makes is allowed
    assert not verdict.unused           # and nothing else is granted

Requests become accesses by Kubernetes' own rules (k8s.io/apiserver RequestInfoFactory): GET
on a collection is `list`, or `watch` with `?watch=true`; GET on a name is `get`; POST
`create`; PUT `update`; PATCH `patch`; DELETE on a name `delete`, on a collection
`deletecollection`; `/pods/NAME/log` is resource `pods`, subresource `log`. Rules match by
Kubernetes' RBAC semantics (`*`, `*/subresource`, resourceNames); a ClusterRoleBinding
grants everywhere, a RoleBinding only in its own namespace. Paths that name no resource
(`/api`, `/apis/GROUP/VERSION`, `/version`) are discovery: every authenticated user may read
them through the default `system:discovery` ClusterRole, which is not in our manifests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakeapi import Request

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_TRUE = ("true", "1")
# Namespace subresources: `/api/v1/namespaces/NS/status` is namespace NS's status, not a
# resource called "status" inside NS.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
# The non-resource URLs Kubernetes' default `system:discovery` ClusterRole lets every
# authenticated user GET (a trailing `*` is a prefix match, as in RBAC).
DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                  "/openapi/*", "/readyz", "/version", "/version/")


@dataclass(frozen=True, order=True)
class Access:
    """One authorization check: `namespace` None means cluster-wide (a cluster-scoped kind, or
    a namespaced kind across all namespaces); `name` is "" for collections."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str | None = None
    name: str = ""

    @property
    def scope(self) -> str:
        return "cluster" if self.namespace is None else "namespaced"

    def __str__(self) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        group = f".{self.group}" if self.group else ""
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {what}{group}{' ' + self.name if self.name else ''}{where}"


@dataclass(frozen=True, order=True)
class NonResource:
    verb: str
    path: str


@dataclass(frozen=True, order=True)
class Grant:
    """One verb on one resource that a binding gives the ServiceAccount: the unit of
    "nothing else is granted". `namespace` None: granted cluster-wide (ClusterRoleBinding)."""

    verb: str
    group: str
    resource: str  # as written in the rule: `pods`, `pods/log`
    names: tuple[str, ...]  # resourceNames, empty for any
    namespace: str | None
    role: str  # `ClusterRole/clusterbot-read`, for messages

    def __str__(self) -> str:
        group = f".{self.group}" if self.group else ""
        names = f" {list(self.names)}" if self.names else ""
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {self.resource}{group}{names}{where} by {self.role}"


def to_access(request: Request) -> Access | NonResource:
    """The authorization check the API server makes for one request."""
    parts = [p for p in request.path.split("/") if p]
    verb = "get" if request.method in ("GET", "HEAD") else _VERBS[request.method]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return NonResource(verb, request.path)
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource, name, subresource = (rest + ["", ""])[:3]
    if not name:
        verb, name = _collection_verb(verb, request.query)
    return Access(verb, group, resource, subresource, namespace, name)


def _collection_verb(verb: str, query: Mapping[str, str]) -> tuple[str, str]:
    """A request without a name acts on the collection; a list or watch narrowed to one name
    by `fieldSelector=metadata.name=X` is authorized for that name."""
    if verb == "delete":
        return "deletecollection", ""
    if verb != "get":
        return verb, ""
    collection_verb = "watch" if query.get("watch", "").lower() in _TRUE else "list"
    selector = query.get("fieldSelector", "")
    key, equals, value = selector.partition("=")
    name = value.lstrip("=") if key == "metadata.name" and equals and "," not in selector else ""
    return collection_verb, name


def to_accesses(requests: Iterable[Request]) -> set[Access]:
    """The resource accesses among `requests` (discovery paths are left out: see
    `non_resource`)."""
    return {a for a in map(to_access, requests) if isinstance(a, Access)}


def non_resource(requests: Iterable[Request]) -> set[NonResource]:
    return {a for a in map(to_access, requests) if isinstance(a, NonResource)}


def discovery_allows(access: NonResource) -> bool:
    """True when the default `system:discovery` ClusterRole lets any authenticated user do it."""
    return access.verb == "get" and any(_url_matches(url, access.path) for url in DISCOVERY_URLS)


def _url_matches(pattern: str, path: str) -> bool:
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


# -- what the manifests grant --------------------------------------------------------------


def grants(manifests: Iterable[Mapping[str, Any]], service_account: str = "clusterbot",
           namespace: str = "clusterbot") -> set[Grant]:
    """Every verb × group × resource the bindings in `manifests` give the ServiceAccount."""
    docs = [d for d in manifests if d]
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d.get("kind") in ("Role", "ClusterRole")}
    out: set[Grant] = set()
    for binding in docs:
        if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not _binds(binding, service_account, namespace):
            continue
        scope = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        role_namespace = scope if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_namespace, ref["name"]))
        if role is None:
            raise LookupError(f"{binding['kind']}/{binding['metadata']['name']} refers to "
                              f"{ref['kind']}/{ref['name']}, which the manifests do not define")
        out |= _rule_grants(role, scope)
    return out


def _binds(binding: Mapping[str, Any], service_account: str, namespace: str) -> bool:
    default_namespace = binding["metadata"].get("namespace")
    return any(s.get("kind") == "ServiceAccount" and s.get("name") == service_account
               and s.get("namespace", default_namespace) == namespace
               for s in binding.get("subjects") or ())


def _rule_grants(role: Mapping[str, Any], scope: str | None) -> set[Grant]:
    label = f"{role['kind']}/{role['metadata']['name']}"
    return {Grant(verb, group, resource, tuple(rule.get("resourceNames") or ()), scope, label)
            for rule in role.get("rules") or ()
            for verb in rule.get("verbs") or ()
            for group in rule.get("apiGroups") or ()
            for resource in rule.get("resources") or ()}


def allows(grant: Grant, access: Access) -> bool:
    """Kubernetes' RBAC rule match for one verb/group/resource of a rule."""
    if grant.namespace is not None and grant.namespace != access.namespace:
        return False
    combined = f"{access.resource}/{access.subresource}" if access.subresource else access.resource
    resource_ok = grant.resource in ("*", combined) or (
        bool(access.subresource) and grant.resource == f"*/{access.subresource}")
    return (grant.verb in ("*", access.verb) and grant.group in ("*", access.group)
            and resource_ok and (not grant.names or access.name in grant.names))


@dataclass(frozen=True)
class Verdict:
    missing: tuple[Access, ...]  # calls the manifests would answer with 403 Forbidden
    unused: tuple[Grant, ...]  # grants no call needed

    def explain(self) -> str:
        lines = [f"forbidden: {a}" for a in self.missing]
        lines += [f"granted but never used: {g}" for g in self.unused]
        return "\n".join(lines) or "every call allowed, every grant used"


def check(accesses: Iterable[Access], manifests: Iterable[Mapping[str, Any]],
          service_account: str = "clusterbot", namespace: str = "clusterbot") -> Verdict:
    """Compare what the code asked for with what the manifests grant its ServiceAccount."""
    wanted = sorted(set(accesses))
    granted = sorted(grants(manifests, service_account, namespace))
    missing = tuple(a for a in wanted if not any(allows(g, a) for g in granted))
    unused = tuple(g for g in granted if not any(allows(g, a) for a in wanted))
    return Verdict(missing, unused)
