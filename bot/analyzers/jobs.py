"""Job and CronJob checks: batch work that failed, and schedules that stopped.

A Job that hits its backoffLimit or activeDeadlineSeconds keeps its failed pods for
inspection, so the diagnosis comes from those pods' exit codes and messages. For a CronJob,
only its most recent Job says whether the schedule works today, and the CronJob's history
limits delete old Jobs by themselves: the finding is about the CronJob, and the clean-up it
proposes is just the failed pods. Completed Jobs and their pods are healthy: no finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.analyzers.base import Context, check, finding, guarded, named, per_run, ref
from bot.analyzers.readers import (
    Obj,
    age_seconds,
    condition,
    containers,
    exit_meaning,
    plural,
    shorten,
    termination_text,
)
from bot.cluster.fields import as_dict, as_list, number, text
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import format_age
from bot.models import Finding, ObjectRef, Proposal, Severity

AREA = "jobs"
JOB_FAILED = check("JOB-FAILED", Severity.WARNING, AREA,
                   "A Job failed: it exceeded its backoff limit or its deadline")
CRONJOB_SUSPENDED = check("CRONJOB-SUSPENDED", Severity.INFO, AREA,
                          "A CronJob is suspended and schedules no Jobs")
CRONJOB_LAST_FAILED = check("CRONJOB-LAST-FAILED", Severity.WARNING, AREA,
                            "A CronJob's most recent Job failed")


def analyze(ctx: Context) -> Iterable[Finding]:
    yield from guarded("Job", ctx.snapshot.items("jobs"), lambda job: _job(ctx, job))
    yield from guarded("CronJob", ctx.snapshot.items("cronjobs"),
                       lambda cronjob: _cronjob(ctx, cronjob))


@per_run
def _pods_by_job(ctx: Context) -> dict[tuple[str, str], list[Obj]]:
    """Pods by the Job that directly owns them (pods_of() answers with the CronJob instead)."""
    index: dict[tuple[str, str], list[Obj]] = {}
    for pod in ctx.snapshot.items("pods"):
        meta = as_dict(pod.get("metadata"))
        for owner in as_list(meta.get("ownerReferences")):
            if owner.get("kind") == "Job" and owner.get("controller") is not False:
                key = (text(meta.get("namespace")), text(owner.get("name")))
                index.setdefault(key, []).append(pod)
    return index


@per_run
def _jobs_by_cronjob(ctx: Context) -> dict[ObjectRef, list[Obj]]:
    """Jobs by the CronJob that created them (only CronJobs that still exist)."""
    index: dict[ObjectRef, list[Obj]] = {}
    for job in ctx.snapshot.items("jobs"):
        cronjob = _cronjob_of(ctx.snapshot, job)
        if cronjob is not None:
            index.setdefault(_key(cronjob), []).append(job)
    return index


def _key(subject: ObjectRef) -> ObjectRef:
    """A reference without its uid, so the index finds an object whichever side knows it."""
    return ObjectRef(subject.kind, subject.name, subject.namespace)


def _failed(job: Obj) -> Obj:
    failed = condition(job, "Failed")
    return failed if failed.get("status") == "True" else {}


def _cronjob_of(snapshot: Snapshot, job: Obj) -> ObjectRef | None:
    owner = snapshot.controller_of(job)
    if owner is None or owner.kind != "CronJob":
        return None
    return owner if snapshot.get("cronjobs", owner.namespace, owner.name) else None


# -- what a failed Job's pods say -----------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A failed Job's diagnosis: why it stopped, what its pods said, which pods remain."""

    reason: str
    cause: str
    evidence: tuple[str, ...]
    pods: tuple[ObjectRef, ...]


