"""Pod checks: why pods are not running as they should, diagnosed from their state and events.

Each pod gets at most one issue, the most telling one (a stuck deletion before an image error
before a crash loop before a slow start); issues are then grouped by the pod's top-level
controller, so a Deployment with six failing replicas is one finding listing six pods. The
wording comes from Kubernetes itself (the waiting reason, the kubelet's events, the
scheduler's message), and the recommendation names the command that fixes the cause.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from bot.analyzers import podstate as ps
from bot.analyzers.base import Context, check, finding, guarded
from bot.analyzers.podstate import Container, Obj, PodView, as_dict, text
from bot.cluster.units import format_age, format_bytes, memory_bytes
from bot.models import Finding, ObjectRef, Proposal, Severity

AREA = "pods"
CRASHLOOP = check("POD-CRASHLOOP", Severity.WARNING, AREA,
                  "A container keeps crashing and the kubelet backs off restarting it")
IMAGE_PULL = check("POD-IMAGE-PULL", Severity.WARNING, AREA,
                   "An image cannot be pulled: missing, unauthorized or registry unreachable")
IMAGE_NEVER_PULL = check("POD-IMAGE-NEVER-PULL", Severity.WARNING, AREA,
                         "imagePullPolicy is Never and the image is not on the node")
INVALID_IMAGE = check("POD-INVALID-IMAGE", Severity.WARNING, AREA,
                      "The image reference cannot be parsed")
CONFIG_ERROR = check("POD-CONFIG-ERROR", Severity.WARNING, AREA,
                     "A container cannot be created: a Secret, ConfigMap or key is missing")
OOMKILLED = check("POD-OOMKILLED", Severity.WARNING, AREA,
                  "A container was killed for running out of memory")
EVICTED = check("POD-EVICTED", Severity.INFO, AREA,
                "Pods were evicted by the kubelet under node resource pressure")
PENDING = check("POD-PENDING", Severity.WARNING, AREA,
                "A pod stays Pending: it cannot be scheduled or its containers cannot start")
NOT_READY = check("POD-NOT-READY", Severity.WARNING, AREA,
                  "A running container keeps failing its readiness probe")
RESTARTS = check("POD-RESTARTS", Severity.INFO, AREA,
                 "A running container has restarted many times")
TERMINATING = check("POD-TERMINATING", Severity.WARNING, AREA,
                    "A pod is stuck Terminating")
LEFTOVER_FAILED = check("POD-LEFTOVER-FAILED", Severity.INFO, AREA,
                        "Failed pods that no controller will clean up are left over")
LEFTOVER_COMPLETED = check("POD-LEFTOVER-COMPLETED", Severity.INFO, AREA,
                           "Completed pods that no controller will clean up are left over")

# Codes that explain why a workload has fewer available pods than it wants; the workloads
# analyzer stays quiet about a workload whose pods carry one of these.
UNAVAILABILITY_CODES = frozenset({CRASHLOOP, IMAGE_PULL, IMAGE_NEVER_PULL, INVALID_IMAGE,
                                  CONFIG_ERROR, OOMKILLED, PENDING, NOT_READY, TERMINATING})

PROBLEM_WAITING = frozenset({"CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff",
                             "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError",
                             "CreateContainerError", "RunContainerError"})
_PULL_ERRORS = ("ErrImagePull", "ImagePullBackOff")
# The kubelet's restart back-off caps at 5 minutes: a container that restarts often and last
# died within twice that is crash-looping even if it happens to be running right now.
_CRASH_WINDOW_SECONDS = 600
_CRASH_MIN_RESTARTS = 3
# An old OOM kill followed by a day of stable running is history, not a problem.
_OOM_RECENT_SECONDS = 86400
_TERMINAL = ("Failed", "Succeeded")


@dataclass(frozen=True)
class Issue:
    """What is wrong with one pod, with the pod-level diagnosis and fix."""

    code: str
    reason: str
    pod: PodView
    cause: str = ""
    evidence: tuple[str, ...] = ()  # facts about this pod
    fix: str = ""
    container: Container | None = None
    events: tuple[Obj, ...] = ()  # the events that back the diagnosis up


def analyze(ctx: Context) -> Iterable[Finding]:
    issues: list[Issue] = []

    def collect(pod: Obj) -> Iterable[Finding]:
        issue = issue_for(ctx, pod)
        if issue is not None:
            issues.append(issue)
        return ()

    yield from guarded("Pod", ctx.snapshot.items("pods"), collect)
    for group in _groups(issues).values():
        yield from guarded("Pod", [group[0].pod.obj], _builder(ctx, group))


def _builder(ctx: Context, group: list[Issue]) -> Callable[[Obj], Iterable[Finding]]:
    return lambda _pod: [_build(ctx, group)]


def issue_for(ctx: Context, pod: Obj) -> Issue | None:
    """The one issue the pods analyzer reports for this pod, or None when it is healthy."""
    pv = ps.view(ctx.snapshot, pod)
    if pv.phase in _TERMINAL:
        return _terminating(ctx, pv) or _evicted(pv) or _leftover(ctx, pv)
    in_containers = (_container_issue(ctx, pv, c) for c in pv.containers)
    return (_terminating(ctx, pv) or next(filter(None, in_containers), None)
            or _pending(ctx, pv) or _not_ready(pv) or _restarts(ctx, pv))


def pod_problem(pod: Obj) -> str | None:
    """The Kubernetes reason that keeps this pod from being healthy, from its state alone."""
    status = as_dict(pod.get("status"))
    if status.get("reason") == "Evicted":
        return "Evicted"
    for c in ps.containers(pod):
        reason = text(c.waiting.get("reason"))
        if reason in PROBLEM_WAITING:
            return reason
        if c.terminated.get("reason") == "OOMKilled":
            return "OOMKilled"
    scheduled = ps.condition(pod, "PodScheduled")
    if scheduled.get("status") == "False":
        return text(scheduled.get("reason")) or "Unschedulable"
    phase = text(status.get("phase"))
    if phase == "Failed":
        return text(status.get("reason")) or phase
    if phase == "Pending":
        return next((text(c.waiting.get("reason")) for c in ps.containers(pod) if c.waiting),
                    "") or phase
    if phase == "Running" and ps.condition(pod, "Ready").get("status") == "False":
        return "NotReady"
    return None


# -- pod-level rules, in order of precedence ------------------------------------------------


def _terminating(ctx: Context, pv: PodView) -> Issue | None:
    meta = as_dict(pv.obj.get("metadata"))
    age = ps.age_seconds(ctx.now, meta.get("deletionTimestamp"))
    if age is None or age < ctx.thresholds.terminating_stuck_seconds:
        return None
    finalizers = ps.strings(meta.get("finalizers"))
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


def _evicted(pv: PodView) -> Issue | None:
    if pv.phase != "Failed" or pv.status.get("reason") != "Evicted":
        return None
    message = ps.shorten(text(pv.status.get("message")))
    return Issue(EVICTED, "Evicted", pv,
                 cause=f"the kubelet on {pv.node or 'its node'} evicted it: {message}",
                 evidence=(f"{pv.name} on {pv.node or '?'}: {ps.shorten(message, 120)}",))


def _leftover(ctx: Context, pv: PodView) -> Issue | None:
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
    return f"{reason}: {ps.shorten(message, 120)}" if message else reason


def _node_ready(ctx: Context, node: str) -> bool | None:
    obj = ctx.snapshot.get("nodes", "", node) if node else None
    if obj is None:
        return None
    return ps.condition(obj, "Ready").get("status") == "True"


# -- container-level rules ------------------------------------------------------------------


def _container_issue(ctx: Context, pv: PodView, c: Container) -> Issue | None:
    waiting = text(c.waiting.get("reason"))
    if waiting == "ErrImageNeverPull":
        return _never_pull(pv, c)
    if waiting in _PULL_ERRORS:
        return _pull_error(ctx, pv, c, waiting)
    if waiting == "InvalidImageName":
        return _invalid_image(pv, c)
    if waiting == "CreateContainerConfigError":
        return _config_error(pv, c)
    if _oom_killed(ctx, c):
        return _oom(pv, c)
    if waiting == "CrashLoopBackOff" or _recently_crashed(ctx, c):
        return _crashloop(pv, c)
    return None


def _container_events(pv: PodView, c: Container, *reasons: str) -> list[Obj]:
    return ps.for_container(pv.with_reason(*reasons), c)


def _never_pull(pv: PodView, c: Container) -> Issue:
    events = _container_events(pv, c, "ErrImageNeverPull")
    return Issue(IMAGE_NEVER_PULL, "ErrImageNeverPull", pv, container=c,
                 events=tuple(events),
                 evidence=(f"{pv.name} on {pv.node or '(no node)'}: image {c.image}, "
                           f"imagePullPolicy {c.spec.get('imagePullPolicy', 'Never')}",))


# Pull errors, told apart by the registry's message; first match wins.
_PULL_CAUSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("platform", ("no match for platform", "exec format error"),
     "the image has no build for the node's CPU architecture"),
    ("ambiguous", ("repository does not exist or may require",),
     "the registry says the repository does not exist or needs credentials"),
    ("missing", ("not found", "manifest unknown", "name unknown", "notfound"),
     "the image or its tag does not exist in the registry"),
    ("auth", ("unauthorized", "authentication required", "denied", "403 forbidden",
              "failed to authorize", "no basic auth credentials"),
     "the registry refused access: a private image needs imagePullSecrets, or the given ones "
     "are wrong"),
    ("ratelimit", ("toomanyrequests", "rate limit"),
     "the registry is rate-limiting pulls (Docker Hub limits anonymous pulls)"),
    ("network", ("i/o timeout", "no such host", "connection refused", "network is unreachable",
                 "dial tcp", "tls handshake", "x509", "context deadline exceeded",
                 "connection reset"),
     "the node cannot reach the registry (DNS, network, proxy or TLS)"),
)


def _pull_cause(messages: Iterable[str]) -> tuple[str, str]:
    joined = " ".join(messages).lower()
    for kind, needles, cause in _PULL_CAUSES:
        if any(n in joined for n in needles):
            return kind, cause
    return "unknown", "the image could not be pulled"


def _pull_error(ctx: Context, pv: PodView, c: Container, waiting: str) -> Issue:
    events = _container_events(pv, c, "Failed", "BackOff")
    waiting_message = text(c.waiting.get("message"))
    messages = [waiting_message, *(text(e.get("message")) for e in events
                                   if e.get("reason") == "Failed")]
    kind, cause = _pull_cause(messages)
    detail = max(messages, key=len)  # the registry's full answer, not "Error: ErrImagePull"
    arch = _node_arch(ctx, pv.node)
    if kind == "platform" and arch:
        cause += f" ({arch} on {pv.node})"
    return Issue(IMAGE_PULL, waiting, pv, container=c,
                 cause=f"image {c.image} cannot be pulled: {cause}"
                       + (f". The registry's answer: {ps.shorten(detail)}" if detail else ""),
                 events=tuple(events),
                 evidence=(f"{pv.name} on {pv.node or '(no node)'}: {waiting}: "
                           f"{ps.shorten(waiting_message, 160)}",),
                 fix=_pull_fix(kind, pv, c, arch))


def _pull_fix(kind: str, pv: PodView, c: Container, arch: str) -> str:
    ns, image, target = pv.namespace, c.image, _template_target(pv)
    set_image = f"`kubectl -n {ns} set image {ps.resource_arg(target)} {c.name}=<image>:<tag>`"
    if kind in ("missing", "ambiguous", "unknown"):
        return (f"Check that the image exists (`docker manifest inspect {image}`; for a private "
                f"registry log in first), then point {target.kind.lower()} {target.name} at one "
                f"that does: {set_image}. Details: `kubectl -n {ns} describe pod {pv.name}`.")
    if kind in ("auth", "ratelimit"):
        registry = _registry(image)
        secret = (f"`kubectl -n {ns} create secret docker-registry regcred "
                  f"--docker-server={registry} --docker-username=<user> "
                  f"--docker-password=<token>`")
        use = ps.patch_command(pv.owner, '[{"op":"add","path":"TEMPLATE/imagePullSecrets",'
                                          '"value":[{"name":"regcred"}]}]') or (
            f"kubectl -n {ns} patch serviceaccount default -p "
            "'{\"imagePullSecrets\":[{\"name\":\"regcred\"}]}'")
        return f"Give the pods registry credentials: {secret}, then `{use}`."
    if kind == "platform":
        return (f"Use an image built for {arch or 'the node architecture'} (a multi-arch tag), "
                f"or build one: `docker buildx build --platform linux/arm64,linux/amd64 -t "
                f"{image} --push .`, then {set_image}.")
    return (f"Test the pull on the node: `sudo k3s crictl pull {image}` on {pv.node or 'the node'} "
            "(`crictl pull` elsewhere), and check its DNS (`/etc/resolv.conf`), proxy and "
            f"firewall; the kubelet retries by itself once it works. Details: `kubectl -n {ns} "
            f"describe pod {pv.name}`.")


def _registry(image: str) -> str:
    first = image.split("/", 1)[0]
    has_host = "/" in image and ("." in first or ":" in first or first == "localhost")
    return first if has_host else "https://index.docker.io/v1/"


def _node_arch(ctx: Context, node: str) -> str:
    obj = ctx.snapshot.get("nodes", "", node) if node else None
    info = as_dict(as_dict((obj or {}).get("status")).get("nodeInfo"))
    return text(info.get("architecture"))


def _template_target(pv: PodView) -> ObjectRef:
    """Where an image or template change belongs: the controller's template, else the pod."""
    owner = pv.owner
    return owner if owner and owner.kind in (*ps.WORKLOAD_KEYS, "CronJob") else pv.ref


