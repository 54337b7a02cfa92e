"""Every remediation attempt leaves two records: a JSON log line and a Kubernetes Event.

Allowed, denied, failed, expired, tampered, replayed or dry run: each confirmation writes one
Event (reason ClusterbotRemediation) in the namespace it concerns, about the finding's subject
or the first object (so `kubectl describe` and `kubectl get events` show who did what), and
one JSON line on the `clusterbot.audit` logger. A token that cannot be verified names nothing
trustworthy, so its Event goes to clusterbot's own namespace, about clusterbot's own pod.
Writing the Event never stops or undoes an action; a failure to write it is logged and said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Actor, ObjectResult, Result
from bot.cluster.client import KubeError
from bot.cluster.kinds import kind_for
from bot.cluster.source import SourceError
from bot.models import ActionRequest, ObjectRef

REASON = "ClusterbotRemediation"
MAX_MESSAGE = 1024
audit_log = logging.getLogger("clusterbot.audit")


@dataclass(frozen=True)
class Attempt:
    result: Result
    reason: str  # why it was refused, or what it came to
    actor: Actor
    mode: str
    request: ActionRequest | None = None  # None: the token could not be verified
    objects: tuple[ObjectResult, ...] = ()
    claimed: str = ""  # what an unverifiable token says it would do


class Auditor:
    def __init__(self, api: RemediationAPI | None, home_namespace: str, instance: str,
                 clock: Callable[[], datetime]) -> None:
        self._api = api
        self._home = home_namespace
        self._instance = instance
        self._clock = clock

    def record(self, attempt: Attempt, *, event: bool = True) -> str:
        """Write the log line and (unless `event` is False: a read) the Event; returns a
        warning when the Event could not be written."""
        now = self._clock()
        if event and self._api is not None:
            warning = self._write_event(self._api, attempt, now)
            written = warning or "written"
        else:
            warning, written = "", "none"
        audit_log.info(orjson.dumps(_log_record(attempt, now, written)).decode())
        return warning

    def _write_event(self, api: RemediationAPI, attempt: Attempt, now: datetime) -> str:
        involved = self._involved(attempt.request)
        try:
            api.create_event(involved.namespace, _event(attempt, involved, now, self._instance))
        except (KubeError, SourceError) as error:
            return f"the audit Event could not be written in {involved.namespace}: {error}"
        return ""

    def _involved(self, request: ActionRequest | None) -> ObjectRef:
        if request is None:
            return ObjectRef("Pod", self._instance, self._home)
        first, subject = request.targets[0], request.subject
        if subject and subject.kind != "Namespace" and subject.namespace == first.namespace:
            return subject
        return first


def message(attempt: Attempt) -> str:
    """One line: who, what, the outcome and why."""
    request = attempt.request
    what = (f"{request.action} on {', '.join(str(t) for t in request.targets)} (plan "
            f"{request.nonce}, proposed to {request.requester or 'nobody in particular'})"
            if request else f"an unverifiable token ({attempt.claimed})")
    text = f"{attempt.actor} confirmed {what}: {attempt.result.value}: {attempt.reason}"
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def _event(attempt: Attempt, involved: ObjectRef, now: datetime, instance: str) -> dict:
    info = kind_for(involved.kind)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    reference = {"apiVersion": info.api_version if info else "v1", "kind": involved.kind,
                 "name": involved.name, "namespace": involved.namespace}
    if involved.uid:
        reference["uid"] = involved.uid
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{involved.name[:200]}.clusterbot-",
                     "namespace": involved.namespace},
        "involvedObject": reference,
        "reason": REASON,
        "message": message(attempt),
        "type": "Warning" if attempt.result.warning else "Normal",
        "action": attempt.request.action if attempt.request else "confirm",
        "source": {"component": "clusterbot"},
        "reportingComponent": "clusterbot",
        "reportingInstance": instance,
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


def _log_record(attempt: Attempt, now: datetime, event: str) -> dict:
    request = attempt.request
    record: dict = {
        "audit": "remediation", "time": now.astimezone(UTC).isoformat(),
        "result": attempt.result.value, "reason": attempt.reason,
        "user": attempt.actor.user, "platform": attempt.actor.platform, "mode": attempt.mode,
        "event": event,
    }
    if request is None:
        return record | {"claimed": attempt.claimed}
    return record | {
        "plan": request.nonce, "action": request.action, "requester": request.requester,
        "finding": request.finding,
        "targets": [{"kind": t.kind, "namespace": t.namespace, "name": t.name, "uid": t.uid}
                    for t in request.targets],
        "objects": [{"object": str(o.target), "effect": o.effect.value, "message": o.message}
                    for o in attempt.objects],
    }
