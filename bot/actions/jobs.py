"""Clean up after a failed Job: delete the Job with its pods, or only its failed pods.

Deleting the Job uses propagationPolicy Background, so the garbage collector removes its pods
(the API's default for Jobs would orphan them). Deleting only the failed pods keeps the Job
and its status for inspection. Both delete with a uid precondition, like every delete here.
"""

from __future__ import annotations

from datetime import datetime

from bot.actions.base import (
    ActionSpec,
    delete_exactly,
    kubectl_per_namespace,
    listing,
    plural,
)
from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import ObjectResult
from bot.actions.pods import EXACTLY, delete_command, delete_pods
from bot.models import ActionRequest

PROPAGATION = "Background"


def delete_jobs(api: RemediationAPI, request: ActionRequest, now: datetime) -> list[ObjectResult]:
    return [delete_exactly(api, target, PROPAGATION) for target in request.targets]


def _describe_jobs(request: ActionRequest) -> str:
    what = (f"{request.targets[0]} and its pods" if len(request.targets) == 1 else
            f"{plural(len(request.targets), 'Job')} and their pods ({listing(request.targets)})")
    return (f"Delete {what} (propagationPolicy {PROPAGATION}); only the very Job proposed "
            "(uid precondition): one recreated under the same name is left alone.")


def _describe_failed_pods(request: ActionRequest) -> str:
    owner = f" of {request.subject}" if request.subject else ""
    return (f"Delete the {plural(len(request.targets), 'failed pod')}{owner}, {EXACTLY}; "
            f"the Job stays. {listing(request.targets)}")


JOBS = ActionSpec(
    "delete-jobs", "delete", frozenset({"Job"}),
    lambda targets: f"Delete {plural(len(targets), 'Job')}?", _describe_jobs,
    lambda targets: kubectl_per_namespace("delete job", targets, " --cascade=background"),
    delete_jobs)
FAILED_PODS = ActionSpec(
    "delete-failed-job-pods", "delete", frozenset({"Pod"}),
    lambda targets: f"Delete {plural(len(targets), 'failed pod')}?", _describe_failed_pods,
    delete_command, delete_pods)
