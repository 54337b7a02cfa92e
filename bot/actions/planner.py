"""From a finding's proposal to a plan a person can confirm: what, on which objects, signed.

A plan names the exact objects (namespace, name and the uid seen in the snapshot), says in
words what confirming will do (the dry run) and what a person would type instead, and carries
the signed token a button or `confirm` hands back. Proposals that cannot be pinned (an object
without a uid) are not offered, and `plans_for` says why; one whose objects do not fit in a
button (a Slack value holds some 40 pods) is split into parts that do.
Mutating plans expire after the configured TTL; read-only ones live a week, so the buttons of
a weekly report keep working while it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.actions.authz import Policy
from bot.actions.catalog import ACTIONS, target_problem
from bot.actions.models import ActionPlan
from bot.actions.tokens import Clock, Signer, TokenTooLarge, new_nonce
from bot.models import ActionRequest, Finding, Proposal

READ_ONLY_TTL = timedelta(days=7)


class PlanError(ValueError):
    """The proposal cannot become a plan; the message says why."""


class PlanTooLarge(PlanError):
    """The plan's token would not fit in a button: too many objects at once."""


@dataclass
class Planner:
    signer: Signer
    policy: Policy
    ttl: timedelta
    clock: Clock

    def propose(self, proposal: Proposal, requester: str,
                finding: Finding | None = None) -> ActionPlan:
        spec = ACTIONS.get(proposal.action)
        if spec is None:
            raise PlanError(f"clusterbot has no action {proposal.action!r}")
        problem = target_problem(spec, proposal.targets)
        if problem:
            raise PlanError(problem)
        expires = self.clock() + (self.ttl if spec.mutating else READ_ONLY_TTL)
        request = ActionRequest(
            action=spec.name, targets=proposal.targets, requester=requester,
            expires_at=int(expires.timestamp()), nonce=new_nonce(),
            subject=finding.subject if finding else None, finding=finding.code if finding else "")
        try:
            token = self.signer.sign(request)
        except TokenTooLarge as error:
            raise PlanTooLarge(str(error)) from None
        return ActionPlan(
            id=request.nonce, action=spec.name, label=proposal.label, mutating=spec.mutating,
            targets=request.targets, subject=request.subject, requester=requester,
            expires_at=datetime.fromtimestamp(request.expires_at, UTC), token=token,
            description=spec.describe(request), command=spec.command(request.targets),
            title=spec.title(request.targets),
            blocked=self.policy.blocked(request) if spec.mutating else "")

    def plans_for(self, finding: Finding, requester: str) -> tuple[list[ActionPlan], list[str]]:
        """Plans for every proposal of a finding, and why any proposal is not offered."""
        plans: list[ActionPlan] = []
        skipped = []
        for proposal in finding.proposals:
            try:
                parts = self._fitting(proposal, requester, finding)
            except PlanError as error:
                skipped.append(f"{proposal.label}: {error}")
                continue
            plans += parts if len(parts) == 1 else [
                replace(part, label=f"{part.title.rstrip('?')} (part {n} of {len(parts)})")
                for n, part in enumerate(parts, start=1)]
        return plans, skipped

    def _fitting(self, proposal: Proposal, requester: str,
                 finding: Finding) -> list[ActionPlan]:
        """One plan, or plans for halves of the objects until each fits in a button."""
        try:
            return [self.propose(proposal, requester, finding)]
        except PlanTooLarge:
            half = len(proposal.targets) // 2
            if not half:
                raise
        return [*self._fitting(replace(proposal, targets=proposal.targets[:half]), requester,
                               finding),
                *self._fitting(replace(proposal, targets=proposal.targets[half:]), requester,
                               finding)]
