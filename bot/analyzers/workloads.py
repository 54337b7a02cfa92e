"""Workload checks: controllers short of available pods, stalled rollouts, odd replica counts.

The pods analyzer already explains failing pods and groups them under their controller, with
the "(n/m available)" figure in its title. So this analyzer speaks only when it has something
to add (one problem, one finding): a workload short of pods for a reason no pod finding
carries (pods not ready without a failing probe event, pods the controller cannot create), a
rollout past its progress deadline, a workload scaled to zero, a DaemonSet pod on a node it
no longer belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.analyzers.base import Context, check, finding, guarded, named, per_run, ref
from bot.analyzers.pods import UNAVAILABILITY_CODES, issue_for, pod_problem
from bot.analyzers.readers import (
    WORKLOAD_KEYS,
    Obj,
    age_seconds,
    availability_of,
    condition,
    describe,
    event_lines,
    finished,
    plural,
    restart_count,
    shorten,
    warnings,
)
from bot.cluster.fields import as_dict, as_list, number, text
from bot.cluster.units import format_age
from bot.models import Finding, ObjectRef, Proposal, Severity

AREA = "workloads"
UNAVAILABLE = check("WORKLOAD-UNAVAILABLE", Severity.WARNING, AREA,
                    "A Deployment, StatefulSet or DaemonSet has fewer available pods than desired")
PROGRESS_DEADLINE = check("WORKLOAD-PROGRESS-DEADLINE", Severity.WARNING, AREA,
                          "A Deployment rollout made no progress within its deadline")
SCALED_ZERO = check("WORKLOAD-SCALED-ZERO", Severity.INFO, AREA,
                    "A Deployment or StatefulSet is scaled to zero replicas")
MISSCHEDULED = check("WORKLOAD-MISSCHEDULED", Severity.INFO, AREA,
                     "A DaemonSet runs pods on nodes where it should not")


def analyze(ctx: Context) -> Iterable[Finding]:
    for kind, key in WORKLOAD_KEYS.items():
        yield from guarded(kind, ctx.snapshot.items(key), _checker(ctx, kind))


def _checker(ctx: Context, kind: str) -> Callable[[Obj], Iterable[Finding]]:
    return lambda obj: _workload(ctx, kind, obj)


def _workload(ctx: Context, kind: str, obj: Obj) -> list[Finding]:
    if not isinstance(obj.get("status"), dict):
        return []  # no status to judge by (not yet observed, or malformed)
    subject = named(kind, obj)
    available, desired = availability_of(kind, obj)
    if kind != "DaemonSet" and desired == 0:
        return [_scaled_zero(subject)]
    found = [_misscheduled(ctx, subject, obj)] if kind == "DaemonSet" else []
    pods = ctx.snapshot.pods_of(kind, subject.namespace, subject.name)
    if any(_reported(ctx, p) for p in pods):
        return [f for f in found if f]
    stalled = condition(obj, "Progressing")
    if stalled.get("status") == "False" and stalled.get("reason") == "ProgressDeadlineExceeded":
        found.append(_progress_deadline(ctx, subject, obj, stalled, (available, desired)))
    elif available < desired and not _starting(ctx, pods, desired):
        found.append(_unavailable(ctx, subject, obj, pods, (available, desired)))
    return [f for f in found if f]


def _reported(ctx: Context, pod: Obj) -> bool:
    """True when the pods analyzer reports this pod for a reason that makes it unavailable."""
    issue = issue_for(ctx, pod)
    return issue is not None and issue.code in UNAVAILABILITY_CODES


def _live(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if not finished(p)]


def _ready(pod: Obj) -> bool:
    return condition(pod, "Ready").get("status") == "True"


def _starting(ctx: Context, pods: list[Obj], desired: int) -> bool:
    """All pods exist and the unready ones are younger than the pending threshold."""
    live = _live(pods)
    unready = [p for p in live if not _ready(p)]
    ages = [age_seconds(ctx.now, as_dict(p.get("metadata")).get("creationTimestamp"))
            for p in unready]
    return len(live) >= desired and bool(unready) and all(
        a is not None and a < ctx.thresholds.pending_seconds for a in ages)


# -- WORKLOAD-UNAVAILABLE -------------------------------------------------------------------


def _unavailable(ctx: Context, subject: ObjectRef, obj: Obj, pods: list[Obj],
                 figures: tuple[int, int]) -> Finding:
    live = _live(pods)
    unready = [p for p in live if not _ready(p)]
    reasons = []
    if unready:
        reasons.append(f"{plural(len(unready), 'pod')} not ready: "
                       + "; ".join(_pod_state(ctx, p) for p in unready[:3]))
    missing = figures[1] - len(live)
    failures = _create_failures(ctx, subject, obj)
    if missing > 0:
        reasons.append(f"{plural(missing, 'pod')} missing"
                       + (f": {shorten(failures[-1])}" if failures else ""))
    if not reasons:
        reasons.append("its pods report ready but the controller does not count them available "
                       "yet (minReadySeconds, or a status not updated yet)")
    names = [text(as_dict(p.get("metadata")).get("name")) for p in unready]
    return finding(
        UNAVAILABLE, subject, reason=_reason(unready, missing),
        title=f"{subject.name}: {figures[0]}/{figures[1]} available",
        cause="; ".join(reasons),
        evidence=[*(_evidence(ctx, p) for p in unready[:5]), *failures[-2:]],
        recommendation=_unavailable_fix(subject, obj, names) + _quota_fix(failures, subject),
        pods=names, proposals=_proposals(subject, unready),
    )


def _reason(unready: list[Obj], missing: int) -> str:
    if unready:
        return pod_problem(unready[0]) or "NotReady"
    return "FailedCreate" if missing > 0 else "MinimumReplicasUnavailable"


def _pod_state(ctx: Context, pod: Obj) -> str:
    meta, spec = as_dict(pod.get("metadata")), as_dict(pod.get("spec"))
    ready = condition(pod, "Ready")
    detail = text(ready.get("message")) or text(ready.get("reason"))
    restarts = restart_count(pod)
    age = age_seconds(ctx.now, ready.get("lastTransitionTime"))
    since = f" for {format_age(age)}" if age is not None else ""
    extra = ", ".join(x for x in (detail, f"{restarts} restarts" if restarts else "") if x)
    return (f"{meta.get('name')} on {spec.get('nodeName') or '(no node)'} "
            f"({pod_problem(pod) or 'NotReady'}{since}{': ' + extra if extra else ''})")


def _evidence(ctx: Context, pod: Obj) -> str:
    meta = as_dict(pod.get("metadata"))
    events = ctx.snapshot.events_for("Pod", text(meta.get("namespace")), text(meta.get("name")))
    lines = event_lines(warnings(events), 1)
    return f"{meta.get('name')}: {lines[-1]}" if lines else \
        f"{meta.get('name')}: Ready {condition(pod, 'Ready').get('status', '?')}, no events"


def _create_failures(ctx: Context, subject: ObjectRef, obj: Obj) -> list[str]:
    """Why the controller cannot create pods: ReplicaFailure conditions, FailedCreate events."""
    owners = [(subject.kind, subject.name)] + [
        ("ReplicaSet", name) for name in _replicasets_by_controller(ctx).get(
            (subject.kind, subject.namespace, subject.name), [])]
    lines = [f"ReplicaFailure {c.get('reason')}: {c.get('message')}"
             for c in as_list(as_dict(obj.get("status")).get("conditions"))
             if c.get("type") == "ReplicaFailure" and c.get("status") == "True"]
    for kind, name in owners:
        events = [e for e in ctx.snapshot.events_for(kind, subject.namespace, name)
                  if e.get("reason") == "FailedCreate"]
        lines += event_lines(events, 1)
    return lines


@per_run
def _replicasets_by_controller(ctx: Context) -> dict[tuple[str, str, str], list[str]]:
    """ReplicaSet names by their top-level controller's (kind, namespace, name)."""
    index: dict[tuple[str, str, str], list[str]] = {}
    for rs in ctx.snapshot.items("replicasets"):
        owner = ctx.snapshot.controller_of(rs)
        if owner is not None:
            index.setdefault((owner.kind, owner.namespace, owner.name), []).append(
                ref("ReplicaSet", rs).name)
    return index


