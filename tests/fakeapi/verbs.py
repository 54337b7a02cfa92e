"""The verbs on a resource path: get, list (paged), create, update, patch, delete and
deletecollection, plus the subresources the bot may touch: status, scale, log, eviction.

Each verb takes the server and a parsed `Call` and returns a `Response`, or raises `ApiError`.
Watches are streamed by `watch.py`, not here.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import patch, tables
from .routes import Target
from .selectors import Filter
from .status import bad_request, method_not_allowed, status_body
from .store import order_key

if TYPE_CHECKING:
    from .server import FakeKubeAPI

# Metadata the server owns: what a client sends is ignored on create.
_SERVER_OWNED = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "generation")
_POLICIES = ("Orphan", "Background", "Foreground")
_WRONG_NAMESPACE = ("the namespace of the provided object does not match the namespace sent "
                    "on the request")


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    target: Target
    query: dict[str, str]
    body: bytes = b""
    content_type: str = "application/json"
    fmt: str = tables.JSON


@dataclass(slots=True)
class Response:
    code: int
    body: dict | str | bytes  # bytes: JSON already encoded
    headers: dict[str, str] = field(default_factory=dict)


def wants_watch(query: dict[str, str]) -> bool:
    return query.get("watch", "").lower() in ("1", "true")


def verb_of(method: str, target: Target, query: dict[str, str]) -> str:
    """The RBAC verb of a request, as in the real server's Forbidden messages."""
    if method == "GET":
        return "watch" if wants_watch(query) else ("get" if target.name else "list")
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _slot(target: Target) -> str:
    return target.subresource or ("object" if target.name else "collection")


def check_allowed(method: str, target: Target, query: dict[str, str]) -> None:
    """405 for a verb the resource does not serve, or a write at the cluster scope."""
    served = target.subresource or verb_of(method, target, query) in target.resource.verbs
    cluster_wide = target.resource.namespaced and target.namespace is None and method != "GET"
    if (method, _slot(target)) not in _HANDLERS or not served or cluster_wide:
        raise method_not_allowed()


def handle(api: FakeKubeAPI, call: Call) -> Response:
    check_allowed(call.method, call.target, call.query)
    return _HANDLERS[(call.method, _slot(call.target))](api, call)


# -- request bodies ----------------------------------------------------------------------

def _json(call: Call) -> object:
    try:
        return json.loads(call.body or b"null")
    except ValueError as err:
        raise bad_request(f"couldn't get version/kind; json parse error: {err}") from None


def _json_dict(call: Call) -> dict:
    """A JSON object body; {} when there is no body (DELETE without options)."""
    obj = _json(call) if call.body else {}
    if not isinstance(obj, dict):
        raise bad_request("the body of the request must be a JSON object")
    return obj


def _object_body(call: Call) -> dict:
    obj = _json_dict(call)
    meta = obj.setdefault("metadata", {})
    r, t = call.target.resource, call.target
    if obj.get("kind", r.kind) != r.kind or obj.get("apiVersion", r.api_version) != r.api_version:
        raise bad_request(f"the object ({obj.get('apiVersion')}, Kind={obj.get('kind')}) is not "
                          f"a {r.kind} of {r.api_version}")
    if t.name and meta.get("name", t.name) != t.name:
        raise bad_request(f"the name of the object ({meta.get('name')}) does not match the name "
                          f"on the URL ({t.name})")
    if r.namespaced and meta.get("namespace", t.namespace) != t.namespace:
        raise bad_request(_WRONG_NAMESPACE)
    if t.name:
        meta["name"] = t.name
    if r.namespaced:
        meta["namespace"] = t.namespace
    else:
        meta.pop("namespace", None)
    return obj


def _delete_options(call: Call, opts: dict) -> dict:
    policy = opts.get("propagationPolicy") or call.query.get("propagationPolicy")
    if opts.get("orphanDependents") or call.query.get("orphanDependents") == "true":
        policy = "Orphan"
    if policy and policy not in _POLICIES:
        raise bad_request(f'Unsupported value: "{policy}": supported values: "Foreground", '
                          '"Background", "Orphan"')
    pre = opts.get("preconditions") or {}
    return {"uid": pre.get("uid"), "rv": pre.get("resourceVersion"), "propagation": policy}


