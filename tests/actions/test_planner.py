"""Plans from the demo cluster's findings: the exact objects, the dry run, and what is offered."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from bot.actions.authz import Policy
from bot.actions.planner import Planner
from bot.actions.tokens import MAX_LENGTH, Signer
from bot.cluster.demo import demo_snapshot
from bot.config import Settings
from bot.models import Finding, ObjectRef, Proposal, Severity
from bot.report.model import Report
from tests.actions.conftest import ALICE, SECRET, START, Clock, finding


def planner(**settings: object) -> Planner:
    policy = Policy.from_settings(Settings(**({"action_secret": SECRET} | settings)))
    return Planner(Signer(SECRET, Clock()), policy, timedelta(minutes=15), Clock())


def evicted(count: int) -> Finding:
    pods = tuple(ObjectRef("Pod", f"celery-worker-mlz6x5mv8m-{uuid.uuid4().hex[:5]}",
                           "financial-screener", str(uuid.uuid4())) for _ in range(count))
    return Finding("POD-EVICTED", Severity.WARNING, "Evicted",
                   ObjectRef("Deployment", "celery-worker", "financial-screener"), "evicted",
                   proposals=(Proposal("delete-pods", f"Delete {count} pod(s)", pods),))


def test_the_job_finding_offers_logs_its_failed_pods_and_the_job(report: Report) -> None:
    job = finding(report, "JOB-FAILED")
    plans, skipped = planner().plans_for(job, ALICE)
    assert skipped == []
    assert [(p.action, p.mutating) for p in plans] == [
        ("logs", False), ("delete-failed-job-pods", True), ("delete-jobs", True)]
    pods = plans[1]
    snapshot = demo_snapshot()
    assert {(t.name, t.uid) for t in pods.targets} == {
        (name, snapshot.get("pods", "databases", name)["metadata"]["uid"])  # type: ignore[index]
        for name in ("test-data-load-4sh6p", "test-data-load-dlfv5")}
    assert pods.subject == job.subject and pods.requester == ALICE
    assert pods.command == "kubectl delete pod -n databases test-data-load-4sh6p " \
                           "test-data-load-dlfv5"
    assert pods.description.startswith("Delete the 2 failed pods of Job databases/test-data-load,"
                                       " each only if it is still the same pod")
    assert pods.title == "Delete 2 failed pods?"
    assert pods.expires_at == START + timedelta(minutes=15)
    assert plans[0].expires_at == START + timedelta(days=7)  # a read-only button lives longer
    assert len({p.id for p in plans}) == 3 and all(p.token.startswith("v1.") for p in plans)


def test_a_plan_in_a_protected_namespace_says_it_will_be_refused(report: Report) -> None:
    plans, _ = planner().plans_for(finding(report, "POD-CRASHLOOP", "longhorn-system"), ALICE)
    restart = next(p for p in plans if p.action == "rollout-restart")
    assert restart.blocked.startswith("namespace longhorn-system is protected")
    assert all(not p.blocked for p in plans if not p.mutating)


def test_objects_without_a_uid_or_unknown_actions_are_not_offered() -> None:
    pod = ObjectRef("Pod", "a", "x")
    unpinned = Finding("POD-EVICTED", Severity.WARNING, "Evicted", ObjectRef("Namespace", "x"),
                       "t", proposals=(
                           Proposal("delete-pods", "Delete 1 pod(s)", (pod,)),
                           Proposal("scale-to-zero", "Scale down", (pod,)),
                           Proposal("delete-jobs", "Delete", (replace(pod, uid="u"),))))
    plans, skipped = planner().plans_for(unpinned, ALICE)
    assert plans == []
    assert skipped == [
        "Delete 1 pod(s): Pod x/a has no uid in the data it was found in, so it cannot be pinned",
        "Scale down: clusterbot has no action 'scale-to-zero'",
        "Delete: delete-jobs does not act on a Pod (Pod x/a)"]


def test_too_many_pods_for_one_button_are_split_into_parts_that_fit() -> None:
    many = evicted(150)
    plans, skipped = planner().plans_for(many, ALICE)
    assert skipped == [] and len(plans) > 1
    assert all(len(p.token) <= MAX_LENGTH for p in plans)
    assert [t for p in plans for t in p.targets] == list(many.proposals[0].targets)
    assert plans[0].label == f"Delete {len(plans[0].targets)} pods (part 1 of {len(plans)})"
