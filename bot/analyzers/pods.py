"""Pod checks: why pods are not running as they should, diagnosed from their state and events.

Each pod gets at most one issue, the most telling one (a stuck deletion before an image error
before a crash loop before a slow start); issues are then grouped by the pod's top-level
controller, so a Deployment with six failing replicas is one finding listing six pods. The
wording comes from Kubernetes itself (the waiting reason, the kubelet's events, the
scheduler's message), and the recommendation names the command that fixes the cause. The
checks themselves live in pod_creation, pod_crashes and pod_lifecycle; this module orders them
and builds the findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.analyzers.base import Context, finding, guarded, per_run
from bot.analyzers.pod_crashes import (
    CRASH_MIN_RESTARTS,
    crash_issue,
    not_ready_issue,
    restarts_issue,
)
from bot.analyzers.pod_creation import creation_issue, never_pull_group
from bot.analyzers.pod_issue import (
    CONFIG_ERROR,
    CRASHLOOP,
    EVICTED,
    IMAGE_NEVER_PULL,
    IMAGE_PULL,
    INVALID_IMAGE,
    LEFTOVER_COMPLETED,
    LEFTOVER_FAILED,
    NOT_READY,
    OOMKILLED,
    PENDING,
    RESTARTS,
    TERMINATING,
    Issue,
    view,
)
from bot.analyzers.pod_lifecycle import (
    evicted_group,
    evicted_issue,
    leftover_group,
    leftover_issue,
    pending_issue,
    terminating_issue,
)
from bot.analyzers.readers import (
    FINISHED,
    WORKLOAD_KEYS,
    Obj,
    availability_note,
    condition,
    containers,
    describe,
    event_lines,
    finished,
)
from bot.cluster.fields import as_dict, text
from bot.models import Finding, ObjectRef, Proposal

__all__ = ["CONFIG_ERROR", "CRASHLOOP", "EVICTED", "IMAGE_NEVER_PULL", "IMAGE_PULL",
           "INVALID_IMAGE", "LEFTOVER_COMPLETED", "LEFTOVER_FAILED", "NOT_READY", "OOMKILLED",
           "PENDING", "PROBLEM_WAITING", "RESTARTS", "TERMINATING", "UNAVAILABILITY_CODES",
           "Issue", "analyze", "issue_for", "pod_problem"]

# Codes that explain why a workload has fewer available pods than it wants; the workloads
# analyzer stays quiet about a workload whose pods carry one of these.
UNAVAILABILITY_CODES = frozenset({CRASHLOOP, IMAGE_PULL, IMAGE_NEVER_PULL, INVALID_IMAGE,
                                  CONFIG_ERROR, OOMKILLED, PENDING, NOT_READY, TERMINATING})

PROBLEM_WAITING = frozenset({"CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff",
                             "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError",
                             "CreateContainerError", "RunContainerError"})


def analyze(ctx: Context) -> Iterable[Finding]:
    outcomes = _outcomes(ctx)
    issues: list[Issue] = []

    def collect(pod: Obj) -> Iterable[Finding]:
        outcome = outcomes.get(id(pod))
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            issues.append(outcome)
        return ()

    yield from guarded("Pod", ctx.snapshot.items("pods"), collect)
    for group in _groups(issues).values():
        yield from guarded("Pod", [group[0].pod.obj], _builder(ctx, group))


def _builder(ctx: Context, group: list[Issue]) -> Callable[[Obj], Iterable[Finding]]:
    return lambda _pod: [_build(ctx, group)]


def issue_for(ctx: Context, pod: Obj) -> Issue | None:
    """The one issue the pods analyzer reports for this pod of `ctx.snapshot`; None when it
    is healthy or too malformed to diagnose (the pods analyzer reports that as its one
    ANALYZER-ERROR, so callers need not)."""
    outcome = _outcomes(ctx).get(id(pod))
    return outcome if isinstance(outcome, Issue) else None


@per_run
def _outcomes(ctx: Context) -> dict[int, Issue | Exception]:
    """Every pod's issue, or the error that kept it from being diagnosed, by id(pod): worked
    out once per run for the pods and workloads analyzers; healthy pods are left out."""
    outcomes: dict[int, Issue | Exception] = {}
    few_restarts = min(CRASH_MIN_RESTARTS, ctx.thresholds.restarts_warning)
    for pod in ctx.snapshot.items("pods"):
        if _quiet(pod, few_restarts):
            continue
        try:
            issue = _diagnose(ctx, pod)
        except Exception as error:  # noqa: BLE001 - reported by analyze() through guarded()
            outcomes[id(pod)] = error
        else:
            if issue is not None:
                outcomes[id(pod)] = issue
    return outcomes


def _quiet(pod: Obj, few_restarts: int) -> bool:
    """A Running pod, not being deleted, whose containers all run (or completed), are ready,
    were never OOM-killed and restarted fewer than `few_restarts` times: no check can fire.

    Most pods are like this, so this screen reads a few fields of the raw dict instead of
    diagnosing them; it must never pass a pod a check would report
    (test_quiet_pods_have_no_issue holds it to that).
    """
    status, meta = pod.get("status"), pod.get("metadata")
    if not isinstance(status, dict) or status.get("phase") != "Running" or not isinstance(
            meta, dict) or meta.get("deletionTimestamp") is not None:
        return False
    for key in ("initContainerStatuses", "containerStatuses"):
        statuses = status.get(key, [])
        if not isinstance(statuses, list):
            return False
        for container in statuses:
            if not isinstance(container, dict):
                return False
            state, restarts = container.get("state"), container.get("restartCount", 0)
            if not isinstance(state, dict) or "waiting" in state or type(restarts) is not int \
                    or restarts >= few_restarts:
                return False
            last = container.get("lastState")
            if "terminated" in state and _oom_killed(state) or last and _oom_killed(last):
                return False
            if key == "containerStatuses" and container.get("ready") is not True:
                return False
    return True


def _oom_killed(state: object) -> bool:
    """Whether a container state records an OOM kill (checked only when there is one)."""
    terminated = state.get("terminated") if isinstance(state, dict) else None
    return isinstance(terminated, dict) and terminated.get("reason") == "OOMKilled"


def _diagnose(ctx: Context, pod: Obj) -> Issue | None:
    pv = view(ctx.snapshot, pod)
    if pv.phase in FINISHED:
        return terminating_issue(ctx, pv) or evicted_issue(pv) or leftover_issue(ctx, pv)
    in_containers = (creation_issue(ctx, pv, c) or crash_issue(ctx, pv, c)
                     for c in pv.containers)
    return (terminating_issue(ctx, pv) or next(filter(None, in_containers), None)
            or pending_issue(ctx, pv) or not_ready_issue(pv) or restarts_issue(ctx, pv))


def pod_problem(pod: Obj) -> str | None:
    """The Kubernetes reason that keeps this pod from being healthy, from its state alone."""
    status = as_dict(pod.get("status"))
    if status.get("reason") == "Evicted":
        return "Evicted"
    pod_containers = containers(pod)
    for c in pod_containers:
        reason = text(c.waiting.get("reason"))
        if reason in PROBLEM_WAITING:
            return reason
        if c.terminated.get("reason") == "OOMKilled":
            return "OOMKilled"
    scheduled = condition(pod, "PodScheduled")
    if scheduled.get("status") == "False":
        return text(scheduled.get("reason")) or "Unschedulable"
    phase = text(status.get("phase"))
    if phase == "Failed":
        return text(status.get("reason")) or phase
    if phase == "Pending":
        return next((text(c.waiting.get("reason")) for c in pod_containers if c.waiting),
                    "") or phase
    if phase == "Running" and condition(pod, "Ready").get("status") == "False":
        return "NotReady"
    return None


# -- grouping issues into findings ----------------------------------------------------------

_LEFTOVERS = (LEFTOVER_FAILED, LEFTOVER_COMPLETED)
_TITLE_WORDS = {NOT_READY: "not ready (readiness probe failing)", RESTARTS: "restarting",
                TERMINATING: "stuck Terminating"}

# Findings whose diagnosis needs the whole group rather than one pod.
_GROUP_DIAGNOSES: dict[str, Callable[[Context, list[Issue], Finding], Finding]] = {
    IMAGE_NEVER_PULL: never_pull_group,
    EVICTED: evicted_group,
    LEFTOVER_FAILED: leftover_group,
    LEFTOVER_COMPLETED: leftover_group,
}


def _subject(issue: Issue) -> ObjectRef:
    if issue.code in _LEFTOVERS:
        return ObjectRef("Namespace", issue.pod.namespace)
    return issue.pod.subject


def _groups(issues: list[Issue]) -> dict[tuple[str, ObjectRef], list[Issue]]:
    groups: dict[tuple[str, ObjectRef], list[Issue]] = {}
    for issue in issues:
        groups.setdefault((issue.code, _subject(issue)), []).append(issue)
    return groups


def _build(ctx: Context, issues: list[Issue]) -> Finding:
    first = issues[0]
    built = finding(
        first.code, _subject(first), reason=first.reason, title=_title(ctx, issues),
        cause=first.cause, evidence=_evidence(issues), recommendation=first.fix,
        pods=(i.pod.name for i in issues), proposals=_proposals(issues),
    )
    diagnose_group = _GROUP_DIAGNOSES.get(first.code)
    return diagnose_group(ctx, issues, built) if diagnose_group else built


def _title(ctx: Context, issues: list[Issue]) -> str:
    first, count = issues[0], len(issues)
    words = _TITLE_WORDS.get(first.code, first.reason)
    if first.code == PENDING:
        words = f"Pending: {first.reason}"
    owner = first.pod.owner
    if owner is None:
        return f"{first.pod.name}: {words}"
    if first.code == EVICTED:
        return f"{owner.name}: {count} pod{'s' if count > 1 else ''} Evicted"
    live = [p for p in ctx.snapshot.pods_of(owner.kind, owner.namespace, owner.name)
            if not finished(p)]
    total = max(len(live), count)
    return f"{owner.name}: {count}/{total} pods {words}" \
           f"{availability_note(ctx.snapshot, owner)}"


def _evidence(issues: list[Issue], limit: int = 8) -> list[str]:
    """The group's events merged across pods (counts summed), then per-pod facts."""
    events = event_lines((e for i in issues for e in i.events), 4)
    lines = list(dict.fromkeys([*events, *(line for i in issues for line in i.evidence)]))
    return lines if len(lines) <= limit else [*lines[:limit], f"… and {len(lines) - limit} more"]


def _proposals(issues: list[Issue]) -> list[Proposal]:
    first = issues[0]
    subject, pod = _subject(first), first.pod.ref
    describe_it = describe(subject, f"Describe {subject}")
    logs = Proposal("logs", f"Show logs of {pod.name}", (pod,), mutating=False)
    if first.code in (EVICTED, *_LEFTOVERS):
        refs = tuple(i.pod.ref for i in issues)
        return [Proposal("delete-pods", f"Delete {len(refs)} pod(s)", refs)]
    if first.code in (CRASHLOOP, OOMKILLED):
        owner = first.pod.owner
        restart = [Proposal("rollout-restart", f"Restart {owner}", (owner,))] \
            if owner and owner.kind in WORKLOAD_KEYS else []
        return [logs, describe_it, *restart]
    if first.code in (NOT_READY, RESTARTS):
        return [logs, describe_it]
    return [describe_it]