def _selector(obj: Obj) -> str:
    labels = as_dict(as_dict(as_dict(obj.get("spec")).get("selector")).get("matchLabels"))
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _unavailable_fix(subject: ObjectRef, obj: Obj, names: list[str]) -> str:
    ns, kind = subject.namespace, subject.kind.lower()
    selector = _selector(obj)
    listing = f"`kubectl -n {ns} get pods -l {selector} -o wide`" if selector else \
        f"`kubectl -n {ns} get pods -o wide`"
    fix = f"See what the controller reports: `kubectl -n {ns} describe {kind} {subject.name}` " \
          f"and {listing}."
    if names:
        fix += (f" For the unready pod: `kubectl -n {ns} describe pod {names[0]}` and "
                f"`kubectl -n {ns} logs {names[0]} --all-containers`; if it is stuck, restart "
                f"the workload: `kubectl -n {ns} rollout restart {kind}/{subject.name}`.")
    return fix


def _quota_fix(failures: list[str], subject: ObjectRef) -> str:
    """When pods cannot be created because of a ResourceQuota, say how to make room."""
    if not any("exceeded quota" in line for line in failures):
        return ""
    ns = subject.namespace
    return (f" A ResourceQuota blocks new pods: compare `kubectl -n {ns} describe resourcequota` "
            f"with the pods' limits, then raise the quota (`kubectl -n {ns} edit resourcequota "
            "<name>`) or lower the limits.")