def _invalid_image(pv: PodView, c: Container) -> Issue:
    message = ps.shorten(text(c.waiting.get("message")))
    suggestion = _suggest_image(c.image)
    target = _template_target(pv)
    return Issue(INVALID_IMAGE, "InvalidImageName", pv, container=c,
                 cause=f"container {c.name} names image {c.image!r}, which is not a valid "
                       f"reference: {message}",
                 evidence=(f"{pv.name}: {message}",),
                 fix=f"Fix the image reference (lowercase repository, no scheme, no trailing "
                     f"slash): `kubectl -n {pv.namespace} set image {ps.resource_arg(target)} "
                     f"{c.name}={suggestion}`.")


def _suggest_image(image: str) -> str:
    """The reference with scheme and trailing slash dropped and the repository lowercased."""
    cleaned = image.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    has_tag = ":" in cleaned.rsplit("/", 1)[-1]
    repo, sep, tag = cleaned.rpartition(":") if has_tag else (cleaned, "", "")
    fixed = repo.lower() + sep + tag
    return fixed if fixed and fixed != image else "<registry>/<repository>:<tag>"


_MISSING_OBJECT = re.compile(r'(secret|configmap) "([^"]+)" not found', re.IGNORECASE)
_MISSING_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/(\S+)")


def _config_error(pv: PodView, c: Container) -> Issue:
    message = text(c.waiting.get("message"))
    events = _container_events(pv, c, "Failed")
    ns = pv.namespace
    missing, missing_key = _MISSING_OBJECT.search(message), _MISSING_KEY.search(message)
    if missing:
        kind, name = missing.group(1).lower(), missing.group(2)
        cause = f"{'Secret' if kind == 'secret' else 'ConfigMap'} {name} does not exist in {ns}"
        fix = _create_command(pv, kind, name)
    elif missing_key:
        key, kind, _, name = missing_key.groups()
        cause = f"{kind} {name} exists but has no key {key}"
        field = "stringData" if kind == "Secret" else "data"
        fix = (f"Add the key: `kubectl -n {ns} patch {kind.lower()} {name} --type=merge -p "
               f"'{{\"{field}\":{{\"{key}\":\"<value>\"}}}}'`; the kubelet retries by itself.")
    else:
        cause = f"the kubelet cannot build the container's configuration: {ps.shorten(message)}"
        fix = f"See `kubectl -n {ns} describe pod {pv.name}` and fix the pod spec accordingly."
    return Issue(CONFIG_ERROR, "CreateContainerConfigError", pv, container=c,
                 cause=f"container {c.name} cannot be created: {cause}",
                 evidence=(f"{pv.name}: {ps.shorten(message)}",), events=tuple(events),
                 fix=fix)


