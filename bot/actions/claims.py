"""Exactly once across replicas: a fix runs only after its plan is claimed in the cluster.

Claiming creates a Lease named after the token's nonce in clusterbot's namespace. The API
server creates an object atomically, so of several clicks on one plan (a double click, a
click delivered to each replica, a replay) exactly one gets it; the others get 409
AlreadyExists and are told who confirmed it. No replica keeps state: the Lease is the record.
Its expiry annotation (the token's expiry plus a margin for clock skew between replicas)
tells `sweep()` when the claim can go: by then no replica accepts the token anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Actor, Result
from bot.cluster.client import KubeError
from bot.cluster.source import SourceError
from bot.models import ActionRequest

PREFIX = "clusterbot-action-"
LABEL = "clusterbot.io/claim"
SELECTOR = f"{LABEL}=action"
EXPIRES = "clusterbot.io/expires-at"
CONFIRMED_BY = "clusterbot.io/confirmed-by"
SKEW_MARGIN = timedelta(hours=1)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    result: Result  # DONE: claimed, go ahead; ALREADY_DONE; FAILED: could not tell
    reason: str = ""

    @property
    def taken(self) -> bool:
        return self.result is Result.DONE


def take(api: RemediationAPI, namespace: str, request: ActionRequest, actor: Actor,
         now: datetime) -> Claim:
    name = PREFIX + request.nonce
    try:
        api.create_lease(namespace, _lease(name, request, actor, now))
    except KubeError as error:
        if error.status == 409:
            return Claim(Result.ALREADY_DONE, _claimed_by(api, namespace, name))
        return Claim(Result.FAILED, _cannot_claim(error, namespace))
    except SourceError as error:
        return Claim(Result.FAILED, f"could not record the claim: {error}; nothing was done")
    return Claim(Result.DONE)


def sweep(api: RemediationAPI, namespace: str, now: datetime) -> int:
    """Delete the claims whose tokens can no longer verify; returns how many went."""
    swept = 0
    for lease in api.list_leases(namespace, SELECTOR):
        meta = lease.get("metadata") or {}
        expires = _parse((meta.get("annotations") or {}).get(EXPIRES, ""))
        if expires is not None and expires < now:
            try:
                api.delete_lease(namespace, meta.get("name", ""), meta.get("uid", ""))
                swept += 1
            except KubeError as error:  # another replica swept it first, most likely
                log.debug("claim %s not swept: %s", meta.get("name"), error)
    return swept


def _lease(name: str, request: ActionRequest, actor: Actor, now: datetime) -> dict:
    expires = datetime.fromtimestamp(request.expires_at, UTC) + SKEW_MARGIN
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {
            "name": name,
            "labels": {LABEL: "action", "app.kubernetes.io/managed-by": "clusterbot"},
            "annotations": {EXPIRES: expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            CONFIRMED_BY: str(actor),
                            "clusterbot.io/action": request.action,
                            "clusterbot.io/requested-by": request.requester},
        },
        "spec": {"holderIdentity": actor.user,
                 "acquireTime": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
    }


def _claimed_by(api: RemediationAPI, namespace: str, name: str) -> str:
    try:
        lease = api.get_lease(namespace, name)
    except (KubeError, SourceError):
        return "this plan was already confirmed; it runs once"
    who = ((lease.get("metadata") or {}).get("annotations") or {}).get(CONFIRMED_BY, "someone")
    when = str((lease.get("spec") or {}).get("acquireTime", ""))[:19].replace("T", " ")
    return f"already done by {who}{f' at {when} UTC' if when else ''}; a plan runs once"


def _cannot_claim(error: KubeError, namespace: str) -> str:
    if error.status == 403:
        why = f"clusterbot is not allowed to create leases in {namespace} (RBAC)"
    elif error.status == 404:
        why = f"namespace {namespace} does not exist (set CLUSTERBOT_NAMESPACE)"
    else:
        why = f"the API answered {error}"
    return f"could not record the claim that makes a fix run once: {why}; nothing was done"


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