def _failure(ctx: Context, job: Obj) -> Failure:
    failed = _failed(job)
    subject = ref("Job", job)
    failed_pods = [p for p in _pods_by_job(ctx).get((subject.namespace, subject.name), [])
                   if text(as_dict(p.get("status")).get("phase")) == "Failed"]
    reason = text(failed.get("reason")) or "Failed"
    ago = age_seconds(ctx.now, failed.get("lastTransitionTime"))
    when = f" ({format_age(ago)} ago)" if ago is not None else ""
    exits = _exits(failed_pods)
    endings = _endings(failed_pods)
    said = _last_message(failed_pods)
    cause = f"{_limit_text(job, reason)}{when}: " + (
        ", ".join(f"{plural(n, 'pod')} {what}" for what, n in exits.most_common(3))
        if exits else "its pods are gone, so their exit codes are unknown") + (
        f"; the last one said: {said}" if said else "")
    return Failure(
        reason=reason, cause=cause,
        evidence=(f"Failed {reason}: {text(failed.get('message'))}",
                  f"status.failed {number(as_dict(job.get('status')).get('failed'))}",
                  *(f"{', '.join(names)}: {ending}" for ending, names in endings.items())),
        pods=tuple(ref("Pod", p) for p in failed_pods),
    )


def _limit_text(job: Obj, reason: str) -> str:
    spec, status = as_dict(job.get("spec")), as_dict(job.get("status"))
    if reason == "DeadlineExceeded":
        return (f"it ran longer than its activeDeadlineSeconds "
                f"{spec.get('activeDeadlineSeconds', '?')} and was stopped")
    if reason == "BackoffLimitExceeded":
        failures = number(status.get("failed"))
        return (f"its pods failed {failures} times, past its backoffLimit of "
                f"{number(spec.get('backoffLimit'), 6)}")
    return f"it failed ({reason})"


def _exits(pods: list[Obj]) -> Counter[str]:
    """'exited with code 1 (application error)' per failed pod, counted."""
    found: Counter[str] = Counter()
    for pod in pods:
        term = next((c.terminated for c in containers(pod) if c.terminated), {})
        code = term.get("exitCode")
        found[f"exited with code {code} ({exit_meaning(code)})" if term else
              f"ended {as_dict(pod.get('status')).get('reason') or 'Failed'}"] += 1
    return found


def _last_message(pods: list[Obj]) -> str:
    """The termination message of the most recently finished container, if it left one."""
    ended = [(text(c.terminated.get("finishedAt")), text(c.terminated.get("message")))
             for pod in pods for c in containers(pod) if c.terminated.get("message")]
    return shorten(max(ended)[1]) if ended else ""


def _endings(pods: list[Obj]) -> dict[str, list[str]]:
    """How the containers ended ('container load exit code 1 (...), reason Error: message'),
    each with the pods that ended that way."""
    found: dict[str, list[str]] = {}
    for pod in pods:
        name = text(as_dict(pod.get("metadata")).get("name"))
        for c in containers(pod):
            if c.terminated:
                ending = f"container {c.name} {termination_text(c.terminated)}"
                found.setdefault(ending, []).append(name)
    return found


def _delete_pods(refs: tuple[ObjectRef, ...]) -> list[Proposal]:
    return [Proposal("delete-failed-job-pods", f"Delete {plural(len(refs), 'failed pod')}",
                     refs)] if refs else []


def _logs(refs: tuple[ObjectRef, ...]) -> list[Proposal]:
    return [Proposal("logs", f"Show logs of {refs[-1].name}", (refs[-1],),
                     mutating=False)] if refs else []


# -- the checks -----------------------------------------------------------------------------


