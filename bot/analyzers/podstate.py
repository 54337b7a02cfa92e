"""Reading pods defensively: containers, probes, exit codes, events and workload availability.

The pods, workloads and jobs analyzers ask the same questions of raw pod dicts ("which
container is waiting, and why?", "what did the last termination say?", "how many events
back this up?"). They live here once. Snapshot objects can be partial or malformed (a dump
edited by hand, an API object from a future version), so every accessor tolerates a missing
or wrongly typed field and returns an empty value rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cluster.snapshot import Snapshot
from bot.cluster.units import parse_time
from bot.models import ObjectRef

Obj = dict[str, Any]

WORKLOAD_KEYS = {"Deployment": "deployments", "StatefulSet": "statefulsets",
                 "DaemonSet": "daemonsets"}

# Where a controller keeps its pod template, for `kubectl patch --type=json` paths.
_TEMPLATE_PATHS = {
    "Deployment": "/spec/template/spec",
    "StatefulSet": "/spec/template/spec",
    "DaemonSet": "/spec/template/spec",
    "CronJob": "/spec/jobTemplate/spec/template/spec",
}

_SIGNALS = {
    137: "SIGKILL: killed by the kernel's OOM killer or by the kubelet",
    143: "SIGTERM: asked to stop (a failed probe, a rollout or a node drain)",
    139: "SIGSEGV: segmentation fault",
    134: "SIGABRT: the process aborted",
    130: "SIGINT: interrupted",
}
_EXIT_CODES = {
    0: "exited successfully, but a long-running container must not exit",
    1: "application error",
    2: "invalid arguments or shell misuse",
    126: "command found but not executable",
    127: "command not found: check the command/args and the image's entrypoint",
    128: "invalid exit argument",
}


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def number(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def condition(obj: Obj, kind: str) -> Obj:
    """The status condition of the given type, or {} when the object has none."""
    found = (c for c in as_list(as_dict(obj.get("status")).get("conditions"))
             if c.get("type") == kind)
    return next(found, {})


def age_seconds(now: datetime, timestamp: Any) -> float | None:
    when = parse_time(timestamp)
    return None if when is None else (now - when).total_seconds()


# -- containers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """A container's spec and status side by side; `index` is its place in the spec list."""

    name: str
    spec: Obj
    status: Obj
    init: bool
    index: int

    @property
    def waiting(self) -> Obj:
        return as_dict(as_dict(self.status.get("state")).get("waiting"))

    @property
    def running(self) -> bool:
        return "running" in as_dict(self.status.get("state"))

    @property
    def terminated(self) -> Obj:
        return as_dict(as_dict(self.status.get("state")).get("terminated"))

    @property
    def last_terminated(self) -> Obj:
        return as_dict(as_dict(self.status.get("lastState")).get("terminated"))

    @property
    def restarts(self) -> int:
        return number(self.status.get("restartCount"))

    @property
    def ready(self) -> bool:
        return self.status.get("ready") is True

    @property
    def image(self) -> str:
        return text(self.spec.get("image")) or text(self.status.get("image"))

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def patch_path(self) -> str:
        return f"/{'initContainers' if self.init else 'containers'}/{self.index}"


def containers(pod: Obj) -> list[Container]:
    """Init containers first, then app containers, each with its status ({} if none yet)."""
    spec, status = as_dict(pod.get("spec")), as_dict(pod.get("status"))
    found = []
    for init, key in ((True, "initContainers"), (False, "containers")):
        statuses = {text(s.get("name")): s for s in as_list(status.get(key[:-1] + "Statuses"))}
        for index, item in enumerate(as_list(spec.get(key))):
            name = text(item.get("name"))
            found.append(Container(name, item, statuses.pop(name, {}), init, index))
        found.extend(Container(n, {}, s, init, -1) for n, s in statuses.items())
    return found


def exit_meaning(code: Any) -> str:
    """What an exit code usually means, in a few words."""
    if not isinstance(code, int):
        return "unknown exit code"
    if code in _EXIT_CODES:
        return _EXIT_CODES[code]
    if code in _SIGNALS:
        return _SIGNALS[code]
    return f"killed by signal {code - 128}" if 128 < code < 160 else "application-defined error"


def termination_text(term: Obj) -> str:
    """'exit code 137 (SIGKILL: ...), reason OOMKilled: message' from a terminated state."""
    code = term.get("exitCode")
    parts = [f"exit code {code} ({exit_meaning(code)})" if code is not None else "no exit code"]
    if term.get("reason"):
        parts.append(f"reason {term['reason']}")
    message = text(term.get("message")).strip()
    return ", ".join(parts) + (f": {shorten(message)}" if message else "")


def probe_text(probe: Obj) -> str:
    """'httpGet /healthcheck:5555, initialDelaySeconds 30, periodSeconds 10, ...'."""
    action = ""
    if isinstance(probe.get("httpGet"), dict):
        get = probe["httpGet"]
        action = f"httpGet {get.get('path') or '/'}:{get.get('port')}"
    elif isinstance(probe.get("tcpSocket"), dict):
        action = f"tcpSocket :{probe['tcpSocket'].get('port')}"
    elif isinstance(probe.get("exec"), dict):
        action = "exec " + " ".join(map(str, probe["exec"].get("command") or []))
    elif isinstance(probe.get("grpc"), dict):
        action = f"grpc :{probe['grpc'].get('port')}"
    settings = [f"{key} {value}" for key, value in probe_settings(probe).items()]
    return ", ".join([action, *settings]) if action else ", ".join(settings)


def probe_settings(probe: Obj) -> dict[str, int]:
    """The timing settings with the API's defaults filled in."""
    defaults = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                "failureThreshold": 3}
    return {key: number(probe.get(key), default) for key, default in defaults.items()}


