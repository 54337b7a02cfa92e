"""Storage health: claims that never bind or lost their volume, leftover and failed volumes,
the default StorageClass, and Longhorn volumes (replica health and fill level).

A homelab's databases and dashboards live on a handful of PVCs: a Pending claim is a pod that
never starts, a degraded Longhorn volume is one disk away from data loss, and K3s quietly marks
its local-path class default again beside Longhorn after each restart. Each finding names the
claim, quotes the event that explains it and gives the exact command. `pvc_usage()` is exported
for the reports' storage table.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator

from bot.analyzers.base import Context, check, finding, guarded, named, per_run, ref
from bot.analyzers.readers import Obj, age_seconds, condition, describe, event_lines, since, words
from bot.cluster.fields import as_dict, as_list, text
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import format_bytes, quantity
from bot.models import Finding, ObjectRef, Severity

AREA = "storage"

PVC_PENDING = check(
    "PVC-PENDING", Severity.WARNING, AREA,
    "A PersistentVolumeClaim stays Pending: no volume was provisioned or bound for it",
)
PVC_LOST = check(
    "PVC-LOST", Severity.CRITICAL, AREA,
    "A PersistentVolumeClaim is Lost: the PersistentVolume it was bound to is gone",
)
PV_RELEASED = check(
    "PV-RELEASED", Severity.INFO, AREA,
    "A Retain PersistentVolume is Released: its claim was deleted, its data is kept",
)
PV_FAILED = check(
    "PV-FAILED", Severity.WARNING, AREA,
    "A PersistentVolume is Failed: its automatic reclamation failed",
)
STORAGECLASS_NO_DEFAULT = check(
    "STORAGECLASS-NO-DEFAULT", Severity.INFO, AREA,
    "No StorageClass is the default (warning when a claim names no class)",
)
STORAGECLASS_MULTIPLE_DEFAULT = check(
    "STORAGECLASS-MULTIPLE-DEFAULT", Severity.WARNING, AREA,
    "More than one StorageClass is marked default (on K3s, usually local-path again)",
)
LONGHORN_VOLUME_DEGRADED = check(
    "LONGHORN-VOLUME-DEGRADED", Severity.WARNING, AREA,
    "A Longhorn volume is degraded: fewer healthy replicas than it should have",
)
LONGHORN_VOLUME_FAULTED = check(
    "LONGHORN-VOLUME-FAULTED", Severity.CRITICAL, AREA,
    "A Longhorn volume is faulted: no healthy replica, the data is unavailable",
)
PVC_USAGE_HIGH = check(
    "PVC-USAGE-HIGH", Severity.WARNING, AREA,
    "A Longhorn-backed claim is nearly full (80% warning, 90% critical, of its size)",
)

USAGE_WARNING = 80  # percent of a Longhorn volume's size written (actualSize / size)
USAGE_CRITICAL = 90

_DEFAULT_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                        "storageclass.beta.kubernetes.io/is-default-class")
_K3S_CLASS = "local-path"
_LONGHORN_NS = "longhorn-system"
# Longhorn volume conditions in the state that means trouble (the others are normal when False).
_LONGHORN_TROUBLE = {"Scheduled": "False", "TooManySnapshots": "True"}

# Where to read why a provisioner does not create volumes.
_PROVISIONER_LOGS = {
    "driver.longhorn.io": f"kubectl -n {_LONGHORN_NS} logs -l app=csi-provisioner --tail=50",
    "rancher.io/local-path": "kubectl -n kube-system logs deploy/local-path-provisioner --tail=50",
}


# -- usage, shared with reports -----------------------------------------------------------

def pvc_usage(snapshot: Snapshot) -> dict[tuple[str, str], int]:
    """Bytes written per (namespace, claim), from Longhorn volumes; never raises."""
    used: dict[tuple[str, str], int] = {}
    for volume in snapshot.items("longhornvolumes"):
        claim = _claim_of(volume)
        actual = quantity(as_dict(volume.get("status")).get("actualSize"))
        if claim is not None and actual is not None:
            used[claim] = int(actual)
    return used


def _claim_of(volume: Obj) -> tuple[str, str] | None:
    """The (namespace, PVC name) a Longhorn volume backs, from its kubernetesStatus."""
    status = as_dict(as_dict(volume.get("status")).get("kubernetesStatus"))
    namespace, name = status.get("namespace"), status.get("pvcName")
    return (namespace, name) if namespace and name else None


# -- the analyzer ---------------------------------------------------------------------------

def analyze(ctx: Context) -> Iterable[Finding]:
    snapshot = ctx.snapshot
    classes = {ref("StorageClass", sc).name: sc for sc in snapshot.items("storageclasses")}
    yield from guarded("PersistentVolumeClaim", snapshot.items("persistentvolumeclaims"),
                       lambda pvc: _claim(ctx, pvc, classes))
    yield from guarded("PersistentVolume", snapshot.items("persistentvolumes"),
                       lambda pv: _volume(ctx, pv))
    yield from _default_class(ctx, classes)
    yield from guarded("Volume", snapshot.items("longhornvolumes"),
                       lambda volume: _longhorn(ctx, volume))


def _claim(ctx: Context, pvc: Obj, classes: dict[str, Obj]) -> Iterator[Finding]:
    phase = as_dict(pvc.get("status")).get("phase")
    if phase == "Pending":
        yield from _pending(ctx, pvc, classes)
    elif phase == "Lost":
        yield _lost(ctx, pvc)


def _claim_users(ctx: Context, claim: ObjectRef) -> list[str]:
    """Names of the pods that mount a claim."""
    return _pods_by_claim(ctx).get((claim.namespace, claim.name), [])


@per_run
def _pods_by_claim(ctx: Context) -> dict[tuple[str, str], list[str]]:
    """Names of the pods mounting each (namespace, claim), in snapshot order."""
    index: dict[tuple[str, str], list[str]] = {}
    for pod in ctx.snapshot.items("pods"):
        pod_ref = ref("Pod", pod)
        claims = {text(as_dict(v.get("persistentVolumeClaim")).get("claimName"))
                  for v in as_list(as_dict(pod.get("spec")).get("volumes"))}
        for claim in sorted(claims - {""}):
            index.setdefault((pod_ref.namespace, claim), []).append(pod_ref.name)
    return index


def _class_name(pvc: Obj) -> str | None:
    """spec.storageClassName: None when unset (the default applies), "" for static binding."""
    value = as_dict(pvc.get("spec")).get("storageClassName")
    return value if isinstance(value, str) else None


def _class_label(pvc: Obj) -> str:
    name = _class_name(pvc)
    return "(unset)" if name is None else f'"{name}"' if name == "" else name


def _class_problem(pvc: Obj, classes: dict[str, Obj]) -> tuple[str, str]:
    """What is wrong with a claim's StorageClass and what to do; ("", "") when nothing is."""
    name, listed = _class_name(pvc), ", ".join(sorted(classes)) or "none"
    if name is None and not any(map(_is_default, classes.values())):
        return ("it names no StorageClass and none is marked default",
                f"mark one class default: {_default_patch('CLASS', 'true')} (classes: {listed})")
    if name == "":
        return ('its storageClassName is "" (static binding): it waits for a matching '
                "Available PersistentVolume",
                "create a PersistentVolume for it, or recreate the claim with a StorageClass")
    if name and name not in classes:
        return (f'StorageClass "{name}" does not exist',
                f"`kubectl get storageclass` lists the classes ({listed}); storageClassName "
                "cannot be changed, so recreate the claim naming one")
    return "", ""


