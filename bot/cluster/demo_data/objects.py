"""Builders of the demo's API objects other than workloads: metadata, events, nodes, services,
storage, ingresses, secrets and certificates, shaped as `kubectl get -o json` prints them.

Each builder takes the few facts that vary and fills in what the API server and controllers
would write (uids, defaults, conditions, status). Nothing here knows the demo's story.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cluster.demo_data.model import (
    Claim,
    NodeSpec,
    Route,
    StorageClassSpec,
    Svc,
    days,
    digest,
    hexdigits,
    uid,
)

Obj = dict[str, Any]

K3S_VERSION = "v1.32.2+k3s1"
PAUSE_IMAGE = "docker.io/rancher/mirrored-pause:3.6"
GI = 2**30


@dataclass(frozen=True)
class Clock:
    """Ages count back from `origin`, the first snapshot's instant; ongoing things end at `now`."""

    origin: datetime
    now: datetime

    def born(self, age: timedelta) -> datetime:
        return self.origin - age

    def ago(self, seconds: float) -> datetime:
        return self.now - timedelta(seconds=seconds)


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


# -- metadata ---------------------------------------------------------------------------------

def obj(api_version: str, kind: str, namespace: str, name: str, created: datetime, *,
        labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
        owner: Obj | None = None, generation: int | None = None,
        finalizers: Iterable[str] = (), **fields: Any) -> Obj:
    """An API object with the metadata the API server writes; `fields` are spec, status..."""
    meta: Obj = {"name": name, "namespace": namespace} if namespace else {"name": name}
    meta |= {"uid": uid(kind, namespace, name), "creationTimestamp": ts(created)}
    if generation:
        meta["generation"] = generation
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def owner_ref(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def stub(api_version: str, kind: str, namespace: str, name: str) -> Obj:
    """A custom resource the snapshot does not hold, for ownerReferences to point at."""
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "uid": uid(kind, namespace, name)}}


def condition(kind: str, ok: bool, when: datetime, reason: str = "", message: str = "",
              **extra: Any) -> Obj:
    cond: Obj = {"type": kind, "status": "True" if ok else "False", **extra,
                 "lastTransitionTime": ts(when)}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def event(about: Obj, reason: str, message: str, first: datetime, *,
          last: datetime | None = None, count: int = 1, warning: bool = False,
          source: str = "kubelet", host: str = "", field: str = "") -> Obj:
    """A core v1 Event about `about`, as the kubelet or a controller records it."""
    meta = about["metadata"]
    namespace = meta.get("namespace", "default")
    name = f"{meta['name']}.{hexdigits(meta['uid'], reason, message, length=16)}"
    involved: Obj = {"apiVersion": about["apiVersion"], "kind": about["kind"],
                     "name": meta["name"], "namespace": namespace, "uid": meta["uid"]}
    if field:
        involved["fieldPath"] = field
    made = obj("v1", "Event", namespace, name, first, involvedObject=involved, reason=reason,
               message=message, type="Warning" if warning else "Normal", count=count,
               firstTimestamp=ts(first), lastTimestamp=ts(last or first), eventTime=None,
               source={"component": source, **({"host": host} if host else {})},
               reportingComponent=source, reportingInstance=host)
    return made


# -- images -----------------------------------------------------------------------------------

def full_image(image: str) -> str:
    """The reference containerd reports: "redis:7" -> "docker.io/library/redis:7"."""
    first, _, rest = image.partition("/")
    if not rest:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def image_id(image: str, pull: str) -> str:
    """A pulled image's digest reference; one imported by hand (pull Never) has no registry."""
    sha = hexdigits("image", full_image(image))
    return f"sha256:{sha}" if pull == "Never" else \
        f"{full_image(image).rsplit(':', 1)[0]}@sha256:{sha}"


def node_images(pods: Iterable[Obj]) -> list[Obj]:
    """A node's status.images: every image its pods ran, plus K3s' pause image."""
    found = {PAUSE_IMAGE: image_id(PAUSE_IMAGE, "IfNotPresent")}
    for pod in pods:
        for status in pod["status"].get("containerStatuses", []):
            if status.get("imageID"):
                found[status["image"]] = status["imageID"]
    return [{"names": [ident, name] if "@" in ident else [name],
             "sizeBytes": 700_000 + digest("size", name) % 300_000_000}
            for name, ident in sorted(found.items())]


