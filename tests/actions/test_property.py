"""Property: no sequence of confirmations, replays, tamperings, recreations and waiting, on
any generated plan, across two replicas, ever deletes an object outside the plan, or runs the
plan more than once.

Each example starts a fresh fake API server with generated pods (the same names in two
namespaces, so a name alone never identifies a pod), plans a subset of them, and plays a
generated sequence of events against two replicas that share only the API and the secret.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.actions.models import Actor, Result
from bot.actions.remediation import Remediation
from bot.actions.tokens import Signer, new_nonce
from bot.cluster.client import ConnectOptions, KubeClient
from bot.config import Settings
from bot.models import ActionRequest, ObjectRef, Proposal
from tests.actions.conftest import ALICE, SECRET, Clock
from tests.fakeapi import FakeKubeAPI

NAMESPACES = ("team-a", "team-b")
NAMES = ("web-1", "web-2", "db-0", "cache-0", "load-x7k2p")
FORGER = "forger-key-" + "f" * 32
RAN = (Result.DONE, Result.PARTIAL, Result.NO_CHANGE, Result.FAILED)  # a claim was taken


def pod(namespace: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            "status": {"phase": "Failed"}}


pods_strategy = st.lists(st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(NAMES)),
                         min_size=2, max_size=8, unique=True)
events_strategy = st.lists(st.one_of(
    st.tuples(st.just("confirm"), st.integers(0, 1), st.booleans()),  # replica, allowed user?
    st.tuples(st.just("tamper"), st.sampled_from(
        ("swap-payload", "flip-mac", "flip-payload", "forged", "truncated"))),
    st.tuples(st.just("recreate"), st.integers(0, 7)),
    st.tuples(st.just("wait"), st.sampled_from((60, 600, 1000))),
), min_size=1, max_size=8)


@dataclass
class World:
    api: FakeKubeAPI
    replicas: list[Remediation]
    clock: Clock
    token: str
    forged: str  # the same plan shape over every pod, signed with another key
    planned: frozenset[str]  # uids
    removed_by_test: set[str]
    clients: list[KubeClient]


def tampered(world: World, how: str) -> str:
    version, payload, mac = world.token.split(".")
    flip = {"A": "B"}
    return {
        "swap-payload": f"{version}.{world.forged.split('.')[1]}.{mac}",
        "flip-mac": f"{version}.{payload}.{mac[:-1]}{flip.get(mac[-1], 'A')}",
        "flip-payload": f"{version}.{payload[:-1]}{flip.get(payload[-1], 'A')}.{mac}",
        "forged": world.forged,
        "truncated": world.token[: len(world.token) // 2],
    }[how]


def play(world: World, event: tuple) -> Result | None:
    kind = event[0]
    if kind == "confirm":
        actor = Actor(ALICE if event[2] else "U0MALLORY", "slack")
        return world.replicas[event[1]].executor.confirm(world.token, actor).result
    if kind == "tamper":
        result = world.replicas[0].executor.confirm(tampered(world, event[1]),
                                                    Actor(ALICE, "slack")).result
        assert result is Result.INVALID
        return None
    if kind == "recreate":
        live = world.api.list("pods")
        if not live:
            return None
        chosen = live[event[1] % len(live)]
        meta = chosen["metadata"]
        world.api.delete("pods", meta["namespace"], meta["name"])
        world.removed_by_test.add(meta["uid"])
        world.api.add(pod(meta["namespace"], meta["name"]))
        return None
    world.clock.advance(event[1])
    return None


def build(api: FakeKubeAPI, kubeconfig: Path, planned: list[ObjectRef],
          every: list[ObjectRef]) -> World:
    clock = Clock()
    settings_ = Settings(remediation="on", action_secret=SECRET, remediation_users=(ALICE,),
                         namespace="clusterbot")
    clients = [KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=5.0))
               for _ in range(2)]
    replicas = [Remediation.from_settings(settings_, client, clock=clock,
                                          instance=f"replica-{n}")
                for n, client in enumerate(clients)]
    plan = replicas[0].planner.propose(Proposal("delete-pods", "Delete", tuple(planned)), ALICE)
    forged = Signer(FORGER, clock).sign(ActionRequest(
        "delete-pods", tuple(every), ALICE, int(clock().timestamp()) + 900, new_nonce()))
    return World(api, replicas, clock, plan.token, forged, frozenset(t.uid for t in planned),
                 set(), clients)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pods=pods_strategy, chosen=st.data(), events=events_strategy)
def test_nothing_outside_the_plan_is_ever_deleted(pods: list[tuple[str, str]],
                                                  chosen: st.DataObject, events: list) -> None:
    with FakeKubeAPI([pod(ns, name) for ns, name in pods]) as api, \
            tempfile.TemporaryDirectory() as tmp:
        every = [ObjectRef("Pod", p["metadata"]["name"], p["metadata"]["namespace"],
                           p["metadata"]["uid"]) for p in api.list("pods")]
        planned = chosen.draw(st.lists(st.sampled_from(every), min_size=1, unique=True))
        world = build(api, api.kubeconfig(Path(tmp) / "kubeconfig"), planned, every)
        seen = {ref.uid for ref in every}
        results = []
        try:
            for event in events:
                results.append(play(world, event))
                seen |= {p["metadata"]["uid"] for p in api.list("pods")}
        finally:
            for client in world.clients:
                client.close()

        present = {p["metadata"]["uid"] for p in api.list("pods")}
        deleted_by_bot = seen - present - world.removed_by_test
        assert deleted_by_bot <= world.planned
        assert sum(1 for r in results if r in RAN) <= 1
        assert api.requests.count("DELETE") <= len(planned)