def _provisioner(pvc: Obj, classes: dict[str, Obj]) -> str:
    annotations = as_dict(as_dict(pvc.get("metadata")).get("annotations"))
    return str(as_dict(classes.get(_class_name(pvc) or "")).get("provisioner")
               or annotations.get("volume.kubernetes.io/storage-provisioner")
               or annotations.get("volume.beta.kubernetes.io/storage-provisioner") or "")


def _waits_for_consumer(pvc: Obj, classes: dict[str, Obj], events: list[Obj]) -> bool:
    mode = as_dict(classes.get(_class_name(pvc) or "")).get("volumeBindingMode")
    return mode == "WaitForFirstConsumer" or bool(
        events and events[-1].get("reason") == "WaitForFirstConsumer")


def _pending(ctx: Context, pvc: Obj, classes: dict[str, Obj]) -> Iterator[Finding]:
    subject = named("PersistentVolumeClaim", pvc)
    ns, name = subject.namespace, subject.name
    events = ctx.snapshot.events_for("PersistentVolumeClaim", ns, name)
    failed = next((e for e in reversed(events) if e.get("reason") == "ProvisioningFailed"), None)
    (problem, fix), users = _class_problem(pvc, classes), _claim_users(ctx, subject)
    created = as_dict(pvc.get("metadata")).get("creationTimestamp")
    age = age_seconds(ctx.now, created)
    if failed is None and not problem and (
            (age is not None and age < ctx.thresholds.pending_seconds)
            or (not users and _waits_for_consumer(pvc, classes, events))):
        return  # still provisioning, or waiting as designed for a pod to use it
    provisioner = _provisioner(pvc, classes)
    why = problem or (f"the provisioner reports: {text(failed.get('message')).rstrip('.')}"
                      if failed else
                      f"no volume was created for it (provisioner {provisioner or 'unknown'})")
    yield finding(
        PVC_PENDING, subject, reason="Pending",
        title=f"PVC {ns}/{name} is Pending",
        cause=(f"{words(f'{ns}/{name} is Pending', since(ctx.now, created))}: {why}."
               + (f" Pods waiting for it: {', '.join(users)}." if users else "")),
        evidence=[f"storageClassName {_class_label(pvc)}",
                  *(event_lines(events, limit=3) or ["no events recorded for it"])],
        pods=users,
        recommendation=_pending_advice(subject, fix, provisioner),
        proposals=(describe(subject),),
    )


