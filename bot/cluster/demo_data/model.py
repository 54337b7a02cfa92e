"""The vocabulary of the demo cluster's data: nodes, apps, pod states, claims and routes.

Plain frozen values, mostly one line of data each (see `pi_k3s.py`); `objects.py` turns them
into API objects. Ids come from hashes of names, so the same data always yields the same
cluster: no randomness, no clock.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes draws generated names from
_UIDS = uuid.UUID("6f1d3c52-8a0e-4f7b-9d62-3b8c1e5a7f40")


def days(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# -- deterministic ids ------------------------------------------------------------------------

def digest(*parts: object) -> int:
    """A stable 64-bit number for the given parts."""
    text = "/".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def hexdigits(*parts: object, length: int = 64) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(_UIDS, f"{kind}/{namespace}/{name}"))


def suffix(*parts: object, length: int = 5) -> str:
    """A generated-name suffix like Kubernetes makes ("4sh6p"; 10 long for template hashes)."""
    number, out = digest(*parts), []
    for _ in range(length):
        number, index = divmod(number, len(_ALPHABET))
        out.append(_ALPHABET[index])
    return "".join(out)


# -- the vocabulary ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeSpec:
    name: str
    ip: str
    cpu_m: int  # usage as metrics-server reports it
    memory_mi: int
    labels: Mapping[str, str] = field(default_factory=dict)
    control_plane: bool = False


@dataclass(frozen=True)
class Probe:
    path: str | None  # None: a TCP probe
    port: int
    initial: int = 10
    period: int = 10
    timeout: int = 1
    failures: int = 3


@dataclass(frozen=True)
class State:
    """A pod that is not simply Running and Ready: how it fails or finished, with evidence."""

    phase: str  # Running (crash-looping), Pending (image missing), Failed, Succeeded
    reason: str  # CrashLoopBackOff, ErrImageNeverPull, Error, Completed
    exit_code: int = 0
    restarts: int = 0
    liveness: bool = False  # the kubelet kills it after failed liveness probes
    message: str = ""  # termination message: the last lines of its log
    since: timedelta | None = None  # began this long before the first snapshot (None: creation)

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


COMPLETED = State("Succeeded", "Completed")
FAILED = State("Failed", "Error", exit_code=1)


@dataclass(frozen=True)
class Svc:
    name: str
    ports: tuple[str, ...]  # "port[:targetPort][/protocol]": "80:3000", "53/UDP"
    type: str = "ClusterIP"
    cluster_ip: str = ""  # default: derived from the name


def svc(name: str, *ports: str, type: str = "ClusterIP", cluster_ip: str = "") -> Svc:
    return Svc(name, ports, type, cluster_ip)


@dataclass(frozen=True)
class App:
    """A workload with its pods: a Deployment, StatefulSet, DaemonSet, Job or bare Pod."""

    namespace: str
    name: str
    image: str
    kind: str = "Deployment"
    replicas: int = 1  # DaemonSets: one per node
    age: timedelta = days(149)  # at the first snapshot; negative: created after it
    rollout: timedelta | None = None  # age of the current pods when younger than the app
    labels: Mapping[str, str] | None = None  # the selector; default {"app": name}
    container: str = ""  # default: the image's base name
    cpu: str | None = "50m"  # request; None: no resources at all (BestEffort)
    memory: str = "64Mi"  # request
    memory_limit: str = "256Mi"
    pull: str = "IfNotPresent"
    ports: tuple[int, ...] = ()
    liveness: Probe | None = None
    readiness: Probe | None = None
    sidecars: tuple[tuple[str, str], ...] = ()  # (name, image) of further containers
    claims: tuple[str, ...] = ()  # PVCs mounted
    services: tuple[Svc, ...] = ()
    nodes: tuple[str, ...] = ()  # node per replica; default: spread by the name's hash
    node_selector: Mapping[str, str] | None = None
    host_network: bool = False
    states: tuple[State | None, ...] = ()  # per replica; default Running (Jobs: Completed)
    pod_names: tuple[str, ...] = ()  # exact names; default generated
    owner: tuple[str, str] | None = None  # (apiVersion, kind) of a custom resource owning a Pod
    priority: str = ""
    generation: int = 1

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels or {"app": self.name})

    @property
    def main_container(self) -> str:
        return self.container or self.image.rsplit("/", 1)[-1].split(":")[0]

    @property
    def pods_age(self) -> timedelta:
        return self.age if self.rollout is None else self.rollout

    def state(self, index: int) -> State | None:
        if index < len(self.states):
            return self.states[index]
        return COMPLETED if self.kind == "Job" else None


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    size_gi: int
    used_gi: float  # what Longhorn reports as the volume's actual size
    age: timedelta
    storage_class: str = "longhorn"
    access: str = "ReadWriteOnce"
    replicas: int = 3  # Longhorn replicas


@dataclass(frozen=True)
class StorageClassSpec:
    name: str
    provisioner: str
    age: timedelta
    parameters: Mapping[str, str]
    default: bool = False
    reclaim: str = "Delete"
    binding: str = "Immediate"
    expansion: bool = True


@dataclass(frozen=True)
class Route:
    """An Ingress: one host to one Service port, TLS from the wildcard certificate's secret."""

    host: str
    namespace: str
    service: str
    port: int
    age: timedelta

    @property
    def name(self) -> str:
        return self.host.split(".", 1)[0]