def _create_command(pv: PodView, kind: str, name: str) -> str:
    keys = _referenced_keys(pv, kind, name)
    literals = " ".join(f"--from-literal={k}=<value>" for k in keys) or \
        "--from-literal=<key>=<value>"
    noun = "secret generic" if kind == "secret" else "configmap"
    return (f"Create it with the keys the pod reads: `kubectl -n {pv.namespace} create {noun} "
            f"{name} {literals}` (or restore it from your manifests); the kubelet retries by "
            "itself and the pods start once it exists.")


def _referenced_keys(pv: PodView, kind: str, name: str) -> list[str]:
    ref_field = "secretKeyRef" if kind == "secret" else "configMapKeyRef"
    keys: list[str] = []
    for c in pv.containers:
        for env in ps.as_list(c.spec.get("env")):
            key_ref = as_dict(as_dict(env.get("valueFrom")).get(ref_field))
            if key_ref.get("name") == name and text(key_ref.get("key")) not in ("", *keys):
                keys.append(text(key_ref.get("key")))
    return keys


def _oom_killed(ctx: Context, c: Container) -> bool:
    if c.terminated.get("reason") == "OOMKilled":
        return True
    last = c.last_terminated
    if last.get("reason") != "OOMKilled":
        return False
    age = ps.age_seconds(ctx.now, last.get("finishedAt"))
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
        bigger = format_bytes(limit * 2)
        fix = _resources_fix(pv, c, bigger)
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
    target = _template_target(pv)
    if target.kind == "Pod" or target.kind == "CronJob":
        return (f"raise resources.limits.memory of container {c.name} to {size} in the "
                f"{target.kind.lower()}'s manifest and re-apply it.")
    return (f"Raise the limit, e.g. to {size}: `kubectl -n {pv.namespace} set resources "
            f"{ps.resource_arg(target)} -c {c.name} --limits=memory={size}`, or find what "
            "grows (a leak, an unbounded cache) with the app's metrics.")