# -- cluster ----------------------------------------------------------------------------------

def namespace(name: str, created: datetime) -> Obj:
    return obj("v1", "Namespace", "", name, created,
               labels={"kubernetes.io/metadata.name": name},
               spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})


def node_boots(spec: NodeSpec) -> tuple[timedelta, ...]:
    """Ages of the node's boots since it joined (unattended upgrades reboot a Pi now and
    then); the last one is when it became Ready."""
    number = digest("boot", spec.name)
    return (days(5 + number % 50) + timedelta(minutes=number % 1440),)


def node(spec: NodeSpec, index: int, clock: Clock, age: timedelta, images: list[Obj]) -> Obj:
    roles = {f"node-role.kubernetes.io/{r}": "true" for r in ("control-plane", "master")} \
        if spec.control_plane else {}
    labels = {"beta.kubernetes.io/arch": "arm64", "beta.kubernetes.io/instance-type": "k3s",
              "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64",
              "kubernetes.io/hostname": spec.name, "kubernetes.io/os": "linux",
              "node.kubernetes.io/instance-type": "k3s", **roles, **spec.labels}
    created, booted = clock.born(age), clock.born(node_boots(spec)[-1]) + seconds(45)
    healthy = [("MemoryPressure", "KubeletHasSufficientMemory", "has sufficient memory"),
               ("DiskPressure", "KubeletHasNoDiskPressure", "has no disk pressure"),
               ("PIDPressure", "KubeletHasSufficientPID", "has sufficient PID available")]
    beat = {"lastHeartbeatTime": ts(clock.ago(25))}
    conditions = [condition(kind, False, created, reason, f"kubelet {text}", **beat)
                  for kind, reason, text in healthy]
    conditions.append(condition("Ready", True, booted, "KubeletReady",
                                "kubelet is posting ready status", **beat))
    cidr = f"10.42.{index}.0/24"
    return obj(
        "v1", "Node", "", spec.name, created, labels=labels,
        annotations={"k3s.io/hostname": spec.name, "k3s.io/internal-ip": spec.ip,
                     "flannel.alpha.coreos.com/public-ip": spec.ip},
        spec={"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"k3s://{spec.name}"},
        status={
            "addresses": [{"type": "InternalIP", "address": spec.ip},
                          {"type": "Hostname", "address": spec.name}],
            "capacity": {"cpu": "4", "ephemeral-storage": "122632060Ki",
                         "memory": "8335360Ki", "pods": "110"},
            "allocatable": {"cpu": "4", "ephemeral-storage": "119297449245",
                            "memory": "8040Mi", "pods": "110"},
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": "arm64", "bootID": uid("boot", "", spec.name),
                "containerRuntimeVersion": "containerd://2.0.2-k3s2",
                "kernelVersion": "6.6.51+rpt-rpi-v8", "kubeProxyVersion": K3S_VERSION,
                "kubeletVersion": K3S_VERSION, "machineID": hexdigits("machine", spec.name,
                                                                     length=32),
                "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": hexdigits("system", spec.name, length=32),
            },
        },
    )


def node_metrics(spec: NodeSpec, clock: Clock) -> Obj:
    """metrics-server's NodeMetrics: CPU in nanocores, memory in KiB, as it reports them."""
    return {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
            "metadata": {"name": spec.name, "creationTimestamp": ts(clock.now),
                         "labels": {"kubernetes.io/hostname": spec.name}},
            "timestamp": ts(clock.ago(12)), "window": "10.05s",
            "usage": {"cpu": f"{spec.cpu_m * 1_000_000}n",
                      "memory": f"{spec.memory_mi * 1024}Ki"}}


# -- services ---------------------------------------------------------------------------------

def _service_port(text: str, namespace: str, name: str, load_balancer: bool) -> Obj:
    ports, _, protocol = text.partition("/")
    port, _, target = ports.partition(":")
    protocol = protocol or "TCP"
    out: Obj = {"name": f"{protocol.lower()}-{port}", "port": int(port),
                "targetPort": int(target or port), "protocol": protocol}
    if load_balancer:
        out["nodePort"] = 30000 + digest(namespace, name, text) % 2768
    return out


