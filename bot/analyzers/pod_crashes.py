"""Containers that run but die or fail their probes: OOM kills, crash loops, probe kills,
readiness failures and many restarts.

A crash loop has three usual causes, told apart by evidence: the kernel's OOM killer (the
termination reason), the kubelet killing a container whose liveness or startup probe fails
(Unhealthy and Killing events), or the app exiting by itself (its exit code). Each gets its
own fix, down to the JSON patch for the owner's probe settings.
"""

from __future__ import annotations

import json
from typing import Any

from bot.analyzers.base import Context
from bot.analyzers.pod_issue import CRASHLOOP, NOT_READY, OOMKILLED, RESTARTS, Issue, PodView
from bot.analyzers.readers import (
    Container,
    Obj,
    age_seconds,
    patch_command,
    probe_settings,
    probe_text,
    resource_arg,
    shorten,
    termination_text,
    total_count,
)
from bot.cluster.fields import as_dict, text
from bot.cluster.units import format_bytes, memory_bytes

# The kubelet's restart back-off caps at 5 minutes: a container that restarts often and last
# died within twice that is crash-looping even if it happens to be running right now.
CRASH_WINDOW_SECONDS = 600
CRASH_MIN_RESTARTS = 3
# An old OOM kill followed by a day of stable running is history, not a problem.
_OOM_RECENT_SECONDS = 86400


def crash_issue(ctx: Context, pv: PodView, c: Container) -> Issue | None:
    """The issue of a container that was OOM-killed or keeps crashing, or None."""
    if _oom_killed(ctx, c):
        return _oom(pv, c)
    if c.waiting.get("reason") == "CrashLoopBackOff" or _recently_crashed(ctx, c):
        return _crashloop(pv, c)
    return None


# -- OOMKilled ------------------------------------------------------------------------------


def _oom_killed(ctx: Context, c: Container) -> bool:
    if c.terminated.get("reason") == "OOMKilled":
        return True
    last = c.last_terminated
    if last.get("reason") != "OOMKilled":
        return False
    age = age_seconds(ctx.now, last.get("finishedAt"))
    return c.waiting.get("reason") == "CrashLoopBackOff" or (
        age is not None and age < _OOM_RECENT_SECONDS)


def _oom(pv: PodView, c: Container) -> Issue:
    limit_text = text(as_dict(as_dict(c.spec.get("resources")).get("limits")).get("memory"))
    limit = memory_bytes(limit_text) if limit_text else None
    looping = c.waiting.get("reason") == "CrashLoopBackOff"
    state = f"; restarted {c.restarts} times" + (", now in CrashLoopBackOff" if looping else "")
    if limit:
        cause = (f"container {c.name} uses more memory than its limit of {limit_text} and the "
                 f"kernel kills it (OOMKilled, exit code 137){state}")
        fix = _resources_fix(pv, c, format_bytes(limit * 2))
    else:
        cause = (f"container {c.name} was OOMKilled without a memory limit of its own: the node "
                 f"{pv.node or ''} ran out of memory{state}")
        fix = (f"Set a memory request and limit that match its real use (see `kubectl -n "
               f"{pv.namespace} top pod {pv.name}`) so the scheduler places it on a node with "
               "room: " + _resources_fix(pv, c, "<size>"))
    last = c.terminated or c.last_terminated
    return Issue(OOMKILLED, "OOMKilled", pv, container=c, cause=cause, fix=fix,
                 evidence=(f"{pv.name}: container {c.name} OOMKilled (exit code "
                           f"{last.get('exitCode')}) at {last.get('finishedAt') or '?'}, memory "
                           f"limit {limit_text or 'none'}, {c.restarts} restarts",))


def _resources_fix(pv: PodView, c: Container, size: str) -> str:
    target = pv.template_target
    if target.kind == "Pod" or target.kind == "CronJob":
        return (f"raise resources.limits.memory of container {c.name} to {size} in the "
                f"{target.kind.lower()}'s manifest and re-apply it.")
    return (f"Raise the limit, e.g. to {size}: `kubectl -n {pv.namespace} set resources "
            f"{resource_arg(target)} -c {c.name} --limits=memory={size}`, or find what "
            "grows (a leak, an unbounded cache) with the app's metrics.")


