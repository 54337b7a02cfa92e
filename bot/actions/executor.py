"""Confirming a plan: verify -> authorise -> claim -> execute with preconditions -> audit.

`confirm(token, actor)` is the one entry point for a button click, a ✅ reaction or a typed
`confirm`. Each step can stop the run, and every stop is audited and said plainly: a token
that was changed or signed elsewhere, an expired one, a user or namespace the policy refuses,
dry-run mode (which checks each object and says what would happen), a plan another click or
replica already ran. Only then does the action run, with uid preconditions on every object.
Nothing is kept in memory: the token carries the plan, the claim Lease makes it run once.
Read-only helpers (logs, describe) skip authorisation and claims: they change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.actions import claims, readonly
from bot.actions.audit import Attempt, Auditor
from bot.actions.authz import GroupMembers, Policy
from bot.actions.base import ActionSpec, failure, overall, plural, recreated
from bot.actions.catalog import ACTIONS, target_problem
from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Actor, Effect, ObjectResult, Outcome, Result
from bot.actions.tokens import Clock, Signer, TokenError, claimed
from bot.cluster.client import KubeError
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import SourceError
from bot.models import ActionRequest, ObjectRef

log = logging.getLogger(__name__)

ICONS = {Result.DONE: "✅", Result.PARTIAL: "⚠️", Result.NO_CHANGE: "ℹ️", Result.FAILED: "❌",
         Result.DENIED: "⛔", Result.EXPIRED: "⌛", Result.INVALID: "⛔",
         Result.ALREADY_DONE: "🔁", Result.DRY_RUN: "🧪", Result.SHOWN: "🔎"}
NO_CLUSTER = "dry run only: there is no cluster to change here (demo or snapshot data)"


@dataclass
class Executor:
    signer: Signer
    policy: Policy
    auditor: Auditor
    api: RemediationAPI | None  # None: no cluster to change (demo, dump)
    home_namespace: str  # where claims live
    clock: Clock
    members_of: GroupMembers | None = None  # Slack user groups, when the policy names any

    def confirm(self, token: str, actor: Actor, snapshot: Snapshot | None = None) -> Outcome:
        try:
            request = self.signer.verify(token)
        except TokenError as error:
            return self._refused_token(token, actor, error)
        spec = ACTIONS.get(request.action)
        problem = target_problem(spec, request.targets) if spec else \
            f"this clusterbot has no action {request.action!r}"
        if spec is None or problem:
            return self._finish(request, actor, Result.INVALID, problem)
        if not spec.mutating:
            return self._show(spec, request, actor, snapshot)
        decision = self.policy.decide(actor, request, self.members_of)
        if self.api is None:
            refusal = "" if decision.allowed else decision.reason
            return self._without_cluster(spec, request, actor, refusal)
        if not decision.allowed:
            return self._finish(request, actor, Result.DENIED, decision.reason)
        if self.policy.mode != "on":
            return self._dry_run(spec, request, actor, self.api)
        return self._run(spec, request, actor, self.api)

    def refuse(self, token: str, actor: Actor, reason: str) -> Outcome:
        """A confirmation the chat turned away before it came here (its allow-lists), audited
        like any refusal: what the plan would have done, who asked, and why not."""
        try:
            request = self.signer.verify(token)
        except TokenError as error:
            return self._refused_token(token, actor, error)
        return self._finish(request, actor, Result.DENIED, reason)

    # -- the steps ----------------------------------------------------------------------------

    def _refused_token(self, token: str, actor: Actor, error: TokenError) -> Outcome:
        if error.request is not None:  # genuine but expired
            return self._finish(error.request, actor, error.result,
                                f"{error}; ask again with `fix` for a fresh plan")
        why = str(error)
        warning = self.auditor.record(Attempt(error.result, why, actor, self.policy.mode,
                                              claimed=claimed(token)))
        return Outcome(error.result, f"{ICONS[error.result]} Refused: {why}. Nothing was done.",
                       (warning,) if warning else (), actor=actor)

    def _run(self, spec: ActionSpec, request: ActionRequest, actor: Actor,
             api: RemediationAPI) -> Outcome:
        claim = claims.take(api, self.home_namespace, request, actor, self.clock())
        if not claim.taken:
            return self._finish(request, actor, claim.result, claim.reason)
        assert spec.execute is not None  # mutating
        try:
            objects = spec.execute(api, request, self.clock())
        except Exception as error:  # noqa: BLE001 - a bug must still leave an audit record
            log.exception("plan %s (%s) failed", request.nonce, request.action)
            return self._finish(request, actor, Result.FAILED,
                                f"internal error ({type(error).__name__}); it has been logged")
        self._sweep(api)
        result = overall(objects)
        return self._finish(request, actor, result, _counts(spec, objects), tuple(objects))

    def _without_cluster(self, spec: ActionSpec, request: ActionRequest, actor: Actor,
                         refusal: str) -> Outcome:
        """The demo or a dump: say what would happen, and whether it would be allowed."""
        objects = tuple(ObjectResult(t, Effect.WOULD, f"would {spec.verb} {t}")
                        for t in request.targets)
        why = NO_CLUSTER + (f"; on a cluster it would be refused: {refusal}" if refusal else "")
        return self._finish(request, actor, Result.DRY_RUN, why, objects)

    def _dry_run(self, spec: ActionSpec, request: ActionRequest, actor: Actor,
                 api: RemediationAPI) -> Outcome:
        objects = [_preview(api, spec, t) for t in request.targets]
        why = ("dry run: nothing was changed (CLUSTERBOT_REMEDIATION=dry-run; set it to on "
               "to act)")
        return self._finish(request, actor, Result.DRY_RUN, why, tuple(objects))

    def _show(self, spec: ActionSpec, request: ActionRequest, actor: Actor,
              snapshot: Snapshot | None) -> Outcome:
        target = request.targets[0]
        try:
            shown = (readonly.show_logs(self.api, target) if spec.name == "logs"
                     else readonly.describe(snapshot, target))
        except readonly.Unavailable as error:
            return self._shown(request, actor, Result.FAILED, str(error))
        except (KubeError, SourceError) as error:
            why = failure(error, target, spec.verb, "nothing shown").message
            return self._shown(request, actor, Result.FAILED, why)
        return self._shown(request, actor, Result.SHOWN, shown.headline, shown.lines)

    def _shown(self, request: ActionRequest, actor: Actor, result: Result, headline: str,
               lines: tuple[str, ...] = ()) -> Outcome:
        """A read's answer; its audit is the log line alone, since it changed nothing."""
        self.auditor.record(Attempt(result, headline, actor, self.policy.mode, request),
                            event=False)
        return Outcome(result, f"{ICONS[result]} {headline}", lines, request.nonce,
                       request.action, actor)

    def _finish(self, request: ActionRequest, actor: Actor, result: Result, reason: str,
                objects: tuple[ObjectResult, ...] = ()) -> Outcome:
        warning = self.auditor.record(Attempt(result, reason, actor, self.policy.mode, request,
                                              objects))
        headline = f"{ICONS[result]} {_what(request)}: {_verdict(result, reason)} — by {actor}"
        details = (*(o.message for o in objects),
                   *([warning] if warning else []),
                   f"plan {request.nonce}, proposed to {request.requester or 'the channel'}")
        return Outcome(result, headline, details, request.nonce, request.action, actor, objects)

    def _sweep(self, api: RemediationAPI) -> None:
        try:
            claims.sweep(api, self.home_namespace, self.clock())
        except (KubeError, SourceError) as error:  # tidying only; the next run tries again
            log.info("old claims not swept: %s", error)