def _recently_crashed(ctx: Context, c: Container) -> bool:
    if not c.running or c.restarts < _CRASH_MIN_RESTARTS:
        return False
    age = ps.age_seconds(ctx.now, c.last_terminated.get("finishedAt"))
    return age is not None and age < _CRASH_WINDOW_SECONDS


def _crashloop(pv: PodView, c: Container) -> Issue:
    last = c.last_terminated or c.terminated
    kills = _probe_kill(pv, c)
    if kills is not None:
        return kills
    code = last.get("exitCode")
    return Issue(CRASHLOOP, "CrashLoopBackOff", pv, container=c,
                 cause=f"container {c.name} keeps exiting ({ps.termination_text(last)}); it has "
                       f"restarted {c.restarts} times",
                 evidence=(f"{pv.name}: container {c.name} restarted {c.restarts} times, last "
                           f"{ps.termination_text(last)}",),
                 events=tuple(_container_events(pv, c, "BackOff")),
                 fix=f"Read why it crashed: `kubectl -n {pv.namespace} logs {pv.name} -c "
                     f"{c.name} --previous`. {_exit_hint(code, pv)}")


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


def _probe_kill(pv: PodView, c: Container) -> Issue | None:
    """A crash loop caused by the kubelet killing a container whose probe fails."""
    for kind, field in (("Liveness", "livenessProbe"), ("Startup", "startupProbe")):
        failures = [e for e in _container_events(pv, c, "Unhealthy")
                    if text(e.get("message")).startswith(f"{kind} probe failed")]
        if not failures:
            continue
        probe = as_dict(c.spec.get(field))
        killed = _container_events(pv, c, "Killing")
        code = (c.last_terminated or c.terminated).get("exitCode")
        message = text(failures[-1].get("message"))
        cause = (f"the {kind.lower()} probe ({ps.probe_text(probe)}) failed "
                 f"{ps.total_count(failures)} times and the kubelet killed the container"
                 f"{f' (exit code {code})' if code is not None else ''}; "
                 f"{_probe_why(message, probe)}")
        return Issue(CRASHLOOP, "CrashLoopBackOff", pv, container=c, cause=cause,
                     events=(*failures, *killed),
                     evidence=(f"{pv.name}: container {c.name} restarted {c.restarts} times",),
                     fix=_probe_fix(pv, c, kind, probe))
    return None