# -- CrashLoopBackOff -----------------------------------------------------------------------


def _recently_crashed(ctx: Context, c: Container) -> bool:
    if not c.running or c.restarts < CRASH_MIN_RESTARTS:
        return False
    age = age_seconds(ctx.now, c.last_terminated.get("finishedAt"))
    return age is not None and age < CRASH_WINDOW_SECONDS


def _crashloop(pv: PodView, c: Container) -> Issue:
    kills = _probe_kill(pv, c)
    if kills is not None:
        return kills
    last = c.last_terminated or c.terminated
    return Issue(CRASHLOOP, "CrashLoopBackOff", pv, container=c,
                 cause=f"container {c.name} keeps exiting ({termination_text(last)}); it has "
                       f"restarted {c.restarts} times",
                 evidence=(f"{pv.name}: container {c.name} restarted {c.restarts} times, last "
                           f"{termination_text(last)}",),
                 events=tuple(pv.container_events(c, "BackOff")),
                 fix=f"Read why it crashed: `kubectl -n {pv.namespace} logs {pv.name} -c "
                     f"{c.name} --previous`. {_exit_hint(last.get('exitCode'), pv)}")


def _exit_hint(code: Any, pv: PodView) -> str:
    describe = f"`kubectl -n {pv.namespace} describe pod {pv.name}`"
    hints = {
        0: "Its main process finishes: a Deployment's container must keep running (use a Job "
           "for one-off work).",
        127: "Exit code 127: the command does not exist in the image; fix command/args or the "
             "image's entrypoint.",
        126: "Exit code 126: the command is not executable (permissions or wrong file).",
        137: f"Exit code 137 without OOMKilled: something sent SIGKILL; look for probe kills "
             f"and node pressure in {describe}.",
        143: f"Exit code 143: it was asked to stop (SIGTERM); look for probe kills in "
             f"{describe}.",
    }
    return hints.get(code, "The log's last lines usually name the failing setting or "
                           "dependency (a wrong env value, an unreachable database).")


# -- probe kills ----------------------------------------------------------------------------


def _probe_kill(pv: PodView, c: Container) -> Issue | None:
    """A crash loop caused by the kubelet killing a container whose probe fails."""
    for kind, field in (("Liveness", "livenessProbe"), ("Startup", "startupProbe")):
        failures = [e for e in pv.container_events(c, "Unhealthy")
                    if text(e.get("message")).startswith(f"{kind} probe failed")]
        if not failures:
            continue
        probe = as_dict(c.spec.get(field))
        killed = pv.container_events(c, "Killing")
        code = (c.last_terminated or c.terminated).get("exitCode")
        message = text(failures[-1].get("message"))
        cause = (f"the {kind.lower()} probe ({probe_text(probe)}) failed "
                 f"{total_count(failures)} times and the kubelet killed the container"
                 f"{f' (exit code {code})' if code is not None else ''}; "
                 f"{_probe_why(message, probe)}")
        return Issue(CRASHLOOP, "CrashLoopBackOff", pv, container=c, cause=cause,
                     events=(*failures, *killed),
                     evidence=(f"{pv.name}: container {c.name} restarted {c.restarts} times",),
                     fix=_probe_fix(pv, c, kind, probe))
    return None


def _probe_why(message: str, probe: Obj) -> str:
    lowered = message.lower()
    timeout = probe_settings(probe)["timeoutSeconds"]
    if "timeout" in lowered or "deadline exceeded" in lowered:
        return (f"the app does not answer within timeoutSeconds {timeout}: it needs longer than "
                "the probe allows to answer")
    if "connection refused" in lowered:
        return ("nothing listens on the port yet when the probe starts: the app needs longer "
                "to start than the probe allows")
    if "statuscode" in lowered or "status code" in lowered:
        return "the app answers the probe with an error status"
    return f"the app needs longer than the probe allows to answer ({shorten(message, 120)})"


