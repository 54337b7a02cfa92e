"""Claims: the Lease that makes a plan run once, and the sweep that removes old ones."""

from __future__ import annotations

from bot.actions import claims
from bot.actions.models import Actor, Result
from bot.report.model import Report
from tests.actions.conftest import ALICE, HOME, Clock, Replica, plan_for
from tests.fakeapi import FakeKubeAPI


def test_a_confirmed_plan_leaves_a_claim_naming_who_and_until_when(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    assert bot.executor.confirm(plan.token, Actor(ALICE, "slack")).result is Result.DONE

    [lease] = cluster.list("leases", HOME)
    assert lease["metadata"]["name"] == f"clusterbot-action-{plan.id}"
    assert lease["metadata"]["annotations"][claims.CONFIRMED_BY] == "U0ALICE (slack)"
    assert lease["metadata"]["annotations"][claims.EXPIRES] == "2025-10-19T19:20:00Z"
    assert lease["spec"]["holderIdentity"] == ALICE


def test_claims_are_swept_once_their_tokens_cannot_verify(
        cluster: FakeKubeAPI, replica: Replica, report: Report, clock: Clock) -> None:
    bot = replica()
    early = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    bot.executor.confirm(early.token, Actor(ALICE, "slack"))
    clock.advance(15 * 60 + claims.SKEW_MARGIN.total_seconds() + 1)
    cluster.add({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "clusterbot-leader", "namespace": HOME},
                 "spec": {"holderIdentity": "replica-a"}})  # not a claim: never swept
    late = plan_for(bot, report, "POD-LEFTOVER-COMPLETED")

    bot.executor.confirm(late.token, Actor(ALICE, "slack"))  # sweeps after it runs

    assert {lease["metadata"]["name"] for lease in cluster.list("leases", HOME)} == {
        f"clusterbot-action-{late.id}", "clusterbot-leader"}
    assert bot.executor.confirm(early.token, Actor(ALICE, "slack")).result is Result.EXPIRED