def _probe_why(message: str, probe: Obj) -> str:
    lowered = message.lower()
    timeout = ps.probe_settings(probe)["timeoutSeconds"]
    if "timeout" in lowered or "deadline exceeded" in lowered:
        return (f"the app does not answer within timeoutSeconds {timeout}: it needs longer than "
                "the probe allows to answer")
    if "connection refused" in lowered:
        return ("nothing listens on the port yet when the probe starts: the app needs longer "
                "to start than the probe allows")
    if "statuscode" in lowered or "status code" in lowered:
        return "the app answers the probe with an error status"
    return f"the app needs longer than the probe allows to answer ({ps.shorten(message, 120)})"


def _probe_fix(pv: PodView, c: Container, kind: str, probe: Obj) -> str:
    settings = ps.probe_settings(probe)
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
    patch = ps.patch_command(pv.owner, json.dumps(ops, separators=(",", ":")))
    how = f": `{patch}`" if patch else (" in the pod's manifest (a running pod's probes cannot "
                                        "be changed) and recreate the pod")
    return f"{advice}{how}. Check the app's own log: `kubectl -n {pv.namespace} logs {pv.name} " \
           f"-c {c.name} --previous`."


# -- slower problems: pending, not ready, restarting ----------------------------------------


def _pending(ctx: Context, pv: PodView) -> Issue | None:
    if pv.phase != "Pending":
        return None
    meta = as_dict(pv.obj.get("metadata"))
    age = ps.age_seconds(ctx.now, meta.get("creationTimestamp"))
    if age is None or age < ctx.thresholds.pending_seconds:
        return None
    scheduled = ps.condition(pv.obj, "PodScheduled")
    if scheduled.get("status") == "False" or not pv.node:
        return _unschedulable(pv, scheduled, age)
    warnings = [e for e in pv.events if e.get("type") == "Warning"]
    waiting = next((text(c.waiting.get("reason")) for c in pv.containers if c.waiting), "")
    reason = text(warnings[-1].get("reason")) if warnings else waiting or "Pending"
    detail = f": {ps.shorten(text(warnings[-1].get('message')))}" if warnings else ""
    claims = [text(as_dict(v.get("persistentVolumeClaim")).get("claimName"))
              for v in ps.as_list(pv.spec.get("volumes")) if v.get("persistentVolumeClaim")]
    volume_fix = (f" Check its volumes: `kubectl -n {pv.namespace} describe pvc "
                  f"{' '.join(claims)}`." if claims and "Mount" in reason + detail else "")
    return Issue(PENDING, reason, pv,
                 cause=f"scheduled on {pv.node or '?'} {format_age(age)} ago but its containers "
                       f"have not started ({waiting or 'no container status'}){detail}",
                 events=tuple(warnings),
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
                                             f"{ps.shorten(message)}",),
                 events=tuple(events),
                 fix=_scheduling_fix(pv, message))


