"""Show logs and describe: no confirmation, nothing changed, secrets kept out of chat."""

from __future__ import annotations

import pytest

from bot.actions.models import Actor, Result
from bot.actions.readonly import LOG_LINES
from bot.actions.remediation import Remediation
from bot.cluster.demo import demo_snapshot
from bot.config import Settings
from bot.report.model import Report
from tests.actions.conftest import HOME, Replica, audit_events, audit_lines, plan_for
from tests.fakeapi import FakeKubeAPI

CAROL = Actor("U0CAROL", "slack")  # not allowed to change anything; reading needs no permission
FLOWER_POD = ("celery", "flower-cvgns47m2g-cdb58", "flower")


def test_logs_of_a_crash_loop_come_from_the_previous_instance_redacted(
        cluster: FakeKubeAPI, replica: Replica, report: Report,
        audit_log: pytest.LogCaptureFixture) -> None:
    crashed = [f"line {n}" for n in range(70)] + [
        "connecting with FLOWER_BASIC_AUTH_PASSWORD=hunter2hunter2",
        "Traceback: broker redis://:s3cret@redis:6379 refused"]
    cluster.set_logs(*FLOWER_POD, "\n".join(crashed) + "\n", previous=True)
    cluster.set_logs(*FLOWER_POD, "starting flower\n")
    bot = replica()
    plan = plan_for(bot, report, "POD-CRASHLOOP", "logs", "celery")

    outcome = bot.executor.confirm(plan.token, CAROL)

    assert outcome.result is Result.SHOWN
    assert outcome.headline == (
        f"🔎 Last {LOG_LINES} log lines of celery/flower-cvgns47m2g-cdb58 container flower "
        "(previous instance, before its last restart); 2 secret-looking line(s) redacted")
    assert outcome.details[0] == "line 22"
    assert outcome.details[-2:] == ("[redacted: secret value]", "[redacted: password in a URL]")
    assert not any("hunter2" in line or "s3cret" in line for line in outcome.details)
    query = next(r.query for r in cluster.requests if r.path.endswith("/log"))
    assert query == {"container": "flower", "tailLines": "50", "previous": "true"}
    assert audit_events(cluster) == []  # reads change nothing: a log line, no Event
    assert audit_lines(audit_log)[0]["result"] == "shown"


def test_logs_fall_back_to_the_current_instance_when_no_previous_is_kept(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    cluster.set_logs(*FLOWER_POD, "starting flower\nlistening on 5555\n")
    bot = replica()
    plan = plan_for(bot, report, "POD-CRASHLOOP", "logs", "celery")

    outcome = bot.executor.confirm(plan.token, CAROL)

    assert outcome.headline.endswith("container flower")
    assert outcome.details == ("starting flower", "listening on 5555")


def test_logs_of_a_failed_job_pod_are_its_last_run(cluster: FakeKubeAPI, replica: Replica,
                                                   report: Report) -> None:
    cluster.set_logs("databases", "test-data-load-dlfv5", "psql",
                     "ERROR: relation \"prices\" does not exist\n")
    bot = replica()
    plan = plan_for(bot, report, "JOB-FAILED", "logs")

    outcome = bot.executor.confirm(plan.token, CAROL)

    assert outcome.details == ('ERROR: relation "prices" does not exist',)
    assert "previous" not in outcome.headline


def test_logs_when_reading_pods_is_forbidden(cluster: FakeKubeAPI, replica: Replica,
                                             report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-CRASHLOOP", "logs", "celery")
    cluster.forbid("pods")

    outcome = bot.executor.confirm(plan.token, CAROL)

    assert outcome.result is Result.FAILED
    assert "clusterbot is not allowed to show the logs of pods in celery (RBAC)" in \
        outcome.headline


def test_describe_shows_status_and_events_from_the_snapshot(report: Report) -> None:
    bot = Remediation.from_settings(Settings(namespace=HOME), None)  # the demo: no cluster
    plan = plan_for(bot, report, "POD-CRASHLOOP", "describe", "celery")

    outcome = bot.executor.confirm(plan.token, CAROL, demo_snapshot())

    assert outcome.result is Result.SHOWN
    assert outcome.headline == "🔎 Deployment celery/flower"
    assert ("Condition Available False MinimumReplicasUnavailable: Deployment does not have "
            "minimum availability.") in outcome.details
    assert any(line.startswith("  Warning Unhealthy ×356 (") and "flower-cvgns47m2g-cdb58" in line
               for line in outcome.details)


def test_logs_need_a_live_cluster(report: Report) -> None:
    bot = Remediation.from_settings(Settings(namespace=HOME), None)
    plan = plan_for(bot, report, "POD-CRASHLOOP", "logs", "celery")

    outcome = bot.executor.confirm(plan.token, CAROL, demo_snapshot())

    assert outcome.result is Result.FAILED
    assert "logs need a live cluster" in outcome.headline