def _pending_advice(claim: ObjectRef, fix: str, provisioner: str) -> str:
    steps = [f"`kubectl -n {claim.namespace} describe pvc {claim.name}`"]
    if fix:
        steps.append(fix)
    elif provisioner:
        logs = _PROVISIONER_LOGS.get(provisioner)
        steps.append(f"read the provisioner's logs: `{logs}`" if logs else
                     f"check that the {provisioner} provisioner's pods run and read their logs")
    return "; ".join(steps) + "."


def _lost(ctx: Context, pvc: Obj) -> Finding:
    subject = named("PersistentVolumeClaim", pvc)
    ns, name = subject.namespace, subject.name
    volume = str(as_dict(pvc.get("spec")).get("volumeName") or "")
    pv = ctx.snapshot.get("persistentvolumes", "", volume) if volume else None
    state = "no longer exists" if pv is None else \
        f"is {as_dict(pv.get('status')).get('phase') or 'in an unknown phase'}"
    users = _claim_users(ctx, subject)
    events = ctx.snapshot.events_for("PersistentVolumeClaim", ns, name)
    return finding(
        PVC_LOST, subject, reason="Lost",
        title=f"PVC {ns}/{name} lost its volume",
        cause=(f"{ns}/{name} was bound to PersistentVolume {volume or '(unknown)'}, which "
               f"{state}: pods using it cannot start."
               + (f" Affected pods: {', '.join(users)}." if users else "")),
        evidence=[f"volumeName {volume or '(unset)'}: {state}", *event_lines(events, limit=2)],
        pods=users,
        recommendation=(f"`kubectl -n {ns} describe pvc {name}`"
                        + (f" and `kubectl get pv {volume}`" if volume else "")
                        + ". If the data still exists on the storage backend, recreate a "
                        f"PersistentVolume for it with claimRef {ns}/{name}; otherwise delete "
                        f"the claim (`kubectl -n {ns} delete pvc {name}`), recreate it and "
                        "restore the data from a backup."),
        proposals=(describe(subject),),
    )


# -- persistent volumes ---------------------------------------------------------------------

