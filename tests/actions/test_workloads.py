"""Rollout restart against the fake API: kubectl's annotation, the uid check, 409 retries."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Actor, Result
from bot.actions.workloads import ATTEMPTS, RESTARTED_AT
from bot.models import ObjectRef
from bot.report.model import Report
from tests.actions.conftest import ALICE, Clock, Replica, plan_for
from tests.fakeapi import FakeKubeAPI

FLOWER = "/apis/apps/v1/namespaces/celery/deployments/flower"


def template_annotations(api: FakeKubeAPI) -> dict:
    deployment = api.get("deployments", "celery", "flower") or {}
    return deployment["spec"]["template"]["metadata"].get("annotations") or {}


def test_restart_sets_restarted_at_like_kubectl(cluster: FakeKubeAPI, replica: Replica,
                                                report: Report, clock: Clock) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-CRASHLOOP", "rollout-restart", "celery")

    outcome = bot.executor.confirm(plan.token, Actor(ALICE, "slack"))

    assert outcome.result is Result.DONE
    stamp = template_annotations(cluster)[RESTARTED_AT]
    assert datetime.fromisoformat(stamp) == clock.now
    assert stamp.endswith("Z")
    labels = (cluster.get("deployments", "celery", "flower") or {})["spec"]["template"][
        "metadata"]["labels"]
    assert labels == {"app": "celery", "component": "flower"}  # merged, not replaced
    assert cluster.requests.count("PATCH", FLOWER) == 1


def test_a_recreated_deployment_is_not_restarted(cluster: FakeKubeAPI, replica: Replica,
                                                 report: Report) -> None:
    bot = replica()
    plan = plan_for(bot, report, "POD-CRASHLOOP", "rollout-restart", "celery")
    old = cluster.get("deployments", "celery", "flower") or {}
    cluster.delete("deployments", "celery", "flower")
    successor = deepcopy(old)
    del successor["metadata"]["uid"]
    cluster.add(successor)

    outcome = bot.executor.confirm(plan.token, Actor(ALICE, "slack"))

    assert outcome.result is Result.NO_CHANGE
    assert "Deployment celery/flower was recreated since the proposal; not restarted" in \
        outcome.details
    assert RESTARTED_AT not in template_annotations(cluster)
    assert cluster.requests.count("PATCH") == 0


class RacingAPI:
    """A controller that updates the Deployment between clusterbot's read and its patch,
    `races` times: the patch then carries a stale resourceVersion and the fake answers 409.
    Every call goes to the bot's own RemediationAPI, over HTTP."""

    def __init__(self, api: RemediationAPI | None, cluster: FakeKubeAPI, races: int) -> None:
        assert api is not None
        self._api = api
        self._cluster = cluster
        self.races = races

    def get(self, ref: ObjectRef) -> dict:
        found = self._api.get(ref)
        if self.races:
            self.races -= 1
            current = self._cluster.get("deployments", ref.namespace, ref.name) or {}
            current["status"]["observedGeneration"] += 1
            self._cluster.update(current)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def test_a_conflict_from_a_status_update_is_retried(cluster: FakeKubeAPI, replica: Replica,
                                                     report: Report) -> None:
    bot = replica()
    executor = replace(bot.executor, api=RacingAPI(bot.executor.api, cluster, races=ATTEMPTS - 1))
    plan = plan_for(bot, report, "POD-CRASHLOOP", "rollout-restart", "celery")

    outcome = executor.confirm(plan.token, Actor(ALICE, "slack"))

    assert outcome.result is Result.DONE
    assert cluster.requests.count("PATCH", FLOWER) == ATTEMPTS
    assert RESTARTED_AT in template_annotations(cluster)


def test_an_object_that_keeps_changing_is_reported_not_restarted(
        cluster: FakeKubeAPI, replica: Replica, report: Report) -> None:
    bot = replica()
    executor = replace(bot.executor, api=RacingAPI(bot.executor.api, cluster, races=ATTEMPTS))
    plan = plan_for(bot, report, "POD-CRASHLOOP", "rollout-restart", "celery")

    outcome = executor.confirm(plan.token, Actor(ALICE, "slack"))

    assert outcome.result is Result.FAILED
    assert outcome.details[0] == ("Deployment celery/flower kept changing while clusterbot tried "
                                  f"to restart it (409 Conflict {ATTEMPTS} times); not restarted")
    assert RESTARTED_AT not in template_annotations(cluster)
