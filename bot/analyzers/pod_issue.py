"""What the pod checks share: their codes, the pod as they see it, and the Issue they return.

The pods analyzer is split by the kind of trouble (containers that cannot be created,
containers that crash, pods stuck in their lifecycle); each of those modules turns one pod
into at most one `Issue`, and `pods` picks the most telling one and groups them into findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot.analyzers.base import check
from bot.analyzers.readers import WORKLOAD_KEYS, Container, containers, for_container
from bot.cluster.fields import as_dict, text
from bot.cluster.snapshot import Obj, Snapshot
from bot.models import ObjectRef, Severity

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


@dataclass(frozen=True)
class PodView:
    """One pod with what the checks keep asking: its containers, and (looked up only when a
    check needs them) its controller and events."""

    obj: Obj
    snapshot: Snapshot
    namespace: str
    name: str
    uid: str
    containers: tuple[Container, ...]

    @cached_property
    def owner(self) -> ObjectRef | None:
        return self.snapshot.controller_of(self.obj)

    @cached_property
    def events(self) -> tuple[Obj, ...]:
        return tuple(self.snapshot.events_for("Pod", self.namespace, self.name))

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.name, self.namespace, self.uid)

    @property
    def meta(self) -> Obj:
        return as_dict(self.obj.get("metadata"))

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

    def container_events(self, c: Container, *reasons: str) -> list[Obj]:
        """Events with one of these reasons about container `c` (or the whole pod)."""
        return for_container(self.with_reason(*reasons), c)

    @property
    def template_target(self) -> ObjectRef:
        """Where an image or template change belongs: the controller's template, or the
        pod itself."""
        owner = self.owner
        return owner if owner and owner.kind in (*WORKLOAD_KEYS, "CronJob") else self.ref


def view(snapshot: Snapshot, pod: Obj) -> PodView:
    meta = as_dict(pod.get("metadata"))
    return PodView(obj=pod, snapshot=snapshot, namespace=text(meta.get("namespace")),
                   name=text(meta.get("name")) or "?", uid=text(meta.get("uid")),
                   containers=tuple(containers(pod)))


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
