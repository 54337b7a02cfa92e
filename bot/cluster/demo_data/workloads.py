"""Builders of the demo's workloads: controllers, their ReplicaSets, their pods and the events
that tell what happened to them, shaped as `kubectl get -o json` prints them.

`workload()` turns an `App` into its controller objects and `PodSeed`s (what the controller
wants, where it is scheduled); once the caller has given each seed an IP, `pod()` and
`pod_events()` build the pod and the kubelet's events from the seed's `State`. Counters are
derived from the pods, so a Deployment's status always agrees with its pods.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot.cluster.demo_data.model import App, NodeSpec, State, days, digest, hexdigits, suffix, uid
from bot.cluster.demo_data.objects import (
    Clock,
    Obj,
    condition,
    event,
    full_image,
    image_id,
    node_boots,
    obj,
    seconds,
    stub,
    ts,
)

CRASH_FINISHED = 185  # seconds before `now` the crash-looping containers last died
PROBE_RUN = 65  # seconds a container failing its liveness probe lives (delay + 3 failures)
_PRIORITIES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}


@dataclass(frozen=True)
class PodSeed:
    """A pod its controller wants: name, labels, owner, when it was made and where it runs."""

    app: App
    index: int
    name: str
    labels: Mapping[str, str]
    owner: Obj | None
    template: Obj
    created: datetime
    node: NodeSpec
    ip: str = ""

    @property
    def state(self) -> State | None:
        return self.app.state(self.index)


@dataclass
class Workload:
    objects: list[tuple[str, Obj]] = field(default_factory=list)  # (collection key, object)
    seeds: list[PodSeed] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)


# -- pod templates ----------------------------------------------------------------------------

def _probe(app: App, which: str) -> Obj | None:
    probe = getattr(app, which)
    if probe is None:
        return None
    action = {"httpGet": {"path": probe.path, "port": probe.port, "scheme": "HTTP"}} \
        if probe.path else {"tcpSocket": {"port": probe.port}}
    return {**action, "initialDelaySeconds": probe.initial, "periodSeconds": probe.period,
            "timeoutSeconds": probe.timeout, "successThreshold": 1,
            "failureThreshold": probe.failures}


def _containers(app: App) -> list[Obj]:
    main: Obj = {"name": app.main_container, "image": app.image, "imagePullPolicy": app.pull,
                 "resources": {"requests": {"cpu": app.cpu, "memory": app.memory},
                               "limits": {"memory": app.memory_limit}} if app.cpu else {}}
    if app.ports:
        main["ports"] = [{"containerPort": port, "protocol": "TCP"} for port in app.ports]
    for key, which in (("livenessProbe", "liveness"), ("readinessProbe", "readiness")):
        if (probe := _probe(app, which)) is not None:
            main[key] = probe
    if app.claims:
        main["volumeMounts"] = [{"name": claim, "mountPath": f"/{claim}" if i else "/data"}
                                for i, claim in enumerate(app.claims)]
    sidecars = [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                 "resources": {}} for name, image in app.sidecars]
    return [c | {"terminationMessagePath": "/dev/termination-log",
                 "terminationMessagePolicy": "FallbackToLogsOnError"} for c in (main, *sidecars)]


def pod_template(app: App, labels: Mapping[str, str]) -> Obj:
    bare = app.kind == "Job" or (app.kind == "Pod" and app.owner is None)
    spec: Obj = {"containers": _containers(app), "restartPolicy": "Never" if bare else "Always",
                 "dnsPolicy": "ClusterFirstWithHostNet" if app.host_network else "ClusterFirst",
                 "serviceAccountName": "default", "terminationGracePeriodSeconds": 30}
    if app.host_network:
        spec["hostNetwork"] = True
    if app.node_selector:
        spec["nodeSelector"] = dict(app.node_selector)
    if app.priority:
        spec["priorityClassName"] = app.priority
    if app.claims:
        spec["volumes"] = [{"name": c, "persistentVolumeClaim": {"claimName": c}}
                           for c in app.claims]
    return {"metadata": {"labels": dict(labels)}, "spec": spec}


def template_hash(template: Obj) -> str:
    return suffix(json.dumps(template, sort_keys=True), length=10)


# -- controllers ------------------------------------------------------------------------------

def workload(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    """The controller objects, pod seeds and controller events of one App."""
    return _BUILDERS[app.kind](app, clock, nodes)


def _placement(app: App, nodes: Sequence[NodeSpec], count: int) -> list[NodeSpec]:
    if app.kind == "DaemonSet":
        return list(nodes)
    by_name = {n.name: n for n in nodes}
    if app.nodes:
        return [by_name[app.nodes[i % len(app.nodes)]] for i in range(count)]
    start = digest(app.namespace, app.name) % len(nodes)
    return [nodes[(start + i) % len(nodes)] for i in range(count)]


def _seeds(app: App, names: Sequence[str], labels: Callable[[int, str], Mapping[str, str]],
           owner: Obj | None, template: Obj, created: Callable[[int], datetime],
           nodes: Sequence[NodeSpec]) -> list[PodSeed]:
    placed = _placement(app, nodes, len(names))
    return [PodSeed(app, i, name, labels(i, name), owner, template, created(i), placed[i])
            for i, name in enumerate(names)]


def _ready(app: App, count: int) -> int:
    return sum(app.state(i) is None for i in range(count))


def _trouble_since(app: App, count: int, clock: Clock) -> datetime:
    """When the first of the App's broken pods broke."""
    states = [s for s in (app.state(i) for i in range(count)) if s is not None]
    return min((clock.born(s.since) if s.since else clock.born(app.pods_age)) for s in states)