# -- collection verbs --------------------------------------------------------------------

def encode_continue(start: str, rv: int) -> str:
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(token.encode()).decode()


def decode_continue(token: str) -> tuple[str, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["start"]), int(data["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(f"continue key is not valid: {token}") from None


def _int_param(query: dict[str, str], name: str) -> int:
    try:
        return int(query.get(name) or 0)
    except ValueError:
        raise bad_request(f"invalid {name}: {query[name]!r}") from None


def _matching(api: FakeKubeAPI, call: Call) -> tuple[list[dict], int, Filter]:
    q, t = call.query, call.target
    filt = Filter.from_query(t.resource, t.namespace, q)
    start, at_rv = decode_continue(q["continue"]) if q.get("continue") else ("", None)
    if at_rv is None and q.get("resourceVersionMatch") == "Exact":
        at_rv = _int_param(q, "resourceVersion")
    items, rv = api.store.items(t.resource, at_rv)
    rest = items[bisect.bisect_right(items, start, key=order_key):] if start else items
    if filt.namespace is None and not filt.selects:  # all match: a page costs what it holds
        return rest, rv, filt
    return [o for o in rest if filt.matches(o)], rv, filt


def _list(api: FakeKubeAPI, call: Call) -> Response:
    """A list page. Like a 1.32 server, `resourceVersion=0` is served whole from the watch
    cache: `limit` is ignored (client-go's reflector relies on that)."""
    items, rv, filt = _matching(api, call)
    from_cache = call.query.get("resourceVersion") == "0" and not call.query.get("continue")
    limit = 0 if from_cache else _int_param(call.query, "limit")
    meta: dict = {"resourceVersion": str(rv)}
    if 0 < limit < len(items):
        meta["continue"] = encode_continue(order_key(items[limit - 1]), rv)
        if not filt.selects:
            meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    resource = call.target.resource
    body = tables.render_list(call.fmt, resource, items, meta, call.query.get("includeObject"),
                              lambda obj: api.store.encoded(resource, obj, tables.encode_item))
    return Response(200, body)


def _create(api: FakeKubeAPI, call: Call) -> Response:
    obj = _object_body(call)
    for name in _SERVER_OWNED:
        obj["metadata"].pop(name, None)
    stored = api.store.create(call.target.resource, obj)
    return _rendered(call, stored, 201)


def _delete_collection(api: FakeKubeAPI, call: Call) -> Response:
    items, rv, _ = _matching(api, call)
    opts = _delete_options(call, _json_dict(call))
    t = call.target
    gone = [api.store.delete(t.resource, t.namespace, o["metadata"]["name"], **opts)
            for o in items]
    meta = {"resourceVersion": str(api.store.resource_version)}
    return Response(200, tables.render_list(call.fmt, t.resource, gone, meta))


# -- object verbs ------------------------------------------------------------------------

def _rendered(call: Call, obj: dict, code: int = 200) -> Response:
    body = tables.render_object(call.fmt, call.target.resource, obj,
                                call.query.get("includeObject"))
    return Response(code, body)


def _get(api: FakeKubeAPI, call: Call) -> Response:
    t = call.target
    return _rendered(call, api.store.get(t.resource, t.namespace, t.name or ""))


def _replace(api: FakeKubeAPI, call: Call) -> Response:
    stored, created = api.store.replace(call.target.resource, _object_body(call))
    return _rendered(call, stored, 201 if created else 200)


def _mutate(api: FakeKubeAPI, call: Call, change: Callable[[dict], dict]) -> dict:
    t = call.target
    return api.store.mutate(t.resource, t.namespace, t.name or "", change)


def _patch(api: FakeKubeAPI, call: Call) -> Response:
    doc = _json(call)
    return _rendered(call, _mutate(api, call, lambda cur: patch.apply(call.content_type, cur, doc)))


def _delete(api: FakeKubeAPI, call: Call) -> Response:
    t = call.target
    opts = _delete_options(call, _json_dict(call))
    return _rendered(call, api.store.delete(t.resource, t.namespace, t.name or "", **opts))


# -- subresources ------------------------------------------------------------------------

def _carry_rv(obj: dict, sent: dict) -> dict:
    """Put the resourceVersion a client sent on `obj`, for the store's conflict check."""
    wanted = (sent.get("metadata") or {}).get("resourceVersion")
    if wanted:
        obj["metadata"]["resourceVersion"] = wanted
    return obj


def _only_status(current: dict, changed: dict) -> dict:
    """A status write changes `status` only."""
    current["status"] = changed.get("status")
    return _carry_rv(current, changed)


def _replace_status(api: FakeKubeAPI, call: Call) -> Response:
    body = _object_body(call)
    return _rendered(call, _mutate(api, call, lambda cur: _only_status(cur, body)))


def _patch_status(api: FakeKubeAPI, call: Call) -> Response:
    doc = _json(call)
    return _rendered(call, _mutate(
        api, call, lambda cur: _only_status(cur, patch.apply(call.content_type, cur, doc))))


def _scale_of(obj: dict) -> dict:
    meta = obj["metadata"]
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))},
    }


