"""The built-in demo cluster: the 8-node Raspberry Pi K3s homelab of the seed report.

Why it exists: clusterbot must show what it does without a cluster (`clusterbot --demo`,
`make demo`), and its analyzers, reports and commands need one realistic cluster to be tested
against end to end. So the demo is not report text: it is the API objects `kubectl get -o json`
would return for that cluster (nodes with their images, pods with owners and container states,
events, PVCs and Longhorn volumes, ingresses, certificates, metrics), generated from compact
data (`demo_data/pi_k3s.py`) by small builders (`demo_data/objects.py`, `workloads.py`). Every
finding the bot prints about it is therefore diagnosed from evidence, as on a real cluster.

The output is deterministic: ages count back from a fixed instant (`DEMO_NOW`), and uids, pod
name suffixes and IPs come from hashes. `demo_week2_snapshot()` is the same cluster a week
later, for what a weekly report says changed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.cluster.demo_data import objects
from bot.cluster.demo_data import pi_k3s as data
from bot.cluster.demo_data.model import App, Claim, Svc, days, digest
from bot.cluster.demo_data.objects import Clock, Obj
from bot.cluster.demo_data.workloads import PodSeed, pod, pod_events, workload
from bot.cluster.kinds import KINDS
from bot.cluster.snapshot import Snapshot

DEMO_NOW = datetime(2025, 10, 19, 18, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
CLUSTER = "pi-k3s"

Collections = defaultdict[str, list[Obj]]


def demo_snapshot(now: datetime = DEMO_NOW) -> Snapshot:
    """The cluster of the seed report, as seen at `now`."""
    return _snapshot(Clock(now, now), data.APPS, data.CLAIMS)


def demo_week2_snapshot(now: datetime = DEMO_NOW + WEEK) -> Snapshot:
    """The same cluster a week after the first snapshot: Celery's Flower fixed, a new
    crash-looping `link-checker` in `apps`, and `prometheus-db` expanded to 20Gi."""
    return _snapshot(Clock(now - WEEK, now), data.week2_apps(), data.week2_claims())


def _snapshot(clock: Clock, apps: Iterable[App], claims: Iterable[Claim]) -> Snapshot:
    out: Collections = defaultdict(list)
    out["namespaces"] = [objects.namespace(name, clock.born(age))
                         for name, age in data.NAMESPACES.items()]
    pods = _workloads(clock, tuple(apps), out)
    _nodes(clock, pods, out)
    _storage(clock, claims, pods, out)
    _ingresses(clock, out)
    collections = {info.key: [_stamped(o) for o in out.get(info.key, [])] for info in KINDS}
    return Snapshot.build(collections, taken_at=clock.now, source="demo", cluster=CLUSTER)


def _stamped(made: Obj) -> Obj:
    """A JSON-pure copy (no shared sub-objects) with a resourceVersion from its content."""
    text = json.dumps(made, sort_keys=True)
    copy = json.loads(text)
    copy["metadata"]["resourceVersion"] = str(1_000_000 + digest(text) % 9_000_000)
    return copy


# -- workloads and services -------------------------------------------------------------------

def _workloads(clock: Clock, apps: tuple[App, ...], out: Collections) -> list[Obj]:
    built = [workload(app, clock, data.NODES) for app in apps]
    for made in built:
        for key, controller in made.objects:
            out[key].append(controller)
        out["events"] += made.events
    for seed in _addressed(s for made in built for s in made.seeds):
        out["pods"].append(pod(seed, clock))
        out["events"] += pod_events(out["pods"][-1], seed, clock)
    _services(clock, apps, out)
    return out["pods"]


def _addressed(seeds: Iterable[PodSeed]) -> list[PodSeed]:
    """Give each pod an IP in its node's pod CIDR (10.42.<node>.0/24), from its name's hash."""
    index = {n.name: i for i, n in enumerate(data.NODES)}
    taken: set[tuple[str, int]] = set()
    addressed = []
    for seed in seeds:
        if seed.app.host_network:  # its IP is the node's
            addressed.append(seed)
            continue
        host, octet = seed.node.name, 2 + digest("ip", seed.name) % 250
        while (host, octet) in taken:
            octet = 2 + (octet - 1) % 250
        taken.add((host, octet))
        addressed.append(replace(seed, ip=f"10.42.{index[host]}.{octet}"))
    return addressed


def _selects(selector: Mapping[str, str], namespace: str, candidate: Obj) -> bool:
    meta = candidate["metadata"]
    labels = meta.get("labels") or {}
    return meta["namespace"] == namespace and all(labels.get(k) == v for k, v in selector.items())


def _services(clock: Clock, apps: tuple[App, ...], out: Collections) -> None:
    """Every App's Services with Endpoints that agree with its pods' readiness."""
    api = objects.service("default", Svc("kubernetes", ("443:6443",), cluster_ip="10.43.0.1"),
                          None, clock.born(data.K3S))
    out["services"].append(api)
    out["endpoints"].append(objects.endpoints(api, clock.born(data.K3S),
                                              [({"ip": data.NODES[0].ip}, True)]))
    for app in apps:
        for spec in app.services:
            lb_ips = data.LB_IPS if spec.type == "LoadBalancer" else ()
            created = clock.born(app.age)
            made = objects.service(app.namespace, spec, app.selector, created, lb_ips)
            addresses = [a for p in out["pods"] if _selects(app.selector, app.namespace, p)
                         and (a := objects.pod_address(p)) is not None]
            out["services"].append(made)
            out["endpoints"].append(objects.endpoints(made, created, addresses))


# -- nodes, storage, ingress ------------------------------------------------------------------

def _nodes(clock: Clock, pods: list[Obj], out: Collections) -> None:
    for index, spec in enumerate(data.NODES):
        here = [p for p in pods if p["spec"]["nodeName"] == spec.name]
        out["nodes"].append(objects.node(spec, index, clock, data.K3S, objects.node_images(here)))
        out["nodemetrics"].append(objects.node_metrics(spec, clock))


def _mounts(candidate: Obj, claim: Claim) -> bool:
    volumes = candidate["spec"].get("volumes") or []
    return candidate["metadata"]["namespace"] == claim.namespace and any(
        (v.get("persistentVolumeClaim") or {}).get("claimName") == claim.name for v in volumes)


def _storage(clock: Clock, claims: Iterable[Claim], pods: list[Obj], out: Collections) -> None:
    classes = {sc.name: sc for sc in data.STORAGE_CLASSES}
    out["storageclasses"] = [objects.storage_class(sc, clock.born(sc.age))
                             for sc in data.STORAGE_CLASSES]
    for claim in claims:
        user = next((p for p in pods if _mounts(p, claim)), None)
        for key, made in objects.claim_objects(claim, classes[claim.storage_class], clock, user):
            out[key].append(made)


def _ingresses(clock: Clock, out: Collections) -> None:
    """The wildcard Certificate, its secret copied into each Ingress namespace, the Ingresses."""
    home, secret = "cert-manager", data.WILDCARD_SECRET
    out["certificates"].append(objects.certificate(
        home, data.WILDCARD_CERT, secret, [f"*.{data.DOMAIN}", data.DOMAIN],
        data.CLUSTER_ISSUER, clock, age=days(120), issued=data.CERT_ISSUED))
    out["secrets"].append(objects.secret(
        home, secret, "kubernetes.io/tls", clock.born(days(120)),
        {"cert-manager.io/certificate-name": data.WILDCARD_CERT,
         "reflector.v1.k8s.emberstack.com/reflection-allowed": "true"}))
    for namespace in sorted({r.namespace for r in data.ROUTES}):
        out["secrets"].append(objects.secret(
            namespace, secret, "kubernetes.io/tls", clock.born(data.NAMESPACES[namespace]),
            {"reflector.v1.k8s.emberstack.com/reflects": f"{home}/{secret}"}))
    out["secrets"] += [objects.secret(ns, name, kind, clock.born(data.NAMESPACES[ns]))
                       for ns, name, kind in data.SECRETS]
    out["ingresses"] = [objects.ingress(route, clock.born(route.age), secret, data.LB_IPS)
                        for route in data.ROUTES]