def _preview(api: RemediationAPI, spec: ActionSpec, target: ObjectRef) -> ObjectResult:
    """What running would do to one object, from its current state."""
    try:
        uid = (api.get(target).get("metadata") or {}).get("uid")
    except (KubeError, SourceError) as error:
        return failure(error, target, "get", f"it would not be {spec.verb}d")
    if uid != target.uid:
        return recreated(target, "it would be left alone")
    return ObjectResult(target, Effect.WOULD, f"would {spec.verb} {target}")


def _what(request: ActionRequest) -> str:
    kinds = {t.kind for t in request.targets}
    namespaces = sorted({t.namespace for t in request.targets})
    if len(request.targets) == 1:
        return f"{request.action} {request.targets[0]}"
    noun = plural(len(request.targets), kinds.pop() if len(kinds) == 1 else "object")
    return f"{request.action} {noun} in {', '.join(namespaces)}"


def _verdict(result: Result, reason: str) -> str:
    if result in (Result.DONE, Result.PARTIAL, Result.NO_CHANGE, Result.DRY_RUN):
        return reason
    word = {Result.ALREADY_DONE: "not run again", Result.FAILED: "failed"}.get(result, "refused")
    return f"{word}: {reason}"


def _counts(spec: ActionSpec, objects: list[ObjectResult]) -> str:
    counts = {effect: sum(1 for o in objects if o.effect is effect) for effect in Effect}
    words = {Effect.DONE: f"{spec.verb}d", Effect.GONE: "already gone",
             Effect.RECREATED: "recreated (left alone)", Effect.FORBIDDEN: "forbidden (RBAC)",
             Effect.FAILED: "failed"}
    return ", ".join(f"{counts[e]} {w}" for e, w in words.items() if counts[e])
