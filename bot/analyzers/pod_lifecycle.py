"""Pods stuck at either end of their life: never scheduled or started, stuck Terminating,
evicted, or finished and left over.

Pending pods are told apart by the scheduler's message (resources, affinity, taints,
volumes) or, once scheduled, by the kubelet's warnings; a pod stuck Terminating by what holds
it (finalizers, or a node that is gone). Evicted and leftover pods are clutter: one finding
per controller or namespace lists them all with the command that removes them.
"""

from __future__ import annotations

from dataclasses import replace

from bot.analyzers.base import Context
from bot.analyzers.pod_issue import (
    EVICTED,
    LEFTOVER_COMPLETED,
    LEFTOVER_FAILED,
    PENDING,
    TERMINATING,
    Issue,
    PodView,
)
from bot.analyzers.readers import (
    Obj,
    age_seconds,
    condition,
    plural,
    resource_arg,
    shorten,
    warnings,
)
from bot.cluster.fields import as_dict, as_list, strings, text
from bot.cluster.units import format_age
from bot.models import Finding, Severity

# -- Terminating ----------------------------------------------------------------------------


def terminating_issue(ctx: Context, pv: PodView) -> Issue | None:
    """A pod whose deletion was requested longer ago than the threshold."""
    meta = pv.meta
    age = age_seconds(ctx.now, meta.get("deletionTimestamp"))
    if age is None or age < ctx.thresholds.terminating_stuck_seconds:
        return None
    finalizers = strings(meta.get("finalizers"))
    node_ready = _node_ready(ctx, pv.node)
    if finalizers:
        why = f"finalizers {', '.join(finalizers)} still hold it"
    elif node_ready is not True:
        why = (f"its node {pv.node or '(none)'} is {'NotReady' if node_ready is False else 'gone'},"
               " so no kubelet can confirm its containers stopped")
    else:
        why = f"the kubelet on {pv.node} has not confirmed that its containers stopped"
    return Issue(TERMINATING, "Terminating", pv,
                 cause=f"deletion was requested {format_age(age)} ago but {why}",
                 evidence=(f"{pv.name}: deletionTimestamp {meta.get('deletionTimestamp')}",
                           *(f"finalizer {f}" for f in finalizers)),
                 fix=_terminating_fix(pv, bool(finalizers)))


def _terminating_fix(pv: PodView, finalizers: bool) -> str:
    ns, name = pv.namespace, pv.name
    unblock = (f"If the controller that set the finalizers is gone, remove them: `kubectl -n {ns} "
               f"patch pod {name} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'`. "
               if finalizers else "")
    return (f"Check `kubectl -n {ns} describe pod {name}`. {unblock}Once you are sure its "
            f"containers are no longer running, force the removal: `kubectl -n {ns} delete pod "
            f"{name} --grace-period=0 --force` (caution: if they still run, a StatefulSet may "
            "start a second copy with the same identity and volumes).")


def _node_ready(ctx: Context, node: str) -> bool | None:
    obj = ctx.snapshot.get("nodes", "", node) if node else None
    if obj is None:
        return None
    return condition(obj, "Ready").get("status") == "True"


# -- Evicted --------------------------------------------------------------------------------


def evicted_issue(pv: PodView) -> Issue | None:
    if pv.phase != "Failed" or pv.status.get("reason") != "Evicted":
        return None
    message = shorten(text(pv.status.get("message")))
    return Issue(EVICTED, "Evicted", pv,
                 cause=f"the kubelet on {pv.node or 'its node'} evicted it: {message}",
                 evidence=(f"{pv.name} on {pv.node or '?'}: {shorten(message, 120)}",))


def evicted_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
    first = issues[0].pod
    names = " ".join(i.pod.name for i in issues)
    bare = first.owner is None
    note = ("Nothing recreates a bare pod: re-create it, better as a Deployment. " if bare else
            "Its controller has already replaced them. ")
    pressure = ("Set memory requests close to real use so the scheduler does not overcommit the "
                "node. " if "memory" in built.cause else "")
    fix = f"{note}{pressure}Remove the evicted pods: `kubectl delete pod -n {first.namespace} " \
          f"{names}`."
    nodes = ", ".join(sorted({i.pod.node for i in issues if i.pod.node})) or "its node"
    message = shorten(text(first.status.get("message")))
    count = "it" if len(issues) == 1 else f"{len(issues)} pods"
    cause = f"the kubelet on {nodes} evicted {count}: {message}"
    return replace(built, cause=cause, recommendation=fix,
                   severity=Severity.WARNING if bare else built.severity)


# -- leftovers ------------------------------------------------------------------------------


def leftover_issue(ctx: Context, pv: PodView) -> Issue | None:
    """Finished pods: leftovers unless a Job that still exists accounts for them."""
    owner = pv.owner  # a CronJob here means the pod's Job exists (it led to the CronJob)
    if owner is not None and (owner.kind == "CronJob" or owner.kind == "Job" and ctx.snapshot.get(
            "jobs", owner.namespace, owner.name) is not None):
        return None  # the jobs analyzer reports failed Jobs; completed ones are healthy
    code = LEFTOVER_FAILED if pv.phase == "Failed" else LEFTOVER_COMPLETED
    return Issue(code, pv.phase, pv, evidence=(f"{pv.name}: {_ending(pv)}",))


