"""Who may run which fix in which namespaces: the remediation policy, from settings.

Refusals come in two kinds. `blocked()` does not depend on who asks (remediation off, an
action not enabled, a protected namespace, a namespace outside the allowed ones), so a plan
can say up front that confirming it will fail. `decide()` adds the user: listed by ID, or a
member of a listed Slack user group, through a lookup the Slack adapter provides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.actions.models import Actor
from bot.config import ActionRule, Settings
from bot.models import ActionRequest

GroupMembers = Callable[[str], Iterable[str]]  # a user group ID -> the user IDs in it
SLACK_GROUP = re.compile(r"^S[A-Z0-9]{6,}$")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class Policy:
    mode: str  # off | dry-run | on
    users: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()  # empty: every unprotected namespace
    protected: frozenset[str] = frozenset()
    allow_protected: frozenset[str] = frozenset()
    rules: Mapping[str, ActionRule] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            mode=settings.remediation,
            users=frozenset(settings.remediation_users),
            actions=frozenset(settings.remediation_actions),
            namespaces=frozenset(settings.remediation_namespaces),
            protected=frozenset(settings.protected_namespaces),
            allow_protected=frozenset(settings.remediation_allow_protected),
            rules={str(action): rule for action, rule in settings.remediation_policy.items()},
        )

    def blocked(self, request: ActionRequest) -> str:
        """Why nobody may run this request now, or "" when a listed user may."""
        if self.mode == "off":
            return "remediation is off (CLUSTERBOT_REMEDIATION=off)"
        if request.action not in self.actions:
            return (f"{request.action} is not an enabled fix (CLUSTERBOT_REMEDIATION_ACTIONS: "
                    f"{', '.join(sorted(self.actions)) or 'none'})")
        for namespace in sorted({t.namespace for t in request.targets}):
            reason = self._namespace_refusal(request.action, namespace)
            if reason:
                return reason
        return ""

    def decide(self, actor: Actor, request: ActionRequest,
               members_of: GroupMembers | None = None) -> Decision:
        reason = self.blocked(request) or self._user_refusal(actor, request.action, members_of)
        return Decision(not reason, reason or f"{actor.user} may run {request.action}")

    def _namespace_refusal(self, action: str, namespace: str) -> str:
        if namespace in self.protected and namespace not in self.allow_protected:
            return (f"namespace {namespace} is protected: clusterbot changes nothing there "
                    "unless CLUSTERBOT_REMEDIATION_ALLOW_PROTECTED names it")
        rule = self.rules.get(action)
        allowed = rule.namespaces if rule and rule.namespaces is not None else self.namespaces
        if allowed and namespace not in allowed:
            return f"{action} may not run in namespace {namespace} (allowed: " \
                   f"{', '.join(sorted(allowed))})"
        return ""

    def _user_refusal(self, actor: Actor, action: str, members_of: GroupMembers | None) -> str:
        rule = self.rules.get(action)
        allowed = frozenset(rule.users) if rule and rule.users is not None else self.users
        if actor.user in allowed:
            return ""
        for group in sorted(g for g in allowed if SLACK_GROUP.match(g)):
            if members_of is None:
                break
            try:
                if actor.user in set(members_of(group)):
                    return ""
            except Exception as error:  # noqa: BLE001 - any lookup failure denies, and says so
                return f"could not check whether {actor.user} is in user group {group}: {error}"
        where = "its rule in CLUSTERBOT_REMEDIATION_POLICY" if rule and rule.users is not None \
            else "CLUSTERBOT_REMEDIATION_USERS"
        return f"{actor.user} is not allowed to run {action} ({where} does not list them)"