def _counts(counts: Mapping[str, int], **always: object) -> Obj:
    """Status counters as the API writes them: zero counters are left out."""
    return {**always, **{k: v for k, v in counts.items() if v}}


def _recent(app: App) -> bool:
    """Rolled out in the day before the first snapshot: its lifecycle events are still kept."""
    return timedelta(0) < app.pods_age <= days(1)


def _deployment_conditions(app: App, rs_name: str, ready: int, clock: Clock) -> list[Obj]:
    n, rolled = app.replicas, clock.born(app.pods_age)
    available = ready >= n - math.floor(n * 0.25)  # maxUnavailable 25%, rounded down
    if available:
        avail = ("MinimumReplicasAvailable", "Deployment has minimum availability.",
                 rolled + seconds(30))
    else:
        avail = ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.",
                 _trouble_since(app, n, clock))
    stuck = ready < n and _trouble_since(app, n, clock) <= rolled
    if stuck:
        progress = ("ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out '
                    "progressing.", rolled + seconds(600))
    else:
        progress = ("NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully '
                    "progressed.", rolled + seconds(35))
    return [condition("Available", available, avail[2], avail[0], avail[1],
                      lastUpdateTime=ts(avail[2])),
            condition("Progressing", not stuck, progress[2], progress[0], progress[1],
                      lastUpdateTime=ts(progress[2]))]


