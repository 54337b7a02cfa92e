"""Read-only helpers a finding offers without confirmation: show logs, describe.

"Show logs" reads the last 50 lines of the pod's failing container, from its previous
instance when it is crash-looping (the current one has not logged anything useful yet), with
secret-looking lines redacted. "Describe" is a short `kubectl describe`: the status, the
conditions and the recent events of the subject, read from the snapshot the finding came
from, so it works on the demo cluster and dumps too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.actions.base import ActionSpec, Targets
from bot.actions.kubeapi import RemediationAPI
from bot.actions.redact import redact_lines
from bot.cluster.client import KubeError
from bot.cluster.kinds import kind_for
from bot.cluster.snapshot import Snapshot, event_time
from bot.cluster.units import format_age, parse_time
from bot.models import ActionRequest, ObjectRef

Obj = dict[str, Any]
LOG_LINES = 50
EVENTS_SHOWN = 10


class Unavailable(Exception):
    """The helper cannot answer here (no live cluster, object gone); the message says why."""


@dataclass(frozen=True)
class Shown:
    headline: str
    lines: tuple[str, ...]


# -- show logs ------------------------------------------------------------------------------


def show_logs(api: RemediationAPI | None, pod: ObjectRef) -> Shown:
    if api is None:
        raise Unavailable("logs need a live cluster; this clusterbot reads a demo or a dump")
    current = api.get(pod)
    container, previous = _failing_container(current)
    try:
        text = api.pod_logs(pod, container, previous=previous, tail=LOG_LINES)
    except KubeError as error:
        if not (previous and error.status == 400):
            raise
        previous = False  # no previous instance kept (the node restarted, or it never ran)
        text = api.pod_logs(pod, container, previous=False, tail=LOG_LINES)
    lines, redacted = redact_lines(text.splitlines()[-LOG_LINES:])
    notes = [" (previous instance, before its last restart)" if previous else "",
             f"; {redacted} secret-looking line(s) redacted" if redacted else "",
             "; the pod was recreated since the proposal, these are the new pod's"
             if (current.get("metadata") or {}).get("uid") != pod.uid else ""]
    headline = (f"Last {len(lines)} log lines of {pod.namespace}/{pod.name} container "
                f"{container}{''.join(notes)}")
    return Shown(headline, tuple(lines) or ("(no output)",))


def _failing_container(pod: Obj) -> tuple[str, bool]:
    """The container worth reading, and whether to read its previous instance."""
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or ()),
                *(status.get("containerStatuses") or ())]
    if not statuses:
        containers = (pod.get("spec") or {}).get("containers") or [{"name": ""}]
        return str(containers[0].get("name", "")), False
    worst = max(statuses, key=_trouble)
    running = "running" in (worst.get("state") or {})
    return str(worst.get("name", "")), (worst.get("restartCount") or 0) > 0 and not running


def _trouble(container: Obj) -> tuple[int, int]:
    state = container.get("state") or {}
    waiting = (state.get("waiting") or {}).get("reason", "")
    exit_code = (state.get("terminated") or {}).get("exitCode", 0)
    rank = (3 if waiting == "CrashLoopBackOff" else 2 if exit_code else
            1 if not container.get("ready") else 0)
    return rank, container.get("restartCount") or 0


# -- describe -------------------------------------------------------------------------------


def describe(snapshot: Snapshot | None, target: ObjectRef) -> Shown:
    """The object as the snapshot holds it; event ages are as of the snapshot's time."""
    info = kind_for(target.kind)
    obj = snapshot.get(info.key, target.namespace, target.name) if snapshot and info else None
    if snapshot is None or obj is None:
        raise Unavailable(f"{target} is not in the current view of the cluster (gone?)")
    uid = (obj.get("metadata") or {}).get("uid")
    note = " (recreated since the proposal)" if target.uid and uid != target.uid else ""
    lines = [*_status_lines(obj), *_event_lines(snapshot, target, snapshot.taken_at)]
    return Shown(f"{target}{note}", tuple(lines))


def _status_lines(obj: Obj) -> list[str]:
    status = obj.get("status") or {}
    scalars = [f"{k} {v}" for k, v in status.items()
               if isinstance(v, str | int | bool) and not k.endswith("Time")]
    lines = [f"Status: {', '.join(scalars)}"] if scalars else []
    lines += [f"Condition {c.get('type')} {c.get('status')}"
              + "".join(f" {c[k]}" for k in ("reason",) if c.get(k))
              + (f": {c['message']}" if c.get("message") else "")
              for c in status.get("conditions") or () if isinstance(c, dict)]
    lines += [_container_line(c) for c in status.get("containerStatuses") or ()
              if isinstance(c, dict)]
    return lines or ["Status: (none recorded)"]


def _container_line(container: Obj) -> str:
    state = container.get("state") or {}
    phase = next(iter(state), "unknown")
    reason = (state.get(phase) or {}).get("reason", "")
    return (f"Container {container.get('name')}: {phase}{f' {reason}' if reason else ''}, "
            f"ready {container.get('ready', False)}, restarts {container.get('restartCount', 0)}")


def _event_lines(snapshot: Snapshot, target: ObjectRef, now: datetime) -> list[str]:
    about = [(target.name, e) for e in snapshot.events_for(target.kind, target.namespace,
                                                           target.name)]
    for pod in snapshot.pods_of(target.kind, target.namespace, target.name):
        name = (pod.get("metadata") or {}).get("name", "")
        about += [(name, e) for e in snapshot.events_for("Pod", target.namespace, name)]
    latest = sorted(about, key=lambda pair: event_time(pair[1]))[-EVENTS_SHOWN:]
    if not latest:
        return ["Events: none recorded"]
    return [f"Events (latest {len(latest)}):", *(_event_line(name, e, now) for name, e in latest)]


def _event_line(name: str, event: Obj, now: datetime) -> str:
    when = parse_time(event_time(event))
    age = f"{format_age((now - when).total_seconds())} ago" if when else "?"
    count = f" ×{event['count']}" if (event.get("count") or 1) > 1 else ""
    return (f"  {event.get('type', '')} {event.get('reason', '')}{count} ({age}, {name}): "
            f"{event.get('message', '')}")


# -- declarations ---------------------------------------------------------------------------


def _logs_command(targets: Targets) -> str:
    pod = targets[0]
    return f"kubectl logs -n {pod.namespace} {pod.name} --tail={LOG_LINES} --all-containers"


def _describe_command(targets: Targets) -> str:
    t = targets[0]
    where = f" -n {t.namespace}" if t.namespace else ""
    return f"kubectl describe{where} {t.kind.lower()} {t.name}"


def _describe_logs(request: ActionRequest) -> str:
    pod = request.targets[0]
    return (f"Show the last {LOG_LINES} log lines of the failing container of {pod} (its "
            "previous instance if it is crash-looping), secret-looking lines redacted.")


LOGS = ActionSpec("logs", "show the logs of", frozenset({"Pod"}), lambda targets: "Show logs",
                  _describe_logs, _logs_command)
DESCRIBE = ActionSpec(
    "describe", "describe", None, lambda targets: "Describe",
    lambda request: f"Show the status and recent events of {request.targets[0]}.",
    _describe_command)
