"""Response shapes chosen by the Accept header: plain JSON, PartialObjectMetadata, Table.

`kubectl get` asks for `as=Table` and prints the server's cells; metadata-only clients (the bot
reads Secrets that way) ask for `as=PartialObjectMetadataList`. Pods get the real server's
columns (NAME READY STATUS RESTARTS AGE, wide: IP NODE); other kinds get NAME and AGE, which is
what the real server prints for a custom resource without printer columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from .resources import Resource
from .status import not_acceptable

JSON, TABLE, PARTIAL = "json", "table", "partial"
META_V1 = "meta.k8s.io/v1"
_PLAIN = {"application/json", "*/*", "application/*", ""}
_PARTIAL_KINDS = {"PartialObjectMetadata", "PartialObjectMetadataList"}


def negotiate(accept: str | None) -> str:
    """The first media range in `accept` the fake can serve; 406 when there is none."""
    for media in (accept or "application/json").split(","):
        base, *params = (part.strip() for part in media.split(";"))
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if base not in _PLAIN:
            continue
        wanted = opts.get("as")
        if wanted is None:
            return JSON
        if opts.get("g") == "meta.k8s.io" and wanted == "Table":
            return TABLE
        if opts.get("g") == "meta.k8s.io" and wanted in _PARTIAL_KINDS:
            return PARTIAL
    raise not_acceptable(accept or "")


def without_type(obj: dict) -> dict:
    """A list item: the real server leaves kind and apiVersion out of `items`."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def encode_item(obj: dict) -> bytes:
    """A list item's JSON, compact like the real server's."""
    return orjson.dumps(without_type(obj))


def partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": META_V1, "metadata": obj["metadata"]}


def render_object(fmt: str, resource: Resource, obj: dict, include: str | None = None) -> dict:
    """A single object (GET, POST, PUT, PATCH, DELETE, watch event) in format `fmt`."""
    if fmt == PARTIAL:
        return partial(obj)
    if fmt == TABLE:
        return table(resource, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                     include)
    return obj


def render_list(fmt: str, resource: Resource, items: list[dict], meta: dict,
                include: str | None = None, encode: Callable[[dict], bytes] = encode_item
                ) -> dict | bytes:
    """A list in format `fmt`; plain JSON comes encoded, its items by `encode` (the store
    keeps each stored object's encoding, so a page costs a join, not a serialisation)."""
    if fmt == PARTIAL:
        return {"kind": "PartialObjectMetadataList", "apiVersion": META_V1, "metadata": meta,
                "items": [partial(o) for o in items]}
    if fmt == TABLE:
        return table(resource, items, meta, include)
    head = orjson.dumps({"kind": resource.list_kind, "apiVersion": resource.api_version,
                         "metadata": meta})
    return head[:-1] + b',"items":[' + b",".join(map(encode, items)) + b"]}"


def _column(name: str, description: str, priority: int = 0, fmt: str = "",
            kind: str = "string") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": description,
            "priority": priority}


_NAME = _column("Name", "Name must be unique within a namespace.", fmt="name")
_AGE = _column("Age", "CreationTimestamp is a timestamp representing the server time when this "
               "object was created.")
_POD_COLUMNS = [
    _NAME,
    _column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _column("Status", "The aggregate status of the containers in this pod."),
    _column("Restarts", "The number of times the containers in this pod have been restarted "
            "and when the last container in this pod has restarted.", kind="integer"),
    _AGE,
    _column("IP", "IP address allocated to the pod.", priority=1),
    _column("Node", "Name of the node this pod is running on.", priority=1),
]


def table(resource: Resource, items: list[dict], meta: dict, include: str | None) -> dict:
    is_pod = resource.kind == "Pod"
    rows = []
    for obj in items:
        row: dict = {"cells": _pod_cells(obj) if is_pod else _name_age(obj)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = partial(obj)
        rows.append(row)
    columns = _POD_COLUMNS if is_pod else [_NAME, _AGE]
    return {"kind": "Table", "apiVersion": META_V1, "metadata": meta,
            "columnDefinitions": columns, "rows": rows}


def _name_age(obj: dict) -> list:
    meta = obj["metadata"]
    return [meta["name"], age(meta.get("creationTimestamp"))]


def _pod_cells(pod: dict) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    total = len(spec.get("containers") or statuses)
    restarts = sum(cs.get("restartCount", 0) for cs in statuses)
    return [pod["metadata"]["name"], f"{ready}/{total}", pod_status(pod), restarts,
            age(pod["metadata"].get("creationTimestamp")),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>"]


def _container_reason(cs: dict) -> str | None:
    state = cs.get("state") or {}
    waiting, done = state.get("waiting"), state.get("terminated")
    if waiting and waiting.get("reason"):
        return waiting["reason"]
    if done:
        if done.get("reason"):
            return done["reason"]
        return f"Signal:{done['signal']}" if done.get("signal") else \
            f"ExitCode:{done.get('exitCode', 0)}"
    return None


def _init_reason(status: dict) -> str | None:
    inits = status.get("initContainerStatuses") or []
    for i, cs in enumerate(inits):
        done = (cs.get("state") or {}).get("terminated")
        if done and done.get("exitCode") == 0:
            continue
        reason = _container_reason(cs)
        if reason and reason != "PodInitializing":
            return f"Init:{reason}"
        return f"Init:{i}/{len(inits)}"
    return None


def pod_status(pod: dict) -> str:
    """The STATUS column kubectl shows (a close subset of the real server's printPod)."""
    status = pod.get("status") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = _init_reason(status)
    if reason:
        return reason
    reason = status.get("reason") or status.get("phase") or "Unknown"
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        found = _container_reason(cs)
        if found:
            reason = found
        elif cs.get("ready") and "running" in (cs.get("state") or {}):
            running = True
    return "Running" if reason == "Completed" and running else reason


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration(int((datetime.now(UTC) - created).total_seconds()))


def human_duration(seconds: int) -> str:
    """Like k8s.io/apimachinery's duration.HumanDuration."""
    if seconds < 0:
        return "<invalid>"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"