def _job(ctx: Context, job: Obj) -> list[Finding]:
    if not _failed(job) or _cronjob_of(ctx.snapshot, job) is not None:
        return []  # healthy, running, or a CronJob's Job (reported with its CronJob)
    subject = named("Job", job)
    ns, name = subject.namespace, subject.name
    failure = _failure(ctx, job)
    deadline = (" If the work legitimately takes longer, raise spec.activeDeadlineSeconds."
                if failure.reason == "DeadlineExceeded" else "")
    return [finding(
        JOB_FAILED, subject, reason=failure.reason,
        title=f"{name}: Job failed ({failure.reason})",
        cause=failure.cause, evidence=failure.evidence,
        recommendation=f"See why it failed: `kubectl logs -n {ns} job/{name}`.{deadline} Once "
                       f"understood, remove the Job and its pods: `kubectl delete job -n {ns} "
                       f"{name}`.",
        pods=(p.name for p in failure.pods),
        proposals=[*_logs(failure.pods), *_delete_pods(failure.pods),
                   Proposal("delete-jobs", f"Delete Job {name}", (subject,))],
    )]


def _cronjob(ctx: Context, cronjob: Obj) -> list[Finding]:
    subject = named("CronJob", cronjob)
    found = []
    if as_dict(cronjob.get("spec")).get("suspend") is True:
        found.append(_suspended(ctx, subject, cronjob))
    latest = _latest_job(ctx, subject)
    if latest is not None and _failed(latest):
        found.append(_last_failed(ctx, subject, cronjob, latest))
    return found


def _latest_job(ctx: Context, cronjob: ObjectRef) -> Obj | None:
    jobs = _jobs_by_cronjob(ctx).get(_key(cronjob), [])
    started = [(text(as_dict(j.get("status")).get("startTime"))
                or text(as_dict(j.get("metadata")).get("creationTimestamp")), j) for j in jobs]
    return max(started, key=lambda pair: pair[0])[1] if started else None


def _suspended(ctx: Context, subject: ObjectRef, cronjob: Obj) -> Finding:
    ns, name = subject.namespace, subject.name
    status = as_dict(cronjob.get("status"))
    last = status.get("lastScheduleTime")
    age = age_seconds(ctx.now, last)
    return finding(
        CRONJOB_SUSPENDED, subject, reason="Suspended", title=f"{name}: CronJob suspended",
        cause="spec.suspend is true, so its schedule "
              f"({as_dict(cronjob.get('spec')).get('schedule', '?')}) starts no Jobs; "
              + (f"the last one was scheduled {format_age(age)} ago" if age is not None
                 else "no Job was scheduled yet"),
        evidence=["spec.suspend true",
                  *(f"status.{k} {status[k]}" for k in ("lastScheduleTime", "lastSuccessfulTime")
                    if isinstance(status.get(k), str))],
        recommendation=f"If it should run again: `kubectl -n {ns} patch cronjob {name} -p "
                       "'{\"spec\":{\"suspend\":false}}'`.",
    )


def _last_failed(ctx: Context, subject: ObjectRef, cronjob: Obj, job: Obj) -> Finding:
    ns, name = subject.namespace, subject.name
    job_name = ref("Job", job).name
    failure = _failure(ctx, job)
    success = age_seconds(ctx.now, as_dict(cronjob.get("status")).get("lastSuccessfulTime"))
    history = (f"; its last success was {format_age(success)} ago" if success is not None
               else "; no successful run is on record")
    names = " ".join(p.name for p in failure.pods)
    cleanup = (f" Its failed pods can go (the CronJob's history limit removes old Jobs by "
               f"itself): `kubectl delete pod -n {ns} {names}`." if names else "")
    return finding(
        CRONJOB_LAST_FAILED, subject, reason=failure.reason,
        title=f"{name}: last run failed ({failure.reason})",
        cause=f"its most recent Job {job_name} failed: {failure.cause}{history}",
        evidence=failure.evidence,
        recommendation=f"See why: `kubectl logs -n {ns} job/{job_name}`; after fixing, run it "
                       f"once by hand to check: `kubectl create job -n {ns} {name}-manual "
                       f"--from=cronjob/{name}`.{cleanup}",
        pods=(p.name for p in failure.pods),
        proposals=[*_logs(failure.pods), *_delete_pods(failure.pods)],
    )