def service(namespace: str, spec: Svc, selector: Mapping[str, str] | None, created: datetime,
            lb_ips: Iterable[str] = ()) -> Obj:
    balanced = spec.type == "LoadBalancer"
    ip = spec.cluster_ip or \
        f"10.43.{digest(namespace, spec.name) % 256}.{1 + digest(spec.name) % 254}"
    body: Obj = {"type": spec.type, "clusterIP": ip, "clusterIPs": [ip],
                 "ports": [_service_port(p, namespace, spec.name, balanced) for p in spec.ports],
                 "sessionAffinity": "None", "ipFamilies": ["IPv4"],
                 "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"}
    if selector:
        body["selector"] = dict(selector)
    if balanced:
        body |= {"externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True}
    ingress = [{"ip": address, "ipMode": "VIP"} for address in lb_ips]
    return obj("v1", "Service", namespace, spec.name, created, labels=selector, spec=body,
               status={"loadBalancer": {"ingress": ingress} if ingress else {}})


def pod_address(pod: Obj) -> tuple[Obj, bool] | None:
    """A pod's Endpoints address and whether it is ready; None when it serves nothing."""
    status, meta = pod["status"], pod["metadata"]
    if status["phase"] in ("Succeeded", "Failed") or not status.get("podIP"):
        return None
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status["conditions"])
    return {"ip": status["podIP"], "nodeName": pod["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
                          "uid": meta["uid"]}}, ready


def endpoints(service_obj: Obj, created: datetime, addresses: Iterable[tuple[Obj, bool]]) -> Obj:
    """The Endpoints of a Service: ready addresses apart from those not (yet) ready."""
    meta, ports = service_obj["metadata"], service_obj["spec"]["ports"]
    ready: list[Obj] = []
    waiting: list[Obj] = []
    for address, ok in sorted(addresses, key=lambda item: item[0]["ip"]):
        (ready if ok else waiting).append(address)
    subset: Obj = {"ports": [{"name": p["name"], "port": p["targetPort"],
                              "protocol": p["protocol"]} for p in ports]}
    if ready:
        subset["addresses"] = ready
    if waiting:
        subset["notReadyAddresses"] = waiting
    fields: Obj = {"subsets": [subset]} if ready or waiting else {}
    return obj("v1", "Endpoints", meta["namespace"], meta["name"], created,
               labels=meta.get("labels"), **fields)


# -- storage ----------------------------------------------------------------------------------

def storage_class(spec: StorageClassSpec, created: datetime) -> Obj:
    return obj("storage.k8s.io/v1", "StorageClass", "", spec.name, created,
               annotations={"storageclass.kubernetes.io/is-default-class":
                            str(spec.default).lower()},
               provisioner=spec.provisioner, parameters=dict(spec.parameters),
               reclaimPolicy=spec.reclaim, volumeBindingMode=spec.binding,
               allowVolumeExpansion=spec.expansion)


def volume_name(claim: Claim) -> str:
    return f"pvc-{uid('PersistentVolumeClaim', claim.namespace, claim.name)}"


def claim_objects(claim: Claim, sc: StorageClassSpec, clock: Clock,
                  user: Obj | None) -> list[tuple[str, Obj]]:
    """A bound PVC, its dynamically provisioned PV and, on Longhorn, its Volume."""
    created, size, pv_name = clock.born(claim.age), f"{claim.size_gi}Gi", volume_name(claim)
    provisioned = {"volume.kubernetes.io/storage-provisioner": sc.provisioner,
                   "volume.beta.kubernetes.io/storage-provisioner": sc.provisioner,
                   "pv.kubernetes.io/bind-completed": "yes",
                   "pv.kubernetes.io/bound-by-controller": "yes"}
    pvc = obj("v1", "PersistentVolumeClaim", claim.namespace, claim.name, created,
              annotations=provisioned, finalizers=["kubernetes.io/pvc-protection"],
              spec={"accessModes": [claim.access], "resources": {"requests": {"storage": size}},
                    "storageClassName": sc.name, "volumeMode": "Filesystem",
                    "volumeName": pv_name},
              status={"phase": "Bound", "accessModes": [claim.access],
                      "capacity": {"storage": size}})
    if sc.provisioner == "driver.longhorn.io":
        source: Obj = {"csi": {"driver": sc.provisioner, "fsType": "ext4",
                               "volumeHandle": pv_name,
                               "volumeAttributes": dict(sc.parameters)}}
    else:
        path = f"{sc.parameters['path']}/{claim.namespace}-{claim.name}-{pv_name}"
        source = {"nfs": {"server": sc.parameters["server"], "path": path}}
    pv = obj("v1", "PersistentVolume", "", pv_name, created + seconds(2),
             annotations={"pv.kubernetes.io/provisioned-by": sc.provisioner},
             finalizers=["kubernetes.io/pv-protection"],
             spec={"accessModes": [claim.access], "capacity": {"storage": size},
                   "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                "namespace": claim.namespace, "name": claim.name,
                                "uid": pvc["metadata"]["uid"]},
                   "persistentVolumeReclaimPolicy": sc.reclaim, "storageClassName": sc.name,
                   "volumeMode": "Filesystem", **source},
             status={"phase": "Bound"})
    made = [("persistentvolumeclaims", pvc), ("persistentvolumes", pv)]
    if "csi" in source:
        made.append(("longhornvolumes", longhorn_volume(claim, pv_name, created, user)))
    return made


