"""The remediation policy: who may run which fix in which namespaces."""

from __future__ import annotations

from bot.actions.authz import Policy
from bot.actions.models import Actor
from bot.config import Settings
from bot.models import ActionRequest, ObjectRef

ALICE, BOB = Actor("U0ALICE", "slack"), Actor("@bob:example.org", "matrix")
ADMINS = "S0ADMINS1"


def policy(**settings: object) -> Policy:
    return Policy.from_settings(Settings(**({"remediation": "on", "action_secret": "k" * 32,
                                             "remediation_users": ("U0ALICE",)} | settings)))


def restart(namespace: str = "celery") -> ActionRequest:
    return ActionRequest("rollout-restart", (ObjectRef("Deployment", "flower", namespace, "u"),),
                         "U0ALICE", 0, "abcdefgh")


def test_a_listed_user_may_run_an_enabled_fix_in_an_unprotected_namespace() -> None:
    decision = policy().decide(ALICE, restart())
    assert decision.allowed and decision.reason == "U0ALICE may run rollout-restart"


def test_users_of_any_platform_are_listed_by_their_id() -> None:
    assert policy(remediation_users=("@bob:example.org",)).decide(BOB, restart()).allowed
    assert not policy().decide(BOB, restart()).allowed


def test_nobody_is_allowed_by_default() -> None:
    assert not policy(remediation_users=()).decide(ALICE, restart()).allowed


def test_a_slack_user_group_allows_its_members_through_the_lookup() -> None:
    groups = {ADMINS: ["U0CAROL", "U0ALICE"]}
    allowed = policy(remediation_users=(ADMINS,))
    assert allowed.decide(ALICE, restart(), groups.__getitem__).allowed
    assert not allowed.decide(Actor("U0DAVE"), restart(), groups.__getitem__).allowed
    assert not allowed.decide(ALICE, restart(), None).allowed  # no lookup: no membership


def test_a_failing_group_lookup_denies_and_says_so() -> None:
    def broken(group: str) -> list[str]:
        raise ConnectionError("slack unreachable")

    decision = policy(remediation_users=(ADMINS,)).decide(ALICE, restart(), broken)
    assert not decision.allowed
    assert decision.reason == ("could not check whether U0ALICE is in user group S0ADMINS1: "
                               "slack unreachable")


def test_protected_namespaces_unless_explicitly_allowed() -> None:
    assert "kube-system is protected" in policy().blocked(restart("kube-system"))
    assert policy(remediation_allow_protected=("kube-system",)).blocked(
        restart("kube-system")) == ""
    assert "cert-manager is protected" in policy(protected_namespaces=(
        "cert-manager", "vault")).blocked(restart("cert-manager"))


def test_a_per_action_rule_replaces_users_and_namespaces_for_that_action() -> None:
    strict = policy(remediation_policy={"rollout-restart": {"users": ["U0BOB"],
                                                            "namespaces": ["monitoring"]}})
    assert "may not run in namespace celery (allowed: monitoring)" in strict.blocked(restart())
    assert "its rule in CLUSTERBOT_REMEDIATION_POLICY" in strict.decide(
        ALICE, restart("monitoring")).reason
    assert strict.decide(Actor("U0BOB"), restart("monitoring")).allowed


def test_remediation_off_and_disabled_actions_block_everyone() -> None:
    assert policy(remediation="off").blocked(restart()).startswith("remediation is off")
    assert "rollout-restart is not an enabled fix (CLUSTERBOT_REMEDIATION_ACTIONS: " \
           "delete-pods)" in policy(remediation_actions=("delete-pods",)).blocked(restart())