def _backend(pv: Obj) -> str:
    """Where a volume's data lives, to say what a deletion would leave behind."""
    spec = as_dict(pv.get("spec"))
    nfs, csi = as_dict(spec.get("nfs")), as_dict(spec.get("csi"))
    if nfs:
        return f"NFS {nfs.get('server')}:{nfs.get('path')}"
    if csi:
        return f"{csi.get('driver')} volume {csi.get('volumeHandle')}"
    for kind in ("hostPath", "local"):
        if as_dict(spec.get(kind)):
            return f"{kind} {as_dict(spec.get(kind)).get('path')}"
    return ""


def _volume(ctx: Context, pv: Obj) -> Iterator[Finding]:
    status, spec = as_dict(pv.get("status")), as_dict(pv.get("spec"))
    phase = status.get("phase")
    if phase == "Released" and spec.get("persistentVolumeReclaimPolicy") == "Retain":
        yield _released(ctx, pv)
    elif phase == "Failed":
        subject = named("PersistentVolume", pv)
        message = str(status.get("message") or "no message")
        yield finding(
            PV_FAILED, subject, reason="Failed",
            title=f"PersistentVolume {subject.name} is Failed",
            cause=f"Reclaiming it failed: {message}.",
            evidence=(message, _backend(pv)),
            recommendation=(f"`kubectl describe pv {subject.name}`; clean up the data on the "
                            f"backend by hand, then `kubectl delete pv {subject.name}`."),
            proposals=(describe(subject),),
        )


def _released(ctx: Context, pv: Obj) -> Finding:
    subject = named("PersistentVolume", pv)
    name, spec = subject.name, as_dict(pv.get("spec"))
    claim = as_dict(spec.get("claimRef"))
    owner = f"{claim.get('namespace')}/{claim.get('name')}" if claim else "its claim"
    size = as_dict(spec.get("capacity")).get("storage") or "?"
    backend = _backend(pv)
    when = since(ctx.now, as_dict(pv.get("status")).get("lastPhaseTransitionTime"))
    return finding(
        PV_RELEASED, subject, reason="Released",
        title=f"PersistentVolume {name} ({size}) is Released and unused",
        cause=(f"{words('Released', when)}: {owner} was deleted; reclaimPolicy Retain keeps "
               f"the {size} of data" + (f" on {backend}" if backend else "") + "."),
        evidence=(f"claim {owner}", f"storageClass {spec.get('storageClassName') or '(none)'}",
                  backend),
        recommendation=(f"If the data is no longer needed: `kubectl delete pv {name}`, then "
                        "remove the data on the backend (Retain leaves it there). To reuse it: "
                        f"`kubectl patch pv {name} --type json -p "
                        "'[{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}]'` and create a "
                        f"PVC with `volumeName: {name}`."),
        proposals=(describe(subject),),
    )


# -- storage classes ------------------------------------------------------------------------

def _is_default(storage_class: Obj) -> bool:
    annotations = as_dict(as_dict(storage_class.get("metadata")).get("annotations"))
    return any(annotations.get(key) == "true" for key in _DEFAULT_ANNOTATIONS)


def _default_patch(name: str, value: str) -> str:
    return (f"`kubectl patch storageclass {name} -p '{{\"metadata\":{{\"annotations\":"
            f"{{\"storageclass.kubernetes.io/is-default-class\":\"{value}\"}}}}}}'`")


def _default_class(ctx: Context, classes: dict[str, Obj]) -> Iterator[Finding]:
    if not classes:
        return
    defaults = sorted(name for name, sc in classes.items() if _is_default(sc))
    claims = ctx.snapshot.items("persistentvolumeclaims")
    if len(defaults) > 1:
        uses = Counter(_class_name(pvc) for pvc in claims)
        yield _multiple_defaults(defaults, uses)
    elif not defaults:
        classless = [ref("PersistentVolumeClaim", pvc) for pvc in claims
                     if _class_name(pvc) is None]
        yield _no_default(ctx, sorted(classes), classless)