def _proposals(subject: ObjectRef, unready: list[Obj]) -> list[Proposal]:
    proposals = [describe(subject, f"Describe {subject}")]
    if unready:
        pod = ref("Pod", unready[0])
        proposals += [Proposal("logs", f"Show logs of {pod.name}", (pod,), mutating=False),
                      Proposal("rollout-restart", f"Restart {subject}", (subject,))]
    return proposals


# -- the other checks -----------------------------------------------------------------------


def _progress_deadline(ctx: Context, subject: ObjectRef, obj: Obj, stalled: Obj,
                       figures: tuple[int, int]) -> Finding:
    ns, name = subject.namespace, subject.name
    deadline = as_dict(obj.get("spec")).get("progressDeadlineSeconds", 600)
    message = text(stalled.get("message"))
    since = age_seconds(ctx.now, stalled.get("lastTransitionTime"))
    failures = _create_failures(ctx, subject, obj)
    blocked = f"; its pods cannot be created: {shorten(failures[-1])}" if failures else ""
    return finding(
        PROGRESS_DEADLINE, subject, reason="ProgressDeadlineExceeded",
        title=f"{name}: rollout stuck (ProgressDeadlineExceeded, {figures[0]}/{figures[1]} "
              "available)",
        cause=f"the rollout made no progress within progressDeadlineSeconds {deadline}"
              + (f" and has been stuck for {format_age(since)}" if since is not None else "")
              + f": {message}{blocked}",
        evidence=[f"Progressing False ProgressDeadlineExceeded: {message}", *failures[-2:]],
        recommendation=f"See why the new pods do not become available: `kubectl -n {ns} rollout "
                       f"status deployment/{name}` and `kubectl -n {ns} describe deployment "
                       f"{name}`; to go back to the last working version: `kubectl -n {ns} "
                       f"rollout undo deployment/{name}`." + _quota_fix(failures, subject),
        proposals=[describe(subject, f"Describe {subject}")],
    )


def _scaled_zero(subject: ObjectRef) -> Finding:
    ns, kind, name = subject.namespace, subject.kind.lower(), subject.name
    return finding(
        SCALED_ZERO, subject, reason="ScaledToZero", title=f"{name}: scaled to 0 replicas",
        cause="spec.replicas is 0, so nothing runs; fine if deliberate, surprising if not",
        evidence=["spec.replicas 0"],
        recommendation=f"To run it again: `kubectl -n {ns} scale {kind} {name} --replicas=1`; "
                       f"if it is no longer used, remove it: `kubectl -n {ns} delete {kind} "
                       f"{name}`.",
    )


def _misscheduled(ctx: Context, subject: ObjectRef, obj: Obj) -> Finding | None:
    count = number(as_dict(obj.get("status")).get("numberMisscheduled"))
    if count <= 0:
        return None
    ns, name = subject.namespace, subject.name
    strays = _off_selector(ctx, subject, obj)
    return finding(
        MISSCHEDULED, subject, reason="Misscheduled",
        title=f"{name}: {plural(count, 'pod')} on nodes where it should not run",
        cause=f"{plural(count, 'daemon pod')} {'runs' if count == 1 else 'run'} on nodes that "
              "no longer match the DaemonSet's nodeSelector, affinity or tolerations (a node "
              "label or taint changed after the pods were placed)",
        evidence=[f"status.numberMisscheduled {count}",
                  *(f"{p} runs on {n}, which lacks the nodeSelector labels" for p, n in strays)],
        recommendation=f"Find them with `kubectl -n {ns} get pods -o wide"
                       + (f" -l {_selector(obj)}`" if _selector(obj) else "`")
                       + " and compare with `kubectl get nodes --show-labels`; restore the "
                       "node's label or taint, or, if they should go, delete those pods: "
                       f"`kubectl -n {ns} delete pod <pod>`.",
        pods=[p for p, _ in strays],
    )


def _off_selector(ctx: Context, subject: ObjectRef, obj: Obj) -> list[tuple[str, str]]:
    template = as_dict(as_dict(as_dict(obj.get("spec")).get("template")).get("spec"))
    selector = as_dict(template.get("nodeSelector"))
    if not selector:
        return []
    strays = []
    for pod in ctx.snapshot.pods_of("DaemonSet", subject.namespace, subject.name):
        node_name = text(as_dict(pod.get("spec")).get("nodeName"))
        node = ctx.snapshot.get("nodes", "", node_name) if node_name else None
        labels = as_dict(as_dict((node or {}).get("metadata")).get("labels"))
        if node is not None and any(labels.get(k) != v for k, v in selector.items()):
            strays.append((text(as_dict(pod.get("metadata")).get("name")), node_name))
    return strays