def _ending(pv: PodView) -> str:
    """How a finished pod ended: 'Error, exit code 1' or the pod's own reason."""
    for c in pv.containers:
        term = c.terminated
        if term:
            return f"{term.get('reason') or 'terminated'}, exit code {term.get('exitCode')}"
    reason = text(pv.status.get("reason")) or pv.phase
    message = text(pv.status.get("message"))
    return f"{reason}: {shorten(message, 120)}" if message else reason


def leftover_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
    ns, count = issues[0].pod.namespace, len(issues)
    state = "failed" if issues[0].code == LEFTOVER_FAILED else "completed"
    names = " ".join(i.pod.name for i in issues)
    return replace(
        built,
        title=f"{ns}: {plural(count, state + ' pod')} left over",
        cause=f"{plural(count, 'pod')} ended {issues[0].pod.phase} and no "
              f"controller will delete {'them' if count > 1 else 'it'}; finished pods only "
              "clutter pod listings",
        recommendation=f"Delete them: `kubectl delete pod -n {ns} {names}`.",
    )


# -- Pending --------------------------------------------------------------------------------


def pending_issue(ctx: Context, pv: PodView) -> Issue | None:
    """A pod Pending for longer than the threshold: unschedulable, or its containers do not
    start."""
    if pv.phase != "Pending":
        return None
    age = age_seconds(ctx.now, pv.meta.get("creationTimestamp"))
    if age is None or age < ctx.thresholds.pending_seconds:
        return None
    scheduled = condition(pv.obj, "PodScheduled")
    if scheduled.get("status") == "False" or not pv.node:
        return _unschedulable(pv, scheduled, age)
    warned = warnings(pv.events)
    waiting = next((text(c.waiting.get("reason")) for c in pv.containers if c.waiting), "")
    reason = text(warned[-1].get("reason")) if warned else waiting or "Pending"
    detail = f": {shorten(text(warned[-1].get('message')))}" if warned else ""
    claims = [text(as_dict(v.get("persistentVolumeClaim")).get("claimName"))
              for v in as_list(pv.spec.get("volumes")) if v.get("persistentVolumeClaim")]
    volume_fix = (f" Check its volumes: `kubectl -n {pv.namespace} describe pvc "
                  f"{' '.join(claims)}`." if claims and "Mount" in reason + detail else "")
    return Issue(PENDING, reason, pv,
                 cause=f"scheduled on {pv.node or '?'} {format_age(age)} ago but its containers "
                       f"have not started ({waiting or 'no container status'}){detail}",
                 events=tuple(warned),
                 fix=f"See the events: `kubectl -n {pv.namespace} describe pod {pv.name}`."
                     + volume_fix)


def _unschedulable(pv: PodView, scheduled: Obj, age: float) -> Issue:
    events = pv.with_reason("FailedScheduling")
    message = text(scheduled.get("message")) or (
        text(events[-1].get("message")) if events else "no message from the scheduler")
    known = "Unschedulable" if events or scheduled else "Pending"
    reason = text(scheduled.get("reason")) or known
    return Issue(PENDING, reason, pv,
                 cause=f"the scheduler has not placed it for {format_age(age)}: {message}",
                 evidence=() if events else (f"{pv.name}: PodScheduled False {reason}: "
                                             f"{shorten(message)}",),
                 events=tuple(events),
                 fix=_scheduling_fix(pv, message))


def _scheduling_fix(pv: PodView, message: str) -> str:
    ns, lowered = pv.namespace, message.lower()
    target = resource_arg(pv.template_target)
    if "insufficient" in lowered:
        requests = _requests(pv)
        return (f"It requests {requests or 'more than any node has free'}: lower the requests "
                f"(`kubectl -n {ns} set resources {target} --requests=cpu=<cpu>,memory=<mem>`) "
                "or free room; see what is allocated per node: `kubectl describe nodes | grep "
                "-A 8 'Allocated resources'`.")
    if "node affinity" in lowered or "selector" in lowered:
        selector = pv.spec.get("nodeSelector") or {}
        return (f"No node carries the labels it asks for (nodeSelector {selector}): label a "
                "node (`kubectl label node <node> <key>=<value>`) or fix the selector/affinity "
                f"of {target}.")
    if "taint" in lowered:
        return ("The nodes carry taints it does not tolerate: `kubectl describe nodes | grep "
                "Taints`; remove the taint (`kubectl taint node <node> <key>-`) or add a "
                f"toleration to {target}.")
    if "persistentvolumeclaim" in lowered or "volume" in lowered:
        return (f"Its volume is not usable: `kubectl -n {ns} get pvc` and `kubectl -n {ns} "
                "describe pvc <claim>` (unbound claim, or a volume tied to another node).")
    return f"See `kubectl -n {ns} describe pod {pv.name}` for the scheduler's full message."


def _requests(pv: PodView) -> str:
    parts = []
    for c in pv.containers:
        requests = as_dict(as_dict(c.spec.get("resources")).get("requests"))
        parts += [f"{k} {v}" for k, v in requests.items() if k in ("cpu", "memory")]
    return ", ".join(parts)
