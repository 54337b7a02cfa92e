"""Rollout restart of a Deployment, StatefulSet or DaemonSet, exactly as kubectl does it.

`kubectl rollout restart` patches the pod template's `kubectl.kubernetes.io/restartedAt`
annotation with the current time (RFC 3339); the controller then replaces the pods by its
update strategy. The object is read first: a uid other than the proposal's means it was
recreated, and it is left alone. The patch carries the resourceVersion just read, so a
recreation between read and patch is a 409 too; since controllers update status often, a
409 is retried from a fresh read a few times before giving up.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.actions.base import ActionSpec, Targets, failure, listing, plural, recreated
from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Effect, ObjectResult
from bot.cluster.client import KubeError
from bot.cluster.source import SourceError
from bot.models import ActionRequest, ObjectRef

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ATTEMPTS = 3
UNTOUCHED = "not restarted"


def rollout_restart(api: RemediationAPI, request: ActionRequest,
                    now: datetime) -> list[ObjectResult]:
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [_restart(api, target, stamp) for target in request.targets]


def _restart_patch(resource_version: str, stamp: str) -> dict:
    return {"metadata": {"resourceVersion": resource_version},
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def _restart(api: RemediationAPI, target: ObjectRef, stamp: str) -> ObjectResult:
    for _ in range(ATTEMPTS):
        try:
            meta = api.get(target).get("metadata") or {}
        except (KubeError, SourceError) as error:
            return failure(error, target, "get", UNTOUCHED)
        if meta.get("uid") != target.uid:
            return recreated(target, UNTOUCHED)
        try:
            api.patch(target, _restart_patch(str(meta.get("resourceVersion", "")), stamp))
        except KubeError as error:
            if error.status == 409:
                continue  # changed since the read (often just its status): read again
            return failure(error, target, "patch", UNTOUCHED)
        except SourceError as error:
            return failure(error, target, "patch", UNTOUCHED)
        return ObjectResult(target, Effect.DONE, f"restarted {target} (restartedAt {stamp})")
    return ObjectResult(target, Effect.FAILED, f"{target} kept changing while clusterbot tried "
                        f"to restart it (409 Conflict {ATTEMPTS} times); {UNTOUCHED}")


def _describe(request: ActionRequest) -> str:
    what = (str(request.targets[0]) if len(request.targets) == 1
            else f"{plural(len(request.targets), 'workload')} ({listing(request.targets)})")
    return (f"Restart {what} like `kubectl rollout restart`: set the pod template's "
            f"{RESTARTED_AT} annotation to the current time, so the controller replaces its "
            "pods by its update strategy; only the very object proposed (uid checked).")


def _command(targets: Targets) -> str:
    return "; ".join(f"kubectl rollout restart -n {t.namespace} {t.kind.lower()}/{t.name}"
                     for t in targets)


SPEC = ActionSpec(
    "rollout-restart", "restart", frozenset({"Deployment", "StatefulSet", "DaemonSet"}),
    lambda targets: f"Restart {targets[0].kind if len(targets) == 1 else 'workloads'}?",
    _describe, _command, rollout_restart)