def _deployment(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    created, rolled, n = clock.born(app.age), clock.born(app.pods_age), app.replicas
    template = pod_template(app, app.selector)
    hashed = template_hash(template)
    rs_name, ready = f"{app.name}-{hashed}", _ready(app, n)
    revision = {"deployment.kubernetes.io/revision": str(app.generation)}
    deploy = obj(
        "apps/v1", "Deployment", app.namespace, app.name, created, labels=app.selector,
        annotations=revision, generation=app.generation,
        spec={"replicas": n, "selector": {"matchLabels": app.selector}, "template": template,
              "strategy": {"type": "RollingUpdate",
                           "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
              "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        status=_counts({"replicas": n, "updatedReplicas": n, "readyReplicas": ready,
                        "availableReplicas": ready, "unavailableReplicas": n - ready},
                       observedGeneration=app.generation)
        | {"conditions": _deployment_conditions(app, rs_name, ready, clock)},
    )
    labels = {**app.selector, "pod-template-hash": hashed}
    rs_template = template | {"metadata": {"labels": labels}}
    rs = obj("apps/v1", "ReplicaSet", app.namespace, rs_name, rolled, labels=labels,
             owner=deploy, generation=1,
             annotations=revision | {"deployment.kubernetes.io/desired-replicas": str(n),
                                     "deployment.kubernetes.io/max-replicas":
                                         str(n + math.ceil(n * 0.25))},
             spec={"replicas": n, "selector": {"matchLabels": labels}, "template": rs_template},
             status=_counts({"fullyLabeledReplicas": n, "readyReplicas": ready,
                             "availableReplicas": ready}, replicas=n, observedGeneration=1))
    names = [f"{rs_name}-{suffix(rs_name, i)}" for i in range(n)]
    made = Workload([("deployments", deploy), ("replicasets", rs)],
                    _seeds(app, names, lambda i, _: labels, rs, rs_template, lambda _: rolled,
                           nodes))
    if _recent(app):
        made.events.append(event(deploy, "ScalingReplicaSet",
                                 f"Scaled up replica set {rs_name} from 0 to {n}",
                                 rolled, source="deployment-controller"))
    return made


def _statefulset(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    created, n = clock.born(app.age), app.replicas
    template = pod_template(app, app.selector)
    revision, ready = f"{app.name}-{template_hash(template)}", _ready(app, n)
    sts = obj(
        "apps/v1", "StatefulSet", app.namespace, app.name, created, labels=app.selector,
        generation=app.generation,
        spec={"replicas": n, "selector": {"matchLabels": app.selector}, "template": template,
              "serviceName": app.services[0].name if app.services else app.name,
              "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
              "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
        status=_counts({"readyReplicas": ready, "currentReplicas": n, "updatedReplicas": n},
                       observedGeneration=app.generation, replicas=n)
        | {"availableReplicas": ready, "currentRevision": revision,
           "updateRevision": revision, "collisionCount": 0},
    )

    def labels(i: int, name: str) -> Mapping[str, str]:
        return {**app.selector, "apps.kubernetes.io/pod-index": str(i),
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": name}

    names = [f"{app.name}-{i}" for i in range(n)]
    return Workload([("statefulsets", sts)], _seeds(app, names, labels, sts, template,
                                                    lambda _: created, nodes))


def _daemonset(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    created, n = clock.born(app.age), len(nodes)
    template = pod_template(app, app.selector)
    hashed, ready = template_hash(template), _ready(app, n)
    ds = obj(
        "apps/v1", "DaemonSet", app.namespace, app.name, created, labels=app.selector,
        generation=app.generation,
        spec={"selector": {"matchLabels": app.selector}, "template": template,
              "revisionHistoryLimit": 10,
              "updateStrategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}},
        status={"currentNumberScheduled": n, "desiredNumberScheduled": n,
                "numberMisscheduled": 0, "numberReady": ready,
                **_counts({"updatedNumberScheduled": n, "numberAvailable": ready,
                           "numberUnavailable": n - ready},
                          observedGeneration=app.generation)},
    )
    labels = {**app.selector, "controller-revision-hash": hashed,
              "pod-template-generation": str(app.generation)}
    names = [f"{app.name}-{suffix(app.name, node.name)}" for node in nodes]
    return Workload([("daemonsets", ds)], _seeds(app, names, lambda i, _: labels, ds, template,
                                                 lambda _: created, nodes))


def _job_conditions(gave_up: bool, end: datetime) -> list[Obj]:
    if gave_up:
        why = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        return [condition("FailureTarget", True, end, *why), condition("Failed", True, end, *why)]
    done = ("CompletionsReached", "Reached expected number of succeeded pods")
    return [condition("SuccessCriteriaMet", True, end, *done),
            condition("Complete", True, end, *done)]


def _job(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    """A Job whose pods ran one after another, each retry after the previous one failed; it
    gives up (BackoffLimitExceeded) when every pod failed."""
    created, n = clock.born(app.age), app.replicas
    job_uid = uid("Job", app.namespace, app.name)
    labels = {**app.selector, "batch.kubernetes.io/controller-uid": job_uid,
              "batch.kubernetes.io/job-name": app.name, "controller-uid": job_uid,
              "job-name": app.name}
    template = pod_template(app, labels)
    names = list(app.pod_names) or [f"{app.name}-{suffix(app.name, i)}" for i in range(n)]
    failed = sum(1 for i in range(n) if (s := app.state(i)) is not None and s.phase == "Failed")
    gave_up = failed == n
    end = _job_start(created, n - 1) + seconds(_runtime(names[-1]) + 5)
    job = obj(
        "batch/v1", "Job", app.namespace, app.name, created, labels=labels, generation=1,
        spec={"backoffLimit": failed - 1 if gave_up else 6, "completions": 1,
              "parallelism": 1, "completionMode": "NonIndexed", "suspend": False,
              "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": False,
              "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
              "template": template},
        status={"startTime": ts(created), **({} if gave_up else {"completionTime": ts(end)}),
                **_counts({"succeeded": n - failed, "failed": failed}), "ready": 0,
                "terminating": 0, "uncountedTerminatedPods": {},
                "conditions": _job_conditions(gave_up, end)},
    )
    made = Workload([("jobs", job)], _seeds(app, names, lambda i, _: labels, job, template,
                                            lambda i: _job_start(created, i), nodes))
    made.events += [event(job, "SuccessfulCreate", f"Created pod: {name}",
                          _job_start(created, i), source="job-controller")
                    for i, name in enumerate(names)]
    made.events.append(
        event(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit", end,
              warning=True, source="job-controller") if gave_up else
        event(job, "Completed", "Job completed", end, source="job-controller"))
    return made


def _job_start(created: datetime, attempt: int) -> datetime:
    return created + seconds(90 * attempt)


def _bare_pod(app: App, clock: Clock, nodes: Sequence[NodeSpec]) -> Workload:
    """A pod created directly (`kubectl run`), or owned by a custom resource (`app.owner`)."""
    owner = stub(*app.owner, app.namespace, app.name) if app.owner else None
    template = pod_template(app, app.selector)
    created = clock.born(app.pods_age)
    return Workload([], _seeds(app, [app.name], lambda i, _: app.selector, owner, template,
                               lambda _: created, nodes))


_BUILDERS: dict[str, Callable[[App, Clock, Sequence[NodeSpec]], Workload]] = {
    "Deployment": _deployment, "StatefulSet": _statefulset, "DaemonSet": _daemonset,
    "Job": _job, "Pod": _bare_pod,
}


# -- pods -------------------------------------------------------------------------------------

def _runtime(name: str) -> int:
    """How long a run-to-completion container ran, in seconds."""
    return 15 + digest("runtime", name) % 40


def _reboots(seed: PodSeed, clock: Clock) -> list[datetime]:
    """The node's reboots since the pod was created: each restarted its containers."""
    boots = [clock.born(age) for age in node_boots(seed.node)]
    return [boot for boot in boots if seed.created < boot <= clock.now]


def _terminated(seed: PodSeed, state: State, started: datetime, finished: datetime,
                reason: str) -> Obj:
    out: Obj = {"exitCode": state.exit_code, "reason": reason, "startedAt": ts(started),
                "finishedAt": ts(finished),
                "containerID": f"containerd://{hexdigits(seed.name, finished)}"}
    if state.message:
        out["message"] = state.message
    return out


def _container_status(seed: PodSeed, container: Obj, main: bool, clock: Clock) -> Obj:
    state = seed.state if main else None
    image = container["image"]
    if state is not None and state.phase == "Pending":  # the image is not on the node
        message = f'Container image "{image}" is not present with pull policy of Never'
        return {"name": container["name"], "image": image, "imageID": "", "ready": False,
                "started": False, "restartCount": 0,
                "state": {"waiting": {"reason": state.reason, "message": message}},
                "lastState": {}}
    base: Obj = {"name": container["name"], "image": full_image(image),
                 "imageID": image_id(image, container["imagePullPolicy"])}
    if state is None:
        reboots = _reboots(seed, clock)
        runs = [seed.created, *reboots]  # each run started 8s after creation or a reboot
        started = runs[-1] + seconds(8)
        last = {"terminated": {"exitCode": 255, "reason": "Unknown",
                               "startedAt": ts(runs[-2] + seconds(8)),
                               "finishedAt": ts(runs[-1] - seconds(60))}} if reboots else {}
        return base | {"containerID": f"containerd://{hexdigits(seed.name, started)}",
                       "ready": True, "started": True, "restartCount": len(reboots),
                       "state": {"running": {"startedAt": ts(started)}}, "lastState": last}
    if state.finished:
        began = seed.created + seconds(4)
        ended = _terminated(seed, state, began, began + seconds(_runtime(seed.name)),
                            state.reason)
        return base | {"containerID": ended["containerID"], "ready": False, "started": False,
                       "restartCount": 0, "state": {"terminated": ended}, "lastState": {}}
    died = clock.ago(CRASH_FINISHED)
    ran = PROBE_RUN if state.liveness else 3
    waiting = (f"back-off 5m0s restarting failed container={container['name']} "
               f"pod={seed.name}_{seed.app.namespace}({uid('Pod', seed.app.namespace, seed.name)})")
    return base | {"ready": False, "started": False, "restartCount": state.restarts,
                   "state": {"waiting": {"reason": state.reason, "message": waiting}},
                   "lastState": {"terminated": _terminated(seed, state, died - seconds(ran), died,
                                                           "Error")}}


def _ready_since(seed: PodSeed, statuses: list[Obj], clock: Clock) -> datetime:
    state = seed.state
    if state is None:
        running = statuses[0]["state"]["running"]["startedAt"]
        return datetime.fromisoformat(running.replace("Z", "+00:00")) + seconds(6)
    if state.phase == "Pending":
        return seed.created + seconds(3)
    if state.finished:
        return seed.created + seconds(4 + _runtime(seed.name))
    return clock.ago(CRASH_FINISHED)


def pod(seed: PodSeed, clock: Clock) -> Obj:
    """The pod of a seed, with the container statuses and conditions its State implies."""
    app, state = seed.app, seed.state
    spec = seed.template["spec"] | {"nodeName": seed.node.name,
                                    "priority": _PRIORITIES.get(app.priority, 0),
                                    "schedulerName": "default-scheduler",
                                    "enableServiceLinks": True}
    statuses = [_container_status(seed, c, i == 0, clock)
                for i, c in enumerate(spec["containers"])]
    ready = all(s["ready"] for s in statuses)
    phase = state.phase if state else "Running"
    scheduled, changed = seed.created + seconds(1), _ready_since(seed, statuses, clock)
    unready = [s["name"] for s in statuses if not s["ready"]]
    why = ("PodCompleted", "") if phase == "Succeeded" else \
        ("ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    conditions = [
        condition("PodReadyToStartContainers", not (state and state.finished),
                  scheduled + seconds(2)),
        condition("Initialized", True, scheduled),
        condition("Ready", ready, changed, *(() if ready else why)),
        condition("ContainersReady", ready, changed, *(() if ready else why)),
        condition("PodScheduled", True, scheduled),
    ]
    ip = seed.node.ip if app.host_network else seed.ip
    return obj(
        "v1", "Pod", app.namespace, seed.name, seed.created, labels=seed.labels,
        owner=seed.owner, spec=spec,
        status={"phase": phase, "hostIP": seed.node.ip,
                "conditions": [c | {"lastProbeTime": None} for c in conditions],
                "hostIPs": [{"ip": seed.node.ip}], "podIP": ip, "podIPs": [{"ip": ip}],
                "startTime": ts(scheduled), "containerStatuses": statuses,
                "qosClass": "Burstable" if app.cpu else "BestEffort"},
    )


def pod_events(made: Obj, seed: PodSeed, clock: Clock) -> list[Obj]:
    """The events the scheduler and kubelet recorded about a pod that are still kept."""
    app, state = seed.app, seed.state
    name = app.main_container
    kubelet = partial(event, made, host=seed.node.name, field=f"spec.containers{{{name}}}")
    out = _lifecycle(made, seed) if _recent(app) else []
    if state is None or state.finished:
        return out
    began = (clock.born(state.since) if state.since else seed.created) + seconds(20)
    if state.phase == "Pending":
        minutes = int((clock.origin - began).total_seconds() // 300) + 1
        message = f'Container image "{app.image}" is not present with pull policy of Never'
        return out + [
            kubelet(state.reason, message, began, last=clock.ago(40), count=minutes,
                    warning=True),
            kubelet("Failed", f"Error: {state.reason}", began, last=clock.ago(40),
                    count=minutes, warning=True)]
    if state.liveness and app.liveness is not None:
        probe = app.liveness
        url = f"http://{made['status']['podIP']}:{probe.port}{probe.path}"
        out += [
            kubelet("Unhealthy", f'Liveness probe failed: Get "{url}": context deadline '
                    "exceeded (Client.Timeout exceeded while awaiting headers)",
                    began + seconds(probe.initial), last=clock.ago(CRASH_FINISHED + 5),
                    count=state.restarts * probe.failures + 2, warning=True),
            kubelet("Killing", f"Container {name} failed liveness probe, will be restarted",
                    began + seconds(PROBE_RUN), last=clock.ago(CRASH_FINISHED + 5),
                    count=state.restarts)]
    backoff = (f"Back-off restarting failed container {name} in pod "
               f"{seed.name}_{app.namespace}({made['metadata']['uid']})")
    return out + [kubelet("BackOff", backoff, began + seconds(PROBE_RUN + 10),
                          last=clock.ago(20), count=state.restarts * 21 + 4, warning=True)]


def _lifecycle(made: Obj, seed: PodSeed) -> list[Obj]:
    """Scheduled, then (unless the image is missing) Pulled, Created and Started."""
    app, name, t = seed.app, seed.app.main_container, seed.created
    kubelet = partial(event, made, host=seed.node.name, field=f"spec.containers{{{name}}}")
    out = [event(made, "Scheduled", f"Successfully assigned {app.namespace}/{seed.name} to "
                 f"{seed.node.name}", t + seconds(1), source="default-scheduler")]
    if seed.state is not None and seed.state.phase == "Pending":
        return out
    pull = 1.5 + digest("pull", app.image) % 9000 / 1000
    size = 20_000_000 + digest("size", full_image(app.image)) % 300_000_000
    return out + [
        kubelet("Pulled", f'Successfully pulled image "{app.image}" in {pull:.3f}s '
                f"({pull:.3f}s including waiting). Image size: {size} bytes.",
                t + seconds(2 + pull)),
        kubelet("Created", f"Created container: {name}", t + seconds(3 + pull)),
        kubelet("Started", f"Started container {name}", t + seconds(4 + pull))]