def _no_default(ctx: Context, classes: list[str], classless: list[ObjectRef]) -> Finding:
    names = [f"{c.namespace}/{c.name}" for c in classless]
    return finding(
        STORAGECLASS_NO_DEFAULT, ObjectRef("Cluster", ctx.snapshot.cluster),
        reason="NoDefaultStorageClass",
        severity=Severity.WARNING if classless else Severity.INFO,
        title="No StorageClass is the default",
        cause=("None of the StorageClasses is marked default, so a claim without "
               "storageClassName gets no volume"
               + (f": {', '.join(names)} {'names' if len(names) == 1 else 'name'} no class."
                  if names else
                  "; every current claim names its class.")),
        evidence=(f"StorageClasses: {', '.join(classes)}",),
        recommendation=f"Mark the one you want as default: {_default_patch(classes[0], 'true')}"
                       + (f" (or another of {', '.join(classes)})." if len(classes) > 1 else "."),
    )


def _multiple_defaults(defaults: list[str], uses: Counter[str | None]) -> Finding:
    keep = max(defaults, key=lambda name: (name != _K3S_CLASS, uses[name], name))
    demote = [name for name in defaults if name != keep]
    k3s = (f" K3s re-applies its {_K3S_CLASS} manifest at every restart and upgrade, which "
           "marks it default again: if nothing uses it, start the K3s server with "
           f"`--disable=local-storage` ({uses[_K3S_CLASS]} claims use it now)."
           if _K3S_CLASS in demote else "")
    return finding(
        STORAGECLASS_MULTIPLE_DEFAULT, ObjectRef("StorageClass", demote[0]),
        reason="MultipleDefaultStorageClasses",
        title=f"{len(defaults)} StorageClasses are marked default: {', '.join(defaults)}",
        cause=(f"{' and '.join(defaults)} are {'both' if len(defaults) == 2 else 'all'} marked "
               "default. A claim without "
               "storageClassName gets the most recently created of them (Kubernetes 1.26+; "
               "older versions reject it), so new volumes may land on the wrong storage."),
        evidence=[f"{name}: default, used by {uses[name]} claims" for name in defaults],
        recommendation=(f"Keep {keep} as the default and unmark "
                        + " and ".join(_default_patch(name, "false") for name in demote)
                        + "." + k3s),
    )


# -- Longhorn -------------------------------------------------------------------------------

def _longhorn(ctx: Context, volume: Obj) -> Iterator[Finding]:
    robustness = as_dict(volume.get("status")).get("robustness")
    if robustness in ("degraded", "faulted"):
        yield _robustness(ctx, volume, str(robustness))
    yield from _fill(ctx, volume)


def _robustness(ctx: Context, volume: Obj, robustness: str) -> Finding:
    subject = named("Volume", volume)
    name, claim = subject.name, _claim_of(volume)
    replicas = as_dict(volume.get("spec")).get("numberOfReplicas")
    users = _claim_users(ctx, ObjectRef("PersistentVolumeClaim", claim[1], claim[0])) \
        if claim else []
    scheduled = condition(volume, "Scheduled")
    unscheduled = f" (Scheduled=False: {scheduled.get('reason')}: {scheduled.get('message')})" \
        if scheduled.get("status") == "False" else ""
    replica_cmd = (f"`kubectl -n {_LONGHORN_NS} get replicas.longhorn.io "
                   f"-l longhornvolume={name} -o wide`")
    degraded = robustness == "degraded"
    cause = (f"Fewer than its {replicas} replicas are healthy: Longhorn is rebuilding one, or "
             f"cannot place it{unscheduled}. One more failure can lose the data." if degraded
             else "No replica is healthy: the volume cannot be attached and its pods cannot "
                  f"run{unscheduled}.")
    advice = (f"{replica_cmd} shows which replica is missing; check the Longhorn nodes' disks "
              f"and free space with `kubectl -n {_LONGHORN_NS} get nodes.longhorn.io`; the "
              "Longhorn UI shows the rebuild." if degraded
              else f"{replica_cmd}; in the Longhorn UI use Salvage on volume {name} to recover "
                   "from the newest replica, or restore it from a backup; "
                   f"`kubectl -n {_LONGHORN_NS} describe volumes.longhorn.io {name}`.")
    return finding(
        LONGHORN_VOLUME_DEGRADED if degraded else LONGHORN_VOLUME_FAULTED, subject,
        reason=robustness.capitalize(),
        title=f"Longhorn volume {name}" + (f" ({claim[0]}/{claim[1]})" if claim else "")
        + f" is {robustness}",
        cause=cause + (f" Used by: {', '.join(users)}." if users else ""),
        evidence=_longhorn_evidence(volume, robustness, replicas),
        pods=users, recommendation=advice, proposals=(describe(subject),),
    )


