"""Jobs analyzer: failed Jobs diagnosed from their pods, CronJobs suspended or failing.

jobs.json holds the seed report's failed test-data-load Job (wrong database password), a
report killed at its activeDeadlineSeconds, a CronJob whose latest backup ran out of disk, a
suspended CronJob, and healthy batch work that must stay quiet: a completed Job, a running
Job, and a CronJob whose old failure was followed by a success.
"""

from __future__ import annotations

import re

import pytest

from bot.analyzers import jobs, pods
from bot.analyzers.base import ANALYZER_ERROR, CATALOGUE
from bot.cluster.snapshot import Snapshot
from bot.models import Severity


@pytest.fixture(scope="module")
def found(load, run):
    return run(load("jobs/jobs.json"))


def test_backoff_limit_failure_is_diagnosed_from_its_pods(found, only):
    f = only(found, jobs.JOB_FAILED, "test-data-load")
    assert (f.severity, f.reason) == (Severity.WARNING, "BackoffLimitExceeded")
    assert (f.subject.kind, f.subject.namespace) == ("Job", "databases") and f.subject.uid
    assert f.title == "test-data-load: Job failed (BackoffLimitExceeded)"
    assert len(f.pods) == 2 and all(p.startswith("test-data-load-") for p in f.pods)
    assert "failed 2 times, past its backoffLimit of 1" in f.cause
    assert "2 pods exited with code 1 (application error)" in f.cause
    assert 'password authentication failed for user "loader"' in f.cause
    assert "Failed BackoffLimitExceeded: Job has reached the specified backoff limit" \
        in f.evidence
    assert "`kubectl logs -n databases job/test-data-load`" in f.recommendation
    assert "`kubectl delete job -n databases test-data-load`" in f.recommendation


def test_failed_job_proposes_deleting_its_pods_and_itself(found, only):
    f = only(found, jobs.JOB_FAILED, "test-data-load")
    actions = {p.action: p for p in f.proposals}
    assert set(actions) == {"logs", "delete-failed-job-pods", "delete-jobs"}
    assert not actions["logs"].mutating
    pod_targets = actions["delete-failed-job-pods"].targets
    assert sorted(t.name for t in pod_targets) == list(f.pods)
    assert all(t.kind == "Pod" and t.uid for t in pod_targets)
    assert actions["delete-jobs"].targets == (f.subject,)


def test_deadline_exceeded(found, only):
    f = only(found, jobs.JOB_FAILED, "slow-report")
    assert f.reason == "DeadlineExceeded"
    assert "activeDeadlineSeconds 600" in f.cause and "exited with code 143" in f.cause
    assert "raise spec.activeDeadlineSeconds" in f.recommendation


def test_cronjob_last_run_failed_is_reported_on_the_cronjob(found, only):
    f = only(found, jobs.CRONJOB_LAST_FAILED, "db-backup")
    assert (f.severity, f.reason, f.subject.kind) == (Severity.WARNING, "BackoffLimitExceeded",
                                                      "CronJob")
    assert "db-backup-29345760" in f.cause
    assert "No space left on device" in f.cause
    assert "its last success was 36h ago" in f.cause
    assert len(f.pods) == 3
    assert "kubectl logs -n backups job/db-backup-29345760" in f.recommendation
    assert "kubectl create job -n backups db-backup-manual --from=cronjob/db-backup" \
        in f.recommendation
    command = re.search(r"`kubectl delete pod -n backups ([^`]+)`", f.recommendation)
    assert command and sorted(command.group(1).split()) == list(f.pods)
    assert [p.action for p in f.proposals] == ["logs", "delete-failed-job-pods"]
    # one problem, one finding: no JOB-FAILED for the CronJob's own Job
    assert not [x for x in found if x.code == jobs.JOB_FAILED and
                x.subject.name.startswith("db-backup")]


def test_suspended_cronjob_is_info(found, only):
    f = only(found, jobs.CRONJOB_SUSPENDED, "weekly-report")
    assert (f.severity, f.reason) == (Severity.INFO, "Suspended")
    assert "0 6 * * 1" in f.cause and "13d ago" in f.cause
    assert "kubectl -n financial-screener patch cronjob weekly-report -p " \
           "'{\"spec\":{\"suspend\":false}}'" in f.recommendation


@pytest.mark.parametrize("name", ["bulk-load", "nightly-import", "cleanup"])
def test_healthy_batch_work_gives_nothing(found, about, name):
    assert not [f for f in found if f.subject.name.startswith(name)
                or any(p.startswith(name) for p in f.pods)]


def test_job_pods_are_not_pod_leftovers(found):
    assert not [f for f in found if f.code in (pods.LEFTOVER_FAILED, pods.LEFTOVER_COMPLETED)]


def test_every_jobs_check_is_in_the_catalogue():
    assert {c for c, check in CATALOGUE.items() if check.area == "jobs"} == {
        jobs.JOB_FAILED, jobs.CRONJOB_SUSPENDED, jobs.CRONJOB_LAST_FAILED}


def test_orphaned_job_pods_are_leftovers(load, run, only):
    """With its Job gone (deleted with --cascade=orphan), a failed pod is plain clutter."""
    fixture = load("jobs/jobs.json")
    objects = {k: list(v) for k, v in fixture.collections.items()}
    objects["jobs"] = [j for j in objects["jobs"] if j["metadata"]["name"] != "test-data-load"]
    found = run(Snapshot.build(objects, trimmed=True, taken_at=fixture.taken_at))
    f = only(found, pods.LEFTOVER_FAILED, "databases")
    assert len(f.pods) == 2


@pytest.mark.parametrize("bad", [
    {"kind": "Job", "metadata": {"name": "a", "namespace": "n"}, "spec": "x",
     "status": {"conditions": [{"type": "Failed", "status": "True"}], "failed": "2"}},
    {"kind": "Job", "metadata": {"name": "b", "namespace": "n"}, "status": {"conditions": "x"}},
    {"kind": "Job", "metadata": {"name": "c", "namespace": "n",
                                 "ownerReferences": [{"kind": "CronJob", "name": "d"}]},
     "status": None},
    {"kind": "CronJob", "metadata": {"name": "d", "namespace": "n"}, "spec": None,
     "status": {"lastScheduleTime": 5, "lastSuccessfulTime": "never"}},
    {"kind": "CronJob", "metadata": {"name": "e", "namespace": "n"},
     "spec": {"suspend": True, "schedule": None}, "status": "x"},
])
def test_malformed_batch_objects_never_raise(load, run, bad):
    fixture = load("jobs/jobs.json")
    key = "jobs" if bad["kind"] == "Job" else "cronjobs"
    objects = {k: list(v) for k, v in fixture.collections.items()}
    objects[key].append(bad)
    found = run(Snapshot.build(objects, trimmed=False, taken_at=fixture.taken_at))
    assert any(f.code == jobs.JOB_FAILED and f.subject.name == "test-data-load" for f in found)
    for f in found:
        if f.subject.name == bad["metadata"]["name"]:
            assert f.code in (ANALYZER_ERROR, jobs.JOB_FAILED, jobs.CRONJOB_SUSPENDED), f
