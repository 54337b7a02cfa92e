"""Every action clusterbot can run, by the name analyzers give it in their proposals."""

from __future__ import annotations

from bot.actions import jobs, pods, readonly, workloads
from bot.actions.base import ActionSpec
from bot.models import ObjectRef

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for spec in (
    pods.SPEC, jobs.FAILED_PODS, jobs.JOBS, workloads.SPEC, readonly.LOGS, readonly.DESCRIBE)}


def target_problem(spec: ActionSpec, targets: tuple[ObjectRef, ...]) -> str:
    """Why these objects cannot be the targets of this action, or ""."""
    if not targets:
        return f"{spec.name} names no object"
    for target in targets:
        if not spec.accepts(target.kind):
            return f"{spec.name} does not act on a {target.kind} ({target})"
        if spec.mutating and not (target.uid and target.namespace):
            return f"{target} has no uid in the data it was found in, so it cannot be pinned"
    return ""
