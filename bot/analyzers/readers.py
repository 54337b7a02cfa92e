"""Reading raw API objects defensively, and saying what they mean the same way everywhere.

Snapshot objects can be partial or malformed (a dump edited by hand, an object from a future
API version), so every reader here tolerates a missing or wrongly typed field and returns an
empty value rather than raising. On top of them sit the questions several analyzers ask of
pods and workloads ("which container is waiting, and why?", "what did the last termination
say?", "how many of its pods are available?") and the wording they share: "since 3h",
exit-code meanings, events merged into lines, the read-only Describe button.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cluster.fields import as_dict, as_list, number, text
from bot.cluster.snapshot import Obj, Snapshot
from bot.cluster.units import format_age, parse_time
from bot.models import ObjectRef, Proposal

FINISHED = ("Succeeded", "Failed")  # pod phases that will never run (or serve) again

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


def condition(obj: Obj, kind: str) -> Obj:
    """The status condition of the given type, or {} when the object has none."""
    found = (c for c in as_list(as_dict(obj.get("status")).get("conditions"))
             if c.get("type") == kind)
    return next(found, {})


def phase(pod: Obj) -> str:
    return text(as_dict(pod.get("status")).get("phase"))


def finished(pod: Obj) -> bool:
    """True for a Succeeded or Failed pod: it holds no resources and will not run again."""
    return phase(pod) in FINISHED


def age_seconds(now: datetime, timestamp: Any) -> float | None:
    when = parse_time(timestamp)
    return None if when is None else (now - when).total_seconds()


# -- wording --------------------------------------------------------------------------------


def since(now: datetime, timestamp: object) -> str:
    """"since 3h" for a past timestamp, kubectl-style; "" when it is absent or malformed."""
    seconds = age_seconds(now, timestamp)
    return "" if seconds is None else f"since {format_age(seconds)}"


def words(*parts: str) -> str:
    """Join the non-empty parts with spaces, so an unknown "since 3h" leaves no gap."""
    return " ".join(part for part in parts if part)


def plural(count: int, noun: str) -> str:
    """'1 pod', '3 pods'."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def unique(values: Iterable[str]) -> list[str]:
    """The values in first-seen order, each once."""
    return list(dict.fromkeys(values))


def shorten(message: str, limit: int = 240) -> str:
    """One line of at most `limit` characters, keeping both ends: errors end with the cause."""
    message = " ".join(message.split())
    if len(message) <= limit:
        return message
    head = limit // 3
    return f"{message[:head]}…{message[-(limit - head - 1):]}"


def describe(subject: ObjectRef, label: str = "Describe") -> Proposal:
    """The read-only "Describe" button every finding can offer."""
    return Proposal("describe", label, (subject,), mutating=False)


def resource_arg(ref: ObjectRef) -> str:
    """'deployment/celery-worker' as kubectl's TYPE/NAME argument."""
    return f"{ref.kind.lower()}/{ref.name}"


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


def restart_count(pod: Obj) -> int:
    """Restarts of all the pod's containers together."""
    return sum(c.restarts for c in containers(pod))


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


def warnings(events: Iterable[Obj]) -> list[Obj]:
    return [e for e in events if e.get("type") == "Warning"]


def for_container(events: Iterable[Obj], container: Container) -> list[Obj]:
    """Events about this container, plus pod-wide events that name no container."""
    wanted = ("", container.field_path)
    return [e for e in events
            if text(as_dict(e.get("involvedObject")).get("fieldPath")) in wanted]


# -- workload availability ------------------------------------------------------------------


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