def longhorn_volume(claim: Claim, pv_name: str, created: datetime, user: Obj | None) -> Obj:
    workloads = []
    if user is not None:
        owner = (user["metadata"].get("ownerReferences") or [{}])[0]
        workloads = [{"podName": user["metadata"]["name"], "podStatus": user["status"]["phase"],
                      "workloadName": owner.get("name", ""),
                      "workloadType": owner.get("kind", "")}]
    when = ts(created + seconds(3))
    return obj(
        "longhorn.io/v1beta2", "Volume", "longhorn-system", pv_name, created,
        labels={"longhornvolume": pv_name, "recurring-job-group.longhorn.io/default": "enabled"},
        generation=1, finalizers=["longhorn.io"],
        spec={"size": str(claim.size_gi * GI), "numberOfReplicas": claim.replicas,
              "frontend": "blockdev", "dataLocality": "disabled", "accessMode": "rwo",
              "dataEngine": "v1", "staleReplicaTimeout": 30},
        status={"state": "attached", "robustness": "healthy",
                "actualSize": int(claim.used_gi * GI),
                "currentNodeID": user["spec"]["nodeName"] if user else "",
                "kubernetesStatus": {"namespace": claim.namespace, "pvcName": claim.name,
                                     "pvName": pv_name, "pvStatus": "Bound",
                                     "workloadsStatus": workloads},
                "conditions": [{"type": "Scheduled", "status": "True",
                                "lastTransitionTime": when},
                               {"type": "TooManySnapshots", "status": "False",
                                "lastTransitionTime": when}]},
    )


# -- ingress and TLS --------------------------------------------------------------------------

def ingress(route: Route, created: datetime, secret: str, lb_ips: Iterable[str]) -> Obj:
    backend = {"service": {"name": route.service, "port": {"number": route.port}}}
    return obj(
        "networking.k8s.io/v1", "Ingress", route.namespace, route.name, created, generation=1,
        spec={"ingressClassName": "traefik",
              "tls": [{"hosts": [route.host], "secretName": secret}],
              "rules": [{"host": route.host, "http": {"paths": [
                  {"path": "/", "pathType": "Prefix", "backend": backend}]}}]},
        status={"loadBalancer": {"ingress": [{"ip": ip} for ip in lb_ips]}},
    )


def secret(namespace: str, name: str, kind: str, created: datetime,
           annotations: Mapping[str, str] | None = None) -> Obj:
    """A Secret as clusterbot reads it: metadata and type, never data."""
    return obj("v1", "Secret", namespace, name, created, annotations=annotations, type=kind)


def certificate(namespace: str, name: str, secret_name: str, dns: list[str], issuer: str,
                clock: Clock, age: timedelta, issued: timedelta) -> Obj:
    """A cert-manager Certificate issued `issued` before the first snapshot (90-day lifetime)."""
    not_before = clock.born(issued)
    not_after = not_before + days(90)
    return obj(
        "cert-manager.io/v1", "Certificate", namespace, name, clock.born(age), generation=1,
        annotations={"cert-manager.io/cluster-issuer": issuer},
        spec={"secretName": secret_name, "dnsNames": dns, "commonName": dns[0],
              "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
              "privateKey": {"algorithm": "ECDSA", "rotationPolicy": "Always"}},
        status={"conditions": [condition("Ready", True, not_before + seconds(70), "Ready",
                                         "Certificate is up to date and has not expired",
                                         observedGeneration=1)],
                "notBefore": ts(not_before), "notAfter": ts(not_after),
                "renewalTime": ts(not_after - days(30)), "revision": 5},
    )
