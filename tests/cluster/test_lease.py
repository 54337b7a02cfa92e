"""Leader election on a coordination.k8s.io/v1 Lease, against the fake API server over HTTP,
with a clock the test moves: acquire, renew, expiry and takeover, release, lost races."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_mock import MockerFixture

from bot.cluster.client import KubeClient
from bot.cluster.lease import LeaderElector, LeaseConfig
from tests.cluster.live_helpers import connect
from tests.fakeapi import FakeKubeAPI
from tests.fakeclock import FakeClock

NS, NAME = "clusterbot", "clusterbot-scheduler"
START = datetime(2025, 10, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def clients(fake_api: FakeKubeAPI, tmp_path: Path) -> Iterator[list[KubeClient]]:
    made = [connect(fake_api, tmp_path) for _ in range(2)]
    yield made
    for client in made:
        client.close()


def elector(client: KubeClient, clock: FakeClock, identity: str,
            elected: list[str] | None = None) -> LeaderElector:
    def note() -> None:
        if elected is not None:
            elected.append(identity)

    return LeaderElector(client, LeaseConfig(NS, NAME, identity), clock=clock, on_elected=note)


def lease(api: FakeKubeAPI) -> dict[str, Any]:
    found = api.get("leases", NS, NAME)
    assert found is not None
    return found["spec"]


def test_acquires_an_absent_lease_and_renews_it(fake_api, clients, clock):
    elected: list[str] = []
    a = elector(clients[0], clock, "a", elected)
    assert a.step() and a.is_leader
    spec = lease(fake_api)
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
    assert spec["acquireTime"] == spec["renewTime"] == "2025-10-20T08:00:00.000000Z"
    assert spec["leaseTransitions"] == 0

    clock.advance(seconds=2)
    assert a.step()
    spec = lease(fake_api)
    assert spec["renewTime"] == "2025-10-20T08:00:02.000000Z"
    assert spec["acquireTime"] == "2025-10-20T08:00:00.000000Z"
    assert elected == ["a"]  # called on becoming leader, not on renewing


def test_a_held_lease_is_respected_while_it_is_renewed(fake_api, clients, clock):
    a, b = elector(clients[0], clock, "a"), elector(clients[1], clock, "b")
    assert a.step() and not b.step()
    for _ in range(20):  # 40 s: well past the 15 s duration, but renewed all along
        clock.advance(seconds=2)
        assert a.step() and not b.step()
    assert lease(fake_api)["holderIdentity"] == "a"


def test_takes_over_after_the_lease_duration_without_renewal(fake_api, clients, clock):
    elected: list[str] = []
    a, b = elector(clients[0], clock, "a", elected), elector(clients[1], clock, "b", elected)
    assert a.step() and not b.step()
    last_renewal = clock()  # a dies here: no release, no more renewals
    taken_at = None
    for _ in range(15):
        clock.advance(seconds=2)
        if b.step():
            taken_at = clock()
            break
    assert taken_at is not None
    waited = (taken_at - last_renewal).total_seconds()
    assert 15 <= waited <= 15 + b.config.retry_period
    assert not a.is_leader  # past its renew deadline: it stepped down before b took over
    spec = lease(fake_api)
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert elected == ["a", "b"]
    assert not a.step()  # a comes back: b holds it now


def test_release_hands_over_at_once(fake_api, clients, clock):
    a, b = elector(clients[0], clock, "a"), elector(clients[1], clock, "b")
    assert a.step() and not b.step()
    a.stop(release=True)
    assert lease(fake_api)["holderIdentity"] == ""
    assert not a.is_leader
    clock.advance(seconds=1)
    assert b.step()
    assert lease(fake_api)["holderIdentity"] == "b"


def test_two_candidates_racing_for_a_free_lease_one_wins(fake_api, clients, clock, mocker):
    a, b = elector(clients[0], clock, "a"), elector(clients[1], clock, "b")
    raced: list[str] = []
    real = clients[0].request

    def b_writes_between_a_read_and_write(method: str, path: str, **kwargs: Any) -> Any:
        if method == "POST" and not raced:  # a saw no Lease; b creates it first
            raced.append(method)
            assert b.step()
        return real(method, path, **kwargs)

    mocker.patch.object(clients[0], "request", side_effect=b_writes_between_a_read_and_write)
    assert not a.step()  # 409 AlreadyExists: lost
    assert raced and lease(fake_api)["holderIdentity"] == "b"


def test_takeover_race_is_decided_by_the_resource_version(fake_api, clients, clock,
                                                          mocker: MockerFixture):
    a, b = elector(clients[0], clock, "a"), elector(clients[1], clock, "b")
    holder = elector(clients[1], clock, "old")
    assert holder.step()
    holder.stop(release=True)  # free for the taking
    raced: list[str] = []
    real = clients[0].request

    def b_takes_it_first(method: str, path: str, **kwargs: Any) -> Any:
        if method == "PUT" and not raced:
            raced.append(method)
            assert b.step()
        return real(method, path, **kwargs)

    mocker.patch.object(clients[0], "request", side_effect=b_takes_it_first)
    assert not a.step()  # its PUT carried the old resourceVersion: 409 Conflict
    assert raced and lease(fake_api)["holderIdentity"] == "b"
    assert not a.is_leader and b.is_leader


def test_a_leader_cut_off_from_the_api_steps_down_at_its_renew_deadline(fake_api, clients,
                                                                        clock):
    a = elector(clients[0], clock, "a")
    assert a.step()
    fake_api.faults.fail(503, times=None)
    clock.advance(seconds=4)
    assert a.step()  # renewal failed, but within the renew deadline (10 s)
    clock.advance(seconds=6.5)
    assert not a.step() and not a.is_leader
    fake_api.faults.clear()
    clock.advance(seconds=2)
    assert a.step()  # still its own Lease: renewed