def _with_scale(obj: dict, scale: dict) -> dict:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise bad_request(f"invalid spec.replicas: {replicas!r}")
    obj.setdefault("spec", {})["replicas"] = replicas
    return _carry_rv(obj, scale)


def _get_scale(api: FakeKubeAPI, call: Call) -> Response:
    t = call.target
    return Response(200, _scale_of(api.store.get(t.resource, t.namespace, t.name or "")))


def _replace_scale(api: FakeKubeAPI, call: Call) -> Response:
    body = _json_dict(call)
    return Response(200, _scale_of(_mutate(api, call, lambda cur: _with_scale(cur, body))))


def _patch_scale(api: FakeKubeAPI, call: Call) -> Response:
    doc = _json(call)
    stored = _mutate(api, call, lambda cur: _with_scale(
        cur, patch.apply(call.content_type, _scale_of(cur), doc)))
    return Response(200, _scale_of(stored))


def _evict(api: FakeKubeAPI, call: Call) -> Response:
    opts = _delete_options(call, _json_dict(call).get("deleteOptions") or {})
    t = call.target
    api.store.delete(t.resource, t.namespace, t.name or "", **opts)
    return Response(201, status_body("Success", 201))


def _logs(api: FakeKubeAPI, call: Call) -> Response:
    t, q = call.target, call.query
    pod = api.store.get(t.resource, t.namespace, t.name or "")
    spec = pod.get("spec") or {}
    names = [c["name"] for key in ("initContainers", "containers") for c in spec.get(key) or ()]
    names = names or list(api.log_containers(t.namespace or "", t.name or ""))
    container = q.get("container") or (names[0] if len(names) == 1 else "")
    if not container:
        raise bad_request(f"a container name must be specified for pod {t.name}, choose one of: "
                          f"[{' '.join(names)}]")
    if container not in names:
        raise bad_request(f"container {container} is not valid for pod {t.name}")
    previous = q.get("previous", "").lower() in ("1", "true")
    text = api.logs_for(t.namespace or "", t.name or "", container, previous)
    if text is None and previous:
        raise bad_request(f'previous terminated container "{container}" in pod "{t.name}" '
                          "not found")
    lines = (text or "").splitlines(keepends=True)
    if "tailLines" in q:
        tail = _int_param(q, "tailLines")
        lines = lines[-tail:] if tail > 0 else []
    return Response(200, "".join(lines))


_Verb = Callable[["FakeKubeAPI", Call], Response]
_HANDLERS: dict[tuple[str, str], _Verb] = {
    ("GET", "collection"): _list,
    ("POST", "collection"): _create,
    ("DELETE", "collection"): _delete_collection,
    ("GET", "object"): _get,
    ("PUT", "object"): _replace,
    ("PATCH", "object"): _patch,
    ("DELETE", "object"): _delete,
    ("GET", "status"): _get,
    ("PUT", "status"): _replace_status,
    ("PATCH", "status"): _patch_status,
    ("GET", "scale"): _get_scale,
    ("PUT", "scale"): _replace_scale,
    ("PATCH", "scale"): _patch_scale,
    ("GET", "log"): _logs,
    ("POST", "eviction"): _evict,
}
