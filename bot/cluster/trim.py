"""Trim raw API objects to the fields the analyzers and reports read.

A realistic pod is ~10 KB of JSON, most of it managedFields, env and volume plumbing; the
health checks read a few hundred bytes of it. Keeping only those fields makes 5,000 pods cost
a few MB instead of hundreds. Every source (dump, live list, watch event, demo) trims through
`trim()`, so tests on fixtures exercise the same shape the bot holds in production.

A spec is a nested dict: `True` keeps a value whole, a dict recurses (into each element when
the value is a list), a `Pick` returns what to keep of the value (None: nothing) and says which
of its fields it reads, so decode.py skips the others while parsing. Small
leaf structures (probes, conditions, container states) are kept whole: copying them would cost
more time than the memory it saves. A field an analyzer reads must be listed here; tests load
their fixtures through the Snapshot, so a missing entry shows up as a failing analyzer test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]


@dataclass(frozen=True)
class Pick:
    """A spec entry keeping `pick(value)` of a value; `pick` reads only the fields `reads`
    names (in each element, when the value is a list)."""

    pick: Callable[[Any], Any]
    reads: Spec

    def __call__(self, value: Any) -> Any:
        return self.pick(value)


def _kept_annotations(annotations: Any) -> Any:
    if not isinstance(annotations, dict):
        return None
    return {k: v for k, v in annotations.items() if k in _KEEP_ANNOTATIONS} or None


def _env_references(env: Any) -> Any:
    """Only env entries that reference a Secret or ConfigMap (for CreateContainerConfigError)."""
    if not isinstance(env, list):
        return None
    return [{"name": e.get("name"), "valueFrom": e["valueFrom"]} for e in env
            if isinstance(e, dict) and e.get("valueFrom")] or None

_KEEP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/restartedAt",
        "deployment.kubernetes.io/revision",
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
        "volume.kubernetes.io/storage-provisioner",
        "volume.beta.kubernetes.io/storage-provisioner",
        "cert-manager.io/cluster-issuer",
        "cert-manager.io/issuer",
    }
)

METADATA: Spec = {
    "name": True,
    "namespace": True,
    "uid": True,
    "resourceVersion": True,
    "creationTimestamp": True,
    "deletionTimestamp": True,
    "deletionGracePeriodSeconds": True,
    "labels": True,
    "annotations": Pick(_kept_annotations, reads=dict.fromkeys(_KEEP_ANNOTATIONS, True)),
    "ownerReferences": True,
    "generation": True,
    "finalizers": True,
}


_CONTAINER: Spec = {
    "name": True,
    "image": True,
    "imagePullPolicy": True,
    "resources": True,
    "livenessProbe": True,
    "readinessProbe": True,
    "startupProbe": True,
    # values may hold secrets, and only references are read
    "env": Pick(_env_references, reads={"name": True, "valueFrom": True}),
    "envFrom": True,
}


_CONTAINER_STATUS: Spec = {
    "name": True,
    "image": True,
    "imageID": True,
    "ready": True,
    "started": True,
    "restartCount": True,
    "state": True,
    "lastState": True,
}


_POD_TEMPLATE: Spec = {
    "metadata": {"labels": True, "annotations": True},
    "spec": {
        "containers": _CONTAINER,
        "initContainers": _CONTAINER,
        "nodeSelector": True,
        "volumes": {
            "name": True,
            "persistentVolumeClaim": True,
            "secret": {"secretName": True, "optional": True},
            "configMap": {"name": True, "optional": True},
        },
    },
}

POD: Spec = {
    "metadata": METADATA,
    "spec": {
        **_POD_TEMPLATE["spec"],
        "nodeName": True,
        "restartPolicy": True,
        "priorityClassName": True,
        "schedulerName": True,
    },
    "status": {
        "phase": True,
        "reason": True,
        "message": True,
        "startTime": True,
        "hostIP": True,
        "podIP": True,
        "qosClass": True,
        "conditions": True,
        "containerStatuses": _CONTAINER_STATUS,
        "initContainerStatuses": _CONTAINER_STATUS,
    },
}

_WORKLOAD_STATUS: Spec = {
    "replicas": True,
    "readyReplicas": True,
    "availableReplicas": True,
    "unavailableReplicas": True,
    "updatedReplicas": True,
    "currentReplicas": True,
    "observedGeneration": True,
    "conditions": True,
    # DaemonSet
    "desiredNumberScheduled": True,
    "currentNumberScheduled": True,
    "numberReady": True,
    "numberAvailable": True,
    "numberUnavailable": True,
    "numberMisscheduled": True,
    "updatedNumberScheduled": True,
}

_WORKLOAD: Spec = {
    "metadata": METADATA,
    "spec": {
        "replicas": True,
        "selector": True,
        "paused": True,
        "progressDeadlineSeconds": True,
        "serviceName": True,
        "template": _POD_TEMPLATE,
        "volumeClaimTemplates": {"metadata": {"name": True}, "spec": True},
    },
    "status": _WORKLOAD_STATUS,
}

_JOB: Spec = {
    "metadata": METADATA,
    "spec": {
        "backoffLimit": True,
        "activeDeadlineSeconds": True,
        "completions": True,
        "parallelism": True,
        "suspend": True,
        "template": _POD_TEMPLATE,
    },
    "status": {
        "active": True,
        "succeeded": True,
        "failed": True,
        "startTime": True,
        "completionTime": True,
        "conditions": True,
    },
}

SPECS: dict[str, Spec] = {
    "namespaces": {"metadata": METADATA, "status": {"phase": True}},
    "nodes": {
        "metadata": METADATA,
        "spec": {"unschedulable": True, "taints": True, "podCIDR": True, "providerID": True},
        "status": {
            "capacity": True,
            "allocatable": True,
            "conditions": True,
            "addresses": True,
            "nodeInfo": True,
            "images": {"names": True},  # imagePullPolicy Never: which nodes hold an image
        },
    },
    "pods": POD,
    "events": {
        "metadata": {"name": True, "namespace": True, "uid": True, "creationTimestamp": True},
        "involvedObject": {
            "kind": True,
            "name": True,
            "namespace": True,
            "uid": True,
            "fieldPath": True,
        },
        "reason": True,
        "message": True,
        "type": True,
        "count": True,
        "firstTimestamp": True,
        "lastTimestamp": True,
        "eventTime": True,
        "series": {"count": True, "lastObservedTime": True},
        "source": {"component": True},
        "reportingComponent": True,
    },
    "services": {
        "metadata": METADATA,
        "spec": {
            "type": True,
            "selector": True,
            "ports": True,
            "clusterIP": True,
            "externalName": True,
            "loadBalancerIP": True,
        },
        "status": {"loadBalancer": True},
    },
    "endpoints": {
        "metadata": METADATA,
        "subsets": {
            "addresses": {"ip": True, "nodeName": True, "targetRef": {"kind": True, "name": True}},
            "notReadyAddresses": {
                "ip": True,
                "nodeName": True,
                "targetRef": {"kind": True, "name": True},
            },
            "ports": True,
        },
    },
    "persistentvolumeclaims": {
        "metadata": METADATA,
        "spec": {
            "storageClassName": True,
            "volumeName": True,
            "accessModes": True,
            "resources": True,
            "volumeMode": True,
        },
        "status": {"phase": True, "capacity": True, "accessModes": True, "conditions": True},
    },
    "persistentvolumes": {
        "metadata": METADATA,
        "spec": {
            "capacity": True,
            "storageClassName": True,
            "claimRef": {"namespace": True, "name": True, "uid": True},
            "persistentVolumeReclaimPolicy": True,
            "accessModes": True,
            "nfs": True,
            "csi": {"driver": True, "volumeHandle": True},
            "hostPath": True,
            "local": True,
        },
        "status": {"phase": True, "reason": True, "message": True, "lastPhaseTransitionTime": True},
    },
    "storageclasses": {
        "metadata": METADATA,
        "provisioner": True,
        "reclaimPolicy": True,
        "volumeBindingMode": True,
        "allowVolumeExpansion": True,
        "parameters": True,
    },
    "deployments": _WORKLOAD,
    "statefulsets": _WORKLOAD,
    "daemonsets": _WORKLOAD,
    "replicasets": _WORKLOAD,
    "jobs": _JOB,
    "cronjobs": {
        "metadata": METADATA,
        "spec": {
            "schedule": True,
            "suspend": True,
            "timeZone": True,
            "concurrencyPolicy": True,
            "jobTemplate": {"spec": {"backoffLimit": True}},
        },
        "status": {"active": True, "lastScheduleTime": True, "lastSuccessfulTime": True},
    },
    "ingresses": {
        "metadata": METADATA,
        "spec": {
            "ingressClassName": True,
            "rules": True,
            "tls": True,
            "defaultBackend": True,
        },
        "status": {"loadBalancer": True},
    },
    "secrets": {"metadata": {"name": True, "namespace": True, "uid": True}, "type": True},
    "nodemetrics": {
        "metadata": {"name": True, "creationTimestamp": True},
        "timestamp": True,
        "window": True,
        "usage": True,
    },
    "longhornvolumes": {
        "metadata": METADATA,
        "spec": {
            "size": True,
            "numberOfReplicas": True,
            "frontend": True,
            "dataLocality": True,
        },
        "status": {
            "state": True,
            "robustness": True,
            "actualSize": True,
            "currentNodeID": True,
            "kubernetesStatus": {"namespace": True, "pvcName": True, "pvName": True},
            "conditions": True,
        },
    },
    "certificates": {
        "metadata": METADATA,
        "spec": {
            "secretName": True,
            "dnsNames": True,
            "commonName": True,
            "issuerRef": True,
            "duration": True,
            "renewBefore": True,
        },
        "status": {
            "conditions": True,
            "notAfter": True,
            "notBefore": True,
            "renewalTime": True,
        },
    },
}


def trim(obj: Any, spec: Spec) -> Any:
    """Return a copy of `obj` holding only the fields named in `spec`."""
    if type(obj) is list:
        return [trim(item, spec) for item in obj]
    if type(obj) is not dict:
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        sub = spec.get(key)
        if sub is True:
            out[key] = value
        elif type(sub) is dict:
            out[key] = trim(value, sub)
        elif sub is not None:
            kept = sub(value)
            if kept is not None:
                out[key] = kept
    return out


def trim_object(key: str, obj: Any) -> Any:
    """Trim one object of collection `key` (e.g. "pods"); unknown collections pass whole."""
    spec = SPECS.get(key)
    return trim(obj, spec) if spec is not None else obj