def shorten(message: str, limit: int = 240) -> str:
    """One line of at most `limit` characters, keeping both ends: errors end with the cause."""
    message = " ".join(message.split())
    if len(message) <= limit:
        return message
    head = limit // 3
    return f"{message[:head]}…{message[-(limit - head - 1):]}"


# -- events ---------------------------------------------------------------------------------


def event_count(event: Obj) -> int:
    series = as_dict(event.get("series"))
    return max(number(series.get("count")), number(event.get("count")), 1)


def total_count(events: Iterable[Obj]) -> int:
    return sum(event_count(e) for e in events)


def event_lines(events: Iterable[Obj], limit: int = 4) -> list[str]:
    """Events merged by reason and message, counts summed: 'ErrImagePull ×12 (3 pods): ...'."""
    counts: dict[tuple[str, str], int] = {}
    objects: dict[tuple[str, str], set[str]] = {}
    for event in events:
        key = (text(event.get("reason")), shorten(text(event.get("message"))))
        counts[key] = counts.get(key, 0) + event_count(event)
        objects.setdefault(key, set()).add(text(as_dict(event.get("involvedObject")).get("name")))
    lines = [f"{reason} ×{count}{_spread(len(objects[(reason, message)]))}: {message}"
             for (reason, message), count in counts.items()]
    recent = lines[-limit:]  # events come oldest first: keep the latest
    return recent if len(lines) <= limit else [f"(+{len(lines) - limit} older events)", *recent]


def _spread(objects: int) -> str:
    return f" ({objects} pods)" if objects > 1 else ""


def for_container(events: Iterable[Obj], container: Container) -> list[Obj]:
    """Events about this container, plus pod-wide events that name no container."""
    wanted = ("", container.field_path)
    return [e for e in events
            if text(as_dict(e.get("involvedObject")).get("fieldPath")) in wanted]


# -- pods in their context ------------------------------------------------------------------


@dataclass(frozen=True)
class PodView:
    """One pod with what the checks keep asking: its owner, containers and events."""

    obj: Obj
    namespace: str
    name: str
    uid: str
    owner: ObjectRef | None
    containers: tuple[Container, ...]
    events: tuple[Obj, ...]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.name, self.namespace, self.uid)

    @property
    def status(self) -> Obj:
        return as_dict(self.obj.get("status"))

    @property
    def spec(self) -> Obj:
        return as_dict(self.obj.get("spec"))

    @property
    def phase(self) -> str:
        return text(self.status.get("phase"))

    @property
    def node(self) -> str:
        return text(self.spec.get("nodeName"))

    @property
    def subject(self) -> ObjectRef:
        """What a finding about this pod is about: its controller, or the pod itself."""
        return self.owner or self.ref

    def with_reason(self, *reasons: str) -> list[Obj]:
        return [e for e in self.events if e.get("reason") in reasons]


def view(snapshot: Snapshot, pod: Obj) -> PodView:
    meta = as_dict(pod.get("metadata"))
    namespace, name = text(meta.get("namespace")), text(meta.get("name")) or "?"
    return PodView(
        obj=pod, namespace=namespace, name=name, uid=text(meta.get("uid")),
        owner=snapshot.controller_of(pod),
        containers=tuple(containers(pod)),
        events=tuple(snapshot.events_for("Pod", namespace, name)),
    )


def patch_command(owner: ObjectRef | None, ops: str) -> str | None:
    """`kubectl patch --type=json` on the owner's pod template, or None when it has none.

    `TEMPLATE` in the ops stands for the template's path, which differs by kind (a CronJob
    nests it under jobTemplate); a bare pod's or a Job's template cannot be changed.
    """
    if owner is None or owner.kind not in _TEMPLATE_PATHS:
        return None
    ops = ops.replace("TEMPLATE", _TEMPLATE_PATHS[owner.kind])
    return (f"kubectl -n {owner.namespace} patch {owner.kind.lower()} {owner.name} "
            f"--type=json -p '{ops}'")


def same_object(a: ObjectRef | None, b: ObjectRef | None) -> bool:
    """Same kind, namespace and name (uids may be unknown on one side)."""
    return a is not None and b is not None and (a.kind, a.namespace, a.name) == (
        b.kind, b.namespace, b.name)


def resource_arg(ref: ObjectRef) -> str:
    """'deployment/celery-worker' as kubectl's TYPE/NAME argument."""
    return f"{ref.kind.lower()}/{ref.name}"


# -- availability ---------------------------------------------------------------------------


def availability(snapshot: Snapshot, ref: ObjectRef | None) -> tuple[int, int] | None:
    """(available, desired) for a Deployment, StatefulSet or DaemonSet; None otherwise."""
    key = WORKLOAD_KEYS.get(ref.kind) if ref else None
    obj = snapshot.get(key, ref.namespace, ref.name) if key and ref else None
    return None if obj is None or ref is None else availability_of(ref.kind, obj)


def availability_of(kind: str, obj: Obj) -> tuple[int, int]:
    """(available, desired) from a workload's spec and status; absent counts read as 0."""
    status = as_dict(obj.get("status"))
    if kind == "DaemonSet":
        return (number(status.get("numberAvailable")),
                number(status.get("desiredNumberScheduled")))
    desired = number(as_dict(obj.get("spec")).get("replicas"), 1)
    available = status.get("availableReplicas", status.get("readyReplicas"))
    return number(available), desired


def availability_note(snapshot: Snapshot, ref: ObjectRef | None) -> str:
    """' (1/7 available)' for a workload, '' for anything else."""
    figures = availability(snapshot, ref)
    return f" ({figures[0]}/{figures[1]} available)" if figures else ""
