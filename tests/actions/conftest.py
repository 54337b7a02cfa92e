"""Remediation against the fake API server seeded with the demo cluster, as a replica sees it.

`cluster` is the fake API holding every demo object (uids as in the demo snapshot, so the
analyzers' proposals pin them); `replica()` builds a Remediation the way the bot does, with its
own KubeClient over HTTP, sharing only the API server and the secret with other replicas; the
clock is injected so expiry can be tested without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.actions.models import ActionPlan
from bot.actions.remediation import Remediation
from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import demo_snapshot
from bot.cluster.dump import to_list_document
from bot.config import Settings
from bot.models import Finding, Proposal
from bot.report.model import Report, diagnose
from tests.fakeapi import RESOURCES, FakeKubeAPI

SECRET = "test-secret-" + "x" * 32
ALICE = "U0ALICE"
HOME = "clusterbot"
START = datetime(2025, 10, 19, 18, 5, tzinfo=UTC)  # five minutes after the demo snapshot
BOOKKEEPING = ("leases", "events")  # what remediation itself writes: claims and audit
# The seed's cleanup: the pods of POD-LEFTOVER-FAILED in financial-screener.
FAILED_TEST_PODS = frozenset({"test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                              "test-fundamentals"})


class Clock:
    """A settable clock: `advance()` moves it, every reader sees the same time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def report() -> Report:
    return diagnose(demo_snapshot())


@pytest.fixture
def cluster(fake_api: FakeKubeAPI) -> FakeKubeAPI:
    for obj in to_list_document(demo_snapshot())["items"]:
        fake_api.add(obj)
    return fake_api


@pytest.fixture
def clock() -> Clock:
    return Clock()


Replica = Callable[..., Remediation]


@pytest.fixture
def replica(cluster: FakeKubeAPI, clock: Clock, tmp_path: Path) -> Iterator[Replica]:
    """`replica(name="a", **settings)`: a bot replica's Remediation, remediation on, Alice
    allowed; keyword arguments override settings."""
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    clients: list[KubeClient] = []

    def make(name: str = "replica-a", **overrides: Any) -> Remediation:
        client = KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=5.0))
        clients.append(client)
        settings = Settings(**({"remediation": "on", "action_secret": SECRET,
                                "remediation_users": (ALICE,), "namespace": HOME}
                               | overrides))
        return Remediation.from_settings(settings, client, clock=clock, instance=name)

    yield make
    for client in clients:
        client.close()


def finding(report: Report, code: str, namespace: str = "") -> Finding:
    return next(i.finding for i in report.issues if i.finding.code == code
                and (not namespace or i.finding.subject.namespace == namespace))


def proposal(found: Finding, action: str) -> Proposal:
    return next(p for p in found.proposals if p.action == action)


def plan_for(remediation: Remediation, report: Report, code: str, action: str = "delete-pods",
             namespace: str = "", requester: str = ALICE) -> ActionPlan:
    found = finding(report, code, namespace)
    return remediation.planner.propose(proposal(found, action), requester, found)


@dataclass(frozen=True)
class Inventory:
    """Every object in the fake but claims and audit Events, as (resource, ns, name, uid)."""

    objects: frozenset[tuple[str, str, str, str]]

    @classmethod
    def of(cls, api: FakeKubeAPI) -> Inventory:
        found = set()
        for resource in RESOURCES:
            if resource.plural in BOOKKEEPING or resource.optional:
                continue
            for obj in api.list(resource.plural):
                meta = obj["metadata"]
                found.add((resource.plural, meta.get("namespace", ""), meta["name"],
                           meta["uid"]))
        return cls(frozenset(found))

    def __sub__(self, other: Inventory) -> set[tuple[str, str, str, str]]:
        return set(self.objects - other.objects)


def recreate(api: FakeKubeAPI, plural: str, namespace: str, name: str) -> str:
    """Delete the object and create it again under the same name; the new uid."""
    old = api.get(plural, namespace, name)
    assert old is not None, f"no {plural} {namespace}/{name}"
    api.delete(plural, namespace, name)
    successor = deepcopy(old)
    del successor["metadata"]["uid"]
    return str(api.add(successor)["metadata"]["uid"])


def audit_events(api: FakeKubeAPI, namespace: str | None = None) -> list[dict]:
    return [e for e in api.list("events", namespace) if e.get("reason") == "ClusterbotRemediation"]


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "clusterbot.audit"]


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="clusterbot.audit")
    return caplog