def _probe_fix(pv: PodView, c: Container, kind: str, probe: Obj) -> str:
    settings = probe_settings(probe)
    base = f"TEMPLATE{c.patch_path}"
    if kind == "Startup":
        threshold = max(30, settings["failureThreshold"] * 2)
        ops = [{"op": "replace", "path": f"{base}/startupProbe/failureThreshold",
                "value": threshold}]
        advice = (f"Give the app longer to start: raise the startupProbe failureThreshold to "
                  f"{threshold} (up to {threshold * settings['periodSeconds']}s)")
    else:
        handler = {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "exec", "grpc")}
        startup = {**handler, "periodSeconds": 10, "failureThreshold": 30}
        ops = [{"op": "add", "path": f"{base}/startupProbe", "value": startup},
               {"op": "replace", "path": f"{base}/livenessProbe/timeoutSeconds",
                "value": max(5, settings["timeoutSeconds"])}]
        advice = ("Add a startupProbe so the liveness probe only starts once the app is up "
                  "(same check, periodSeconds 10, failureThreshold 30: up to 300s to start) and "
                  f"raise the liveness timeoutSeconds from {settings['timeoutSeconds']} to "
                  f"{max(5, settings['timeoutSeconds'])}")
    patch = patch_command(pv.owner, json.dumps(ops, separators=(",", ":")))
    how = f": `{patch}`" if patch else (" in the pod's manifest (a running pod's probes cannot "
                                        "be changed) and recreate the pod")
    return f"{advice}{how}. Check the app's own log: `kubectl -n {pv.namespace} logs {pv.name} " \
           f"-c {c.name} --previous`."


# -- readiness failures and restarts of running containers ----------------------------------


def not_ready_issue(pv: PodView) -> Issue | None:
    """A running container whose readiness probe keeps failing, from the kubelet's events."""
    if pv.phase != "Running":
        return None
    for c in pv.containers:
        if c.init or not c.running or c.ready:
            continue
        failures = [e for e in pv.container_events(c, "Unhealthy")
                    if text(e.get("message")).startswith("Readiness probe failed")]
        if failures:
            return _readiness_issue(pv, c, failures)
    return None


def _readiness_issue(pv: PodView, c: Container, failures: list[Obj]) -> Issue:
    probe = as_dict(c.spec.get("readinessProbe"))
    settings = probe_settings(probe)
    message = text(failures[-1].get("message"))
    timeout = max(5, settings["timeoutSeconds"])
    ops = json.dumps([{"op": "replace", "value": timeout,
                       "path": f"TEMPLATE{c.patch_path}/readinessProbe/timeoutSeconds"}],
                     separators=(",", ":"))
    patch = patch_command(pv.owner, ops)
    slow = "timeout" in message.lower() or "deadline exceeded" in message.lower()
    fix = (f"Check what the endpoint answers: `kubectl -n {pv.namespace} logs {pv.name} -c "
           f"{c.name}` and `kubectl -n {pv.namespace} describe pod {pv.name}`.")
    if slow and patch:
        fix += f" It answers too slowly: raise timeoutSeconds to {timeout}: `{patch}`."
    return Issue(NOT_READY, "Unhealthy", pv, container=c,
                 cause=f"container {c.name} runs but its readiness probe ({probe_text(probe)}) "
                       f"failed {total_count(failures)} times, so Services send it no "
                       f"traffic: {shorten(message, 160)}",
                 events=tuple(failures), fix=fix)


def restarts_issue(ctx: Context, pv: PodView) -> Issue | None:
    """A running container that has restarted more than the threshold allows."""
    for c in pv.containers:
        if c.running and c.restarts >= ctx.thresholds.restarts_warning:
            last = c.last_terminated
            ended = (f"; the last run ended {last.get('finishedAt') or '?'} with "
                     f"{termination_text(last)}" if last else "")
            return Issue(RESTARTS, "Restarted", pv, container=c,
                         cause=f"container {c.name} is running but has restarted "
                               f"{c.restarts} times{ended}",
                         evidence=(f"{pv.name}: container {c.name} restartCount {c.restarts}",),
                         fix=f"See why the previous run ended: `kubectl -n {pv.namespace} logs "
                             f"{pv.name} -c {c.name} --previous`.")
    return None
