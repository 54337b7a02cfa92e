"""Confirming plans against the fake API server over HTTP: what changes, what does not, and why.

Every case checks the cluster (what is left), the answer (what the person reads) and the audit
trail (the Event in the fake, the JSON line in the log).
"""

from __future__ import annotations

import threading

import pytest

from bot.actions.models import Actor, Effect, Result
from bot.actions.remediation import Remediation
from bot.report.model import Report
from tests.actions.conftest import (
    ALICE,
    HOME,
    Clock,
    Inventory,
    Replica,
    audit_events,
    audit_lines,
    plan_for,
    recreate,
)
from tests.fakeapi import FakeKubeAPI

SLACK_ALICE = Actor(ALICE, "slack")
FAILED_TEST_PODS = {"test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                    "test-fundamentals"}
JOB_PODS = {"test-data-load-4sh6p", "test-data-load-dlfv5"}


def pods_gone(before: Inventory, after: Inventory) -> set[tuple[str, str]]:
    return {(ns, name) for plural, ns, name, _ in before - after if plural == "pods"}


def test_the_seed_cleanup_deletes_exactly_the_listed_pods(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica()
    leftovers = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    job_pods = plan_for(bot, report, "JOB-FAILED", "delete-failed-job-pods")
    before = Inventory.of(cluster)

    first = bot.executor.confirm(leftovers.token, SLACK_ALICE)
    second = bot.executor.confirm(job_pods.token, SLACK_ALICE)

    after = Inventory.of(cluster)
    assert (first.result, second.result) == (Result.DONE, Result.DONE)
    assert {(p, "financial-screener") for p in FAILED_TEST_PODS} | {
        (p, "databases") for p in JOB_PODS} == {(n, ns) for ns, n in pods_gone(before, after)}
    assert before - after == {o for o in before.objects if o[0] == "pods" and o[2] in
                              FAILED_TEST_PODS | JOB_PODS}
    assert after - before == set()
    assert cluster.get("jobs", "databases", "test-data-load") is not None  # the Job stays
    assert cluster.requests.count("DELETE") == 6
    assert first.headline.startswith("✅ delete-pods 4 Pods in financial-screener: 4 deleted")
    assert "deleted Pod financial-screener/test-eodhd-final" in first.details
    events = audit_events(cluster)
    assert {e["metadata"]["namespace"] for e in events} == {"financial-screener", "databases"}
    job_event = next(e for e in events if e["metadata"]["namespace"] == "databases")
    assert job_event["involvedObject"]["kind"] == "Job"  # the finding's subject
    assert "U0ALICE (slack) confirmed delete-failed-job-pods" in job_event["message"]
    assert [line["result"] for line in audit_lines(audit_log)] == ["done", "done"]


def test_a_pod_recreated_under_the_same_name_survives(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    new_uid = recreate(cluster, "pods", "financial-screener", "test-eodhd-final")

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    survivor = cluster.get("pods", "financial-screener", "test-eodhd-final")
    assert survivor is not None and survivor["metadata"]["uid"] == new_uid
    assert outcome.result is Result.PARTIAL
    assert ("Pod financial-screener/test-eodhd-final was recreated since the proposal; "
            "nothing deleted") in outcome.details
    assert [o.effect for o in outcome.objects].count(Effect.DONE) == 3


def test_objects_already_gone_are_reported_as_such(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "JOB-FAILED", "delete-failed-job-pods")
    for name in JOB_PODS:
        cluster.delete("pods", "databases", name)

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.NO_CHANGE
    assert "Pod databases/test-data-load-4sh6p was already gone" in outcome.details
    assert "2 already gone" in outcome.headline


@pytest.mark.parametrize(("overrides", "actor", "why"), [
    ({}, Actor("U0MALLORY", "slack"),
     "U0MALLORY is not allowed to run delete-pods (CLUSTERBOT_REMEDIATION_USERS"),
    ({"remediation": "off"}, SLACK_ALICE, "remediation is off"),
    ({"remediation_actions": ("rollout-restart",)}, SLACK_ALICE,
     "delete-pods is not an enabled fix"),
    ({"remediation_namespaces": ("databases",)}, SLACK_ALICE,
     "delete-pods may not run in namespace financial-screener"),
    ({"remediation_policy": {"delete-pods": {"users": ["U0BOB"]}}}, SLACK_ALICE,
     "its rule in CLUSTERBOT_REMEDIATION_POLICY does not list them"),
])
def test_the_policy_refuses_and_nothing_changes(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture, overrides: dict, actor: Actor, why: str) -> None:
    bot = replica(**overrides)
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    before = Inventory.of(cluster)

    outcome = bot.executor.confirm(plan.token, actor)

    assert outcome.result is Result.DENIED
    assert why in outcome.headline
    assert Inventory.of(cluster) - before == before - Inventory.of(cluster) == set()
    assert cluster.requests.count("DELETE") == 0
    assert cluster.list("leases", HOME) == []  # a refusal does not use the plan up
    [event] = audit_events(cluster, "financial-screener")
    assert event["type"] == "Warning" and "denied" in event["message"] and why in event["message"]
    [line] = audit_lines(audit_log)
    assert line["result"] == "denied" and line["user"] == actor.user


def test_a_protected_namespace_is_never_changed_unless_allowed(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    refusing, allowing = replica(), replica(remediation_allow_protected=("longhorn-system",))
    refused = plan_for(refusing, report, "POD-CRASHLOOP", "rollout-restart", "longhorn-system")
    assert refused.blocked.startswith("namespace longhorn-system is protected")

    outcome = refusing.executor.confirm(refused.token, SLACK_ALICE)

    assert outcome.result is Result.DENIED
    assert "namespace longhorn-system is protected" in outcome.headline
    assert cluster.requests.count("PATCH") == 0
    allowed = plan_for(allowing, report, "POD-CRASHLOOP", "rollout-restart", "longhorn-system")
    assert allowing.executor.confirm(allowed.token, SLACK_ALICE).result is Result.DONE
    assert cluster.requests.count("PATCH") == 1


def test_an_expired_plan_does_nothing(cluster: FakeKubeAPI, replica: Replica, report: Report,
                                      clock: Clock, audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica(action_ttl_seconds=900)
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    clock.advance(901)

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.EXPIRED
    assert "the token has expired" in outcome.headline and "fresh plan" in outcome.headline
    assert cluster.requests.count("DELETE") == 0
    [event] = audit_events(cluster, "financial-screener")
    assert "expired" in event["message"]
    assert audit_lines(audit_log)[0]["result"] == "expired"


def _swap_payload(token: str, other: str) -> str:
    version, _, mac = token.split(".")
    return f"{version}.{other.split('.')[1]}.{mac}"


def test_tampered_tokens_do_nothing(cluster: FakeKubeAPI, replica: Replica, report: Report,
                                    audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    forger = replica(action_secret="another-secret-" + "y" * 32)
    forged = plan_for(forger, report, "POD-LEFTOVER-COMPLETED")  # other pods, wrong key
    tampered = {
        "another pod list, same signature": _swap_payload(plan.token, forged.token),
        "changed signature": plan.token[:-2] + ("AA" if not plan.token.endswith("AA") else "BB"),
        "signed with another secret": forged.token,
        "not a token": "v1.garbage",
    }
    for case, token in tampered.items():
        outcome = bot.executor.confirm(token, SLACK_ALICE)
        assert outcome.result is Result.INVALID, case
        assert "Nothing was done" in outcome.headline, case
    assert cluster.requests.count("DELETE") == 0
    assert cluster.list("leases", HOME) == []
    events = audit_events(cluster, HOME)
    assert len(events) == len(tampered)
    assert all(e["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "replica-a",
                                       "namespace": HOME} for e in events)
    assert any("test-redis-connection" in e["message"] for e in events)  # what it claimed
    assert [line["result"] for line in audit_lines(audit_log)] == ["invalid"] * len(tampered)


def test_a_replayed_or_double_confirm_runs_once(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")

    first = bot.executor.confirm(plan.token, SLACK_ALICE)
    again = bot.executor.confirm(plan.token, Actor(ALICE, "matrix"))

    assert first.result is Result.DONE
    assert again.result is Result.ALREADY_DONE
    assert "already done by U0ALICE (slack)" in again.headline
    assert cluster.requests.count("DELETE") == 4
    assert [line["result"] for line in audit_lines(audit_log)] == ["done", "already-done"]
    assert len(audit_events(cluster, "financial-screener")) == 2


def test_a_click_delivered_to_the_other_replica_runs_there_once(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    proposer, other = replica("replica-a"), replica("replica-b")
    plan = plan_for(proposer, report, "POD-LEFTOVER-FAILED")

    ran = other.executor.confirm(plan.token, SLACK_ALICE)
    replayed = proposer.executor.confirm(plan.token, SLACK_ALICE)

    assert (ran.result, replayed.result) == (Result.DONE, Result.ALREADY_DONE)
    assert cluster.requests.count("DELETE") == 4
    assert {e["reportingInstance"]: ": done: " in e["message"] for e in audit_events(
        cluster, "financial-screener")} == {"replica-b": True, "replica-a": False}


def test_simultaneous_clicks_on_two_replicas_run_once(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    replicas = [replica("replica-a"), replica("replica-b")]
    plan = plan_for(replicas[0], report, "POD-LEFTOVER-FAILED")
    start = threading.Barrier(2, timeout=10)
    results: list[Result] = []

    def click(bot: Remediation) -> None:
        start.wait()
        results.append(bot.executor.confirm(plan.token, SLACK_ALICE).result)

    threads = [threading.Thread(target=click, args=(bot,)) for bot in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == sorted([Result.DONE, Result.ALREADY_DONE])
    assert cluster.requests.count("DELETE", "/api/v1/namespaces/financial-screener/pods") == 4


def test_dry_run_checks_each_object_and_changes_nothing(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica(remediation="dry-run")
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    cluster.delete("pods", "financial-screener", "test-fundamentals")

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.DRY_RUN
    assert "nothing was changed (CLUSTERBOT_REMEDIATION=dry-run" in outcome.headline
    assert "would delete Pod financial-screener/test-eodhd-final" in outcome.details
    assert "Pod financial-screener/test-fundamentals was already gone" in outcome.details
    assert cluster.requests.count("DELETE") == 0
    assert cluster.list("leases", HOME) == []  # a dry run can be followed by the real thing
    [event] = audit_events(cluster, "financial-screener")
    assert event["type"] == "Normal" and "dry-run" in event["message"]
    assert audit_lines(audit_log)[0]["result"] == "dry-run"


def test_forbidden_by_rbac_is_reported_plainly(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    cluster.forbid("pods")

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.FAILED
    assert ("clusterbot is not allowed to delete pods in financial-screener (RBAC); nothing "
            "deleted") in outcome.details
    assert "4 forbidden (RBAC)" in outcome.headline
    cluster.allow("pods")
    left = {p["metadata"]["name"] for p in cluster.list("pods", "financial-screener")}
    assert left >= FAILED_TEST_PODS
    assert len(audit_events(cluster, "financial-screener")) == 1


def test_a_claim_that_cannot_be_recorded_stops_the_run(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    cluster.forbid("leases")

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.FAILED
    assert "not allowed to create leases in clusterbot (RBAC); nothing was done" in \
        outcome.headline
    assert cluster.requests.count("DELETE") == 0


def test_an_audit_event_that_cannot_be_written_does_not_stop_the_fix(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-LEFTOVER-FAILED")
    cluster.forbid("events")

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.DONE
    assert any("audit Event could not be written" in d for d in outcome.details)
    assert audit_lines(audit_log)[0]["event"].startswith("the audit Event could not be written")


def test_deleting_a_job_takes_its_pods_with_it(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "JOB-FAILED", "delete-jobs")
    before = Inventory.of(cluster)

    outcome = bot.executor.confirm(plan.token, SLACK_ALICE)

    assert outcome.result is Result.DONE
    assert {(o[0], o[2]) for o in before - Inventory.of(cluster)} == {
        ("jobs", "test-data-load"), *(("pods", name) for name in JOB_PODS)}