def _scheduling_fix(pv: PodView, message: str) -> str:
    ns, lowered = pv.namespace, message.lower()
    target = ps.resource_arg(_template_target(pv))
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


def _not_ready(pv: PodView) -> Issue | None:
    if pv.phase != "Running":
        return None
    for c in pv.containers:
        if c.init or not c.running or c.ready:
            continue
        failures = [e for e in _container_events(pv, c, "Unhealthy")
                    if text(e.get("message")).startswith("Readiness probe failed")]
        if failures:
            return _readiness_issue(pv, c, failures)
    return None


def _readiness_issue(pv: PodView, c: Container, failures: list[Obj]) -> Issue:
    probe = as_dict(c.spec.get("readinessProbe"))
    settings = ps.probe_settings(probe)
    message = text(failures[-1].get("message"))
    timeout = max(5, settings["timeoutSeconds"])
    ops = json.dumps([{"op": "replace", "value": timeout,
                       "path": f"TEMPLATE{c.patch_path}/readinessProbe/timeoutSeconds"}],
                     separators=(",", ":"))
    patch = ps.patch_command(pv.owner, ops)
    slow = "timeout" in message.lower() or "deadline exceeded" in message.lower()
    fix = (f"Check what the endpoint answers: `kubectl -n {pv.namespace} logs {pv.name} -c "
           f"{c.name}` and `kubectl -n {pv.namespace} describe pod {pv.name}`.")
    if slow and patch:
        fix += f" It answers too slowly: raise timeoutSeconds to {timeout}: `{patch}`."
    return Issue(NOT_READY, "Unhealthy", pv, container=c,
                 cause=f"container {c.name} runs but its readiness probe ({ps.probe_text(probe)}) "
                       f"failed {ps.total_count(failures)} times, so Services send it no "
                       f"traffic: {ps.shorten(message, 160)}",
                 events=tuple(failures), fix=fix)


