"""Remediation put together from settings: one planner and one executor sharing a key.

The chat layer holds one `Remediation`: `planner.plans_for(finding, user)` for the buttons of
a finding, `executor.confirm(token, actor)` for a click, and `note()` to say what confirming
will do in the current mode. Without a cluster client (demo, dump) every confirmation is a
dry run.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.actions.audit import Auditor
from bot.actions.authz import GroupMembers, Policy
from bot.actions.executor import Executor
from bot.actions.kubeapi import RemediationAPI
from bot.actions.planner import Planner
from bot.actions.tokens import Clock, Signer
from bot.cluster.client import KubeClient
from bot.config import Settings


@dataclass(frozen=True)
class Remediation:
    planner: Planner
    executor: Executor

    @classmethod
    def from_settings(cls, settings: Settings, client: KubeClient | None, *,
                      clock: Clock | None = None, members_of: GroupMembers | None = None,
                      instance: str | None = None) -> Remediation:
        """`client` None: no cluster to change. `instance` names this replica in Events."""
        clock = clock or (lambda: datetime.now(UTC))
        secret = settings.action_secret.get_secret_value() if settings.action_secret else None
        signer = Signer(secret, clock)
        policy = Policy.from_settings(settings)
        api = RemediationAPI(client) if client is not None else None
        auditor = Auditor(api, settings.namespace, instance or socket.gethostname(), clock)
        return cls(
            Planner(signer, policy, timedelta(seconds=settings.action_ttl_seconds), clock),
            Executor(signer, policy, auditor, api, settings.namespace, clock, members_of))

    def note(self) -> str:
        """What confirming a fix does here, in one sentence."""
        mode = self.executor.policy.mode
        if mode == "off":
            return "Remediation is off (CLUSTERBOT_REMEDIATION=off): fixes are refused."
        if self.executor.api is None:
            return "This data is a demo or a dump: confirming a fix is a dry run only."
        if mode == "dry-run":
            return ("Remediation is in dry-run mode: confirming says what would happen and "
                    "changes nothing (CLUSTERBOT_REMEDIATION=on to act)." + (
                        " Without CLUSTERBOT_ACTION_SECRET only this process can confirm its "
                        "plans." if self.planner.signer.ephemeral else ""))
        return "Confirmed fixes change the cluster; each runs once."
