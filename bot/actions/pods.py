"""Delete finished pods that nothing will clean up: leftovers (Failed, Succeeded) and Evicted.

Such pods belong to no controller, or to one that keeps them for inspection; deleting them
only tidies pod listings. Each delete carries a uid precondition, so a pod recreated under the
same name since the proposal is left alone, and a pod already gone is reported as such.
"""

from __future__ import annotations

from datetime import datetime

from bot.actions.base import (
    ActionSpec,
    Targets,
    delete_exactly,
    kubectl_per_namespace,
    listing,
    plural,
)
from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import ObjectResult
from bot.models import ActionRequest

EXACTLY = ("each only if it is still the same pod (uid precondition): a pod recreated under "
           "the same name is left alone, one already gone is reported")


def delete_pods(api: RemediationAPI, request: ActionRequest, now: datetime) -> list[ObjectResult]:
    return [delete_exactly(api, target) for target in request.targets]


def _describe(request: ActionRequest) -> str:
    return f"Delete {plural(len(request.targets), 'pod')}, {EXACTLY}. {listing(request.targets)}"


def _title(targets: Targets) -> str:
    return f"Delete {plural(len(targets), 'pod')}?"


def delete_command(targets: Targets) -> str:
    return kubectl_per_namespace("delete pod", targets)


SPEC = ActionSpec("delete-pods", "delete", frozenset({"Pod"}), _title, _describe, delete_command,
                  delete_pods)