def _restarts(ctx: Context, pv: PodView) -> Issue | None:
    for c in pv.containers:
        if c.running and c.restarts >= ctx.thresholds.restarts_warning:
            last = c.last_terminated
            ended = (f"; the last run ended {last.get('finishedAt') or '?'} with "
                     f"{ps.termination_text(last)}" if last else "")
            return Issue(RESTARTS, "Restarted", pv, container=c,
                         cause=f"container {c.name} is running but has restarted "
                               f"{c.restarts} times{ended}",
                         evidence=(f"{pv.name}: container {c.name} restartCount {c.restarts}",),
                         fix=f"See why the previous run ended: `kubectl -n {pv.namespace} logs "
                             f"{pv.name} -c {c.name} --previous`.")
    return None


# -- grouping issues into findings ----------------------------------------------------------

_LEFTOVERS = (LEFTOVER_FAILED, LEFTOVER_COMPLETED)
_TITLE_WORDS = {NOT_READY: "not ready (readiness probe failing)", RESTARTS: "restarting",
                TERMINATING: "stuck Terminating"}


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
    special = _SPECIAL.get(first.code)
    return special(ctx, issues, built) if special else built


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
            if text(as_dict(p.get("status")).get("phase")) not in _TERMINAL]
    total = max(len(live), count)
    return f"{owner.name}: {count}/{total} pods {words}" \
           f"{ps.availability_note(ctx.snapshot, owner)}"


def _evidence(issues: list[Issue], limit: int = 8) -> list[str]:
    """The group's events merged across pods (counts summed), then per-pod facts."""
    events = ps.event_lines((e for i in issues for e in i.events), 4)
    lines = list(dict.fromkeys([*events, *(line for i in issues for line in i.evidence)]))
    return lines if len(lines) <= limit else [*lines[:limit], f"… and {len(lines) - limit} more"]