def _longhorn_evidence(volume: Obj, robustness: str, replicas: object) -> list[str]:
    status = as_dict(volume.get("status"))
    node = status.get("currentNodeID")
    return [f"state {status.get('state')}, robustness {robustness}",
            f"numberOfReplicas {replicas}", f"attached to {node}" if node else "",
            *(f"{c.get('type')}={c.get('status')}: {c.get('message') or c.get('reason')}"
              for c in as_list(status.get("conditions"))
              if _LONGHORN_TROUBLE.get(str(c.get("type"))) == c.get("status"))]


def _fill(ctx: Context, volume: Obj) -> Iterator[Finding]:
    size = quantity(as_dict(volume.get("spec")).get("size"))
    actual = quantity(as_dict(volume.get("status")).get("actualSize"))
    if not size or size <= 0 or actual is None or actual * 100 // size < USAGE_WARNING:
        return
    pct, name, claim = int(actual * 100 // size), named("Volume", volume).name, _claim_of(volume)
    pvc = (ctx.snapshot.get("persistentvolumeclaims", *claim) if claim else None) or {}
    subject = (ref("PersistentVolumeClaim", pvc) if pvc else
               ObjectRef("PersistentVolumeClaim", claim[1], claim[0]) if claim else
               named("Volume", volume))
    users = _claim_users(ctx, subject) if claim else []
    yield finding(
        PVC_USAGE_HIGH, subject, reason="HighUsage",
        severity=Severity.CRITICAL if pct >= USAGE_CRITICAL else Severity.WARNING,
        title=(f"PVC {claim[0]}/{claim[1]}" if claim else f"Longhorn volume {name}")
        + f" is {pct}% full",
        cause=(f"Longhorn volume {name} holds {format_bytes(actual)} of {format_bytes(size)} "
               f"({pct}%). actualSize counts snapshot data too, so the filesystem may hold "
               "less: delete old snapshots, or expand the volume."),
        evidence=(f"actualSize {int(actual)}, size {int(size)}",
                  f"used by {', '.join(users)}" if users else ""),
        pods=users,
        recommendation=_fill_advice(ctx, name, subject if claim else None, pvc, size, users),
        proposals=(describe(subject),),
    )


def _fill_advice(ctx: Context, volume: str, claim: ObjectRef | None, pvc: Obj, size: float,
                 users: list[str]) -> str:
    steps = [f"list its snapshots with `kubectl -n {_LONGHORN_NS} get snapshots.longhorn.io "
             f"-l longhornvolume={volume}` and delete old ones in the Longhorn UI"]
    if claim is None:
        return f"{steps[0][0].upper()}{steps[0][1:]}."
    ns, name = claim.namespace, claim.name
    if users:
        steps.insert(0, f"check the filesystem: `kubectl -n {ns} exec {users[0]} -- df -h`")
    class_name = _class_name(pvc) or ""
    storage_class = ctx.snapshot.get("storageclasses", "", class_name) or {}
    if storage_class and not storage_class.get("allowVolumeExpansion"):
        steps.append(f"StorageClass {class_name} does not allow expansion: move the data to a "
                     "bigger claim")
    else:
        patch = {"spec": {"resources": {"requests": {
            "storage": f"{math.ceil(size * 1.5 / 2**30)}Gi"}}}}
        steps.append(f"expand it: `kubectl -n {ns} patch pvc {name} -p "
                     f"'{json.dumps(patch, separators=(',', ':'))}'`")
    return "; ".join(steps) + "."