def _proposals(issues: list[Issue]) -> list[Proposal]:
    first = issues[0]
    subject, pod = _subject(first), first.pod.ref
    describe = Proposal("describe", f"Describe {subject}", (subject,), mutating=False)
    logs = Proposal("logs", f"Show logs of {pod.name}", (pod,), mutating=False)
    if first.code in (EVICTED, *_LEFTOVERS):
        refs = tuple(i.pod.ref for i in issues)
        return [Proposal("delete-pods", f"Delete {len(refs)} pod(s)", refs)]
    if first.code in (CRASHLOOP, OOMKILLED):
        owner = first.pod.owner
        restart = [Proposal("rollout-restart", f"Restart {owner}", (owner,))] \
            if owner and owner.kind in ps.WORKLOAD_KEYS else []
        return [logs, describe, *restart]
    if first.code in (NOT_READY, RESTARTS):
        return [logs, describe]
    return [describe]


# Findings whose diagnosis needs the whole group rather than one pod.

def _never_pull_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
    c = issues[0].container
    image = c.image if c else "?"
    failing = sorted({i.pod.node for i in issues if i.pod.node})
    holders = _nodes_with_image(ctx, image)
    where = f" (it is on {', '.join(holders)})" if holders else " (no node has it)"
    cause = (f"imagePullPolicy is Never and image {image} is not present on "
             f"{', '.join(failing) or 'the nodes'}{where}")
    first = issues[0].pod
    tar = image.rsplit("/", 1)[-1].split(":")[0] + ".tar"
    target = _template_target(first)
    index = c.patch_path if c else "/containers/0"
    switch = ps.patch_command(first.owner, json.dumps(
        [{"op": "replace", "path": f"TEMPLATE{index}/imagePullPolicy", "value": "IfNotPresent"}],
        separators=(",", ":")))
    fix = (f"Import the image on {', '.join(failing) or 'those nodes'}: `docker save {image} -o "
           f"{tar}`, copy it over and run `sudo k3s ctr images import {tar}` on each; or push it "
           f"to a registry and let the nodes pull it: `kubectl -n {first.namespace} set image "
           f"{ps.resource_arg(target)} {c.name if c else '<container>'}=<registry>/{image}`"
           + (f" and `{switch}`." if switch else "."))
    return replace(built, cause=cause, recommendation=fix)


def _nodes_with_image(ctx: Context, image: str) -> list[str]:
    wanted = _normalize_image(image)
    holders = []
    for node in ctx.snapshot.items("nodes"):
        images = ps.as_list(as_dict(node.get("status")).get("images"))
        names = {_normalize_image(n) for i in images for n in i.get("names") or []
                 if isinstance(n, str)}
        if wanted in names:
            holders.append(text(as_dict(node.get("metadata")).get("name")))
    return sorted(holders)


def _normalize_image(image: str) -> str:
    """docker.io/library/redis:latest for 'redis', as containerd records it."""
    name = image.split("@", 1)[0] if "@" in image else image
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + ("library/" + name if "/" not in name else name)
    return name


def _evicted_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
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
    message = ps.shorten(text(first.status.get("message")))
    cause = f"the kubelet on {nodes} evicted {_count(len(issues))}: {message}"
    return replace(built, cause=cause, recommendation=fix,
                   severity=Severity.WARNING if bare else built.severity)


def _count(pods: int) -> str:
    return "it" if pods == 1 else f"{pods} pods"


def _leftover_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
    ns, count = issues[0].pod.namespace, len(issues)
    state = "failed" if issues[0].code == LEFTOVER_FAILED else "completed"
    names = " ".join(i.pod.name for i in issues)
    return replace(
        built,
        title=f"{ns}: {count} {state} pod{'s' if count > 1 else ''} left over",
        cause=f"{count} pod{'s' if count > 1 else ''} ended {issues[0].pod.phase} and no "
              f"controller will delete {'them' if count > 1 else 'it'}; finished pods only "
              "clutter pod listings",
        recommendation=f"Delete them: `kubectl delete pod -n {ns} {names}`.",
    )


_SPECIAL: dict[str, Callable[[Context, list[Issue], Finding], Finding]] = {
    IMAGE_NEVER_PULL: _never_pull_group,
    EVICTED: _evicted_group,
    LEFTOVER_FAILED: _leftover_group,
    LEFTOVER_COMPLETED: _leftover_group,
}
