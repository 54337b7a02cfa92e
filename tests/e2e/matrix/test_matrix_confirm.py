"""Fixes confirmed in Matrix: a ✅ on a plan's notice or `!cluster confirm <id>`, on a cluster.

The bot answers from the demo cluster and acts on the fake API server seeded with the same
cluster, remediation on, Alice allowed by her Matrix ID. What is proven: a ✅ from an allowed
user runs exactly the plan of the notice it is on; `confirm <id>` finds the plan in the room's
history, so a replica that did not post it can run it; anyone else's ✅ changes nothing and is
answered; other reactions and messages confirm nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions.remediation import Remediation
from bot.chat.matrix import MatrixAdapter
from bot.chat.matrix_format import PLAN_KEY, PREFIX, TOKEN_KEY
from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import demo_snapshot
from bot.cluster.source import StaticSource
from bot.config import Settings
from commands import Context
from tests.actions.conftest import (
    FAILED_TEST_PODS,
    HOME,
    SECRET,
    Inventory,
    audit_events,
    audit_lines,
)
from tests.e2e.matrix.bots import Bots
from tests.e2e.matrix.chat_user import ChatUser, Event, in_reply_to
from tests.e2e.matrix.homeserver import Synapse
from tests.fakeapi import FakeKubeAPI

CLEANUP = f"{PREFIX} fix POD-LEFTOVER-FAILED financial-screener"  # the seed's leftover pods


@pytest.fixture(scope="module")
def bob(synapse: Synapse, human: ChatUser, room: str) -> Iterator[ChatUser]:
    """Bob, in the room too, but not allowed to run fixes."""
    user = ChatUser(synapse.url, synapse.register("bob"))
    human.invite(room, user.user_id)
    user.join(room)
    yield user
    user.close()


@pytest.fixture
def fixing_context(cluster: FakeKubeAPI, human: ChatUser, tmp_path: Path
                   ) -> Iterator[Context]:
    """What `serve` builds: the demo's report, fixes on the fake cluster, Alice allowed."""
    client = KubeClient.connect(ConnectOptions(
        kubeconfig=str(cluster.kubeconfig(tmp_path / "kubeconfig")), timeout=5.0))
    settings = Settings(remediation="on", action_secret=SECRET, namespace=HOME,
                        remediation_users=(human.user_id,))
    yield Context(StaticSource(demo_snapshot()),
                  remediation=Remediation.from_settings(settings, client, instance="matrix-a"))
    client.close()


@pytest.fixture
def bot(bots: Bots, room: str, human: ChatUser, fixing_context: Context) -> MatrixAdapter:
    return bots.serve(room, human, ctx=fixing_context)


def cleanup_plan(human: ChatUser, room: str, bot_id: str) -> Event:
    """Ask for the cleanup's fixes; the notice of its delete plan."""
    answers = human.ask(room, CLEANUP, bot_id)
    [notice] = [a for a in answers if a["content"].get(PLAN_KEY)]
    assert notice["content"][TOKEN_KEY].startswith("v1.")
    assert "Delete 4 pod(s)" in notice["content"]["body"]
    assert "react ✅ to this message" in notice["content"]["body"]
    return notice


def pods_gone(cluster: FakeKubeAPI, before: Inventory) -> set[tuple[str, str]]:
    return {(ns, name) for plural, ns, name, _ in before - Inventory.of(cluster)
            if plural == "pods"}


def test_a_check_mark_runs_exactly_the_plan_of_its_notice(
        bot: MatrixAdapter, human: ChatUser, room: str, bot_id: str, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    notice = cleanup_plan(human, room, bot_id)
    before = Inventory.of(cluster)

    reaction = human.react(room, notice["event_id"], "✅")
    [answer] = human.answers_to(room, reaction, bot_id)

    assert pods_gone(cluster, before) == {("financial-screener", p) for p in FAILED_TEST_PODS}
    assert Inventory.of(cluster) - before == set()
    assert in_reply_to(answer) == notice["event_id"]
    assert answer["content"]["body"].startswith(
        f"✅ delete-pods 4 Pods in financial-screener: 4 deleted — by {human.user_id} (matrix)")
    assert "deleted Pod financial-screener/test-eodhd-final" in answer["content"]["body"]
    [event] = audit_events(cluster, "financial-screener")
    assert f"{human.user_id} (matrix) confirmed delete-pods" in event["message"]
    assert [(line["result"], line["platform"]) for line in audit_lines(audit_log)] == [
        ("done", "matrix")]


def test_an_unauthorised_check_mark_changes_nothing_and_is_answered(
        bot: MatrixAdapter, human: ChatUser, bob: ChatUser, room: str, bot_id: str,
        cluster: FakeKubeAPI, audit_log: pytest.LogCaptureFixture) -> None:
    notice = cleanup_plan(human, room, bot_id)
    before = Inventory.of(cluster)

    reaction = bob.react(room, notice["event_id"], "✅")
    [answer] = human.answers_to(room, reaction, bot_id)

    assert Inventory.of(cluster) - before == before - Inventory.of(cluster) == set()
    assert cluster.requests.count("DELETE", "/api/") == 0
    assert (f"refused: {bob.user_id} is not allowed to run delete-pods "
            "(CLUSTERBOT_REMEDIATION_USERS does not list them)") in answer["content"]["body"]
    [event] = audit_events(cluster, "financial-screener")
    assert "denied" in event["message"]
    assert [(line["result"], line["user"]) for line in audit_lines(audit_log)] == [
        ("denied", bob.user_id)]


def test_confirm_by_id_finds_the_plan_in_the_room_even_on_another_replica(
        bots: Bots, human: ChatUser, room: str, bot_id: str, cluster: FakeKubeAPI,
        fixing_context: Context) -> None:
    proposer = bots.serve(room, human, ctx=fixing_context)
    plan_id = cleanup_plan(human, room, bot_id)["content"][PLAN_KEY]
    proposer.stop()
    bots.serve(room, human, ctx=fixing_context)  # another process: nothing in memory
    before = Inventory.of(cluster)

    [answer] = human.ask(room, f"{PREFIX} confirm {plan_id}", bot_id)

    assert pods_gone(cluster, before) == {("financial-screener", p) for p in FAILED_TEST_PODS}
    assert "4 deleted" in answer["content"]["body"]


@pytest.mark.parametrize(("asked", "said"), [
    (f"{PREFIX} confirm", f"usage: {PREFIX} confirm <id>"),
    (f"{PREFIX} confirm a b", f"usage: {PREFIX} confirm <id>"),
    (f"{PREFIX} confirm nosuchid", f"no plan nosuchid among my recent messages in this room; "
                                   f"ask `{PREFIX} fix <finding>` for a fresh one"),
])
def test_confirm_without_a_known_id_says_why(
        asked: str, said: str, bot: MatrixAdapter, human: ChatUser, room: str, bot_id: str,
        cluster: FakeKubeAPI) -> None:
    [answer] = human.ask(room, asked, bot_id)

    assert answer["content"]["body"] == said
    assert cluster.requests.count("DELETE", "/api/") == 0


def test_other_reactions_and_other_messages_confirm_nothing(
        bot: MatrixAdapter, human: ChatUser, bot_elsewhere: ChatUser, room: str, bot_id: str,
        cluster: FakeKubeAPI) -> None:
    notice = cleanup_plan(human, room, bot_id)
    [plain_answer] = human.ask(room, f"{PREFIX} help", bot_id)
    own_message = human.say(room, "I'll do it by hand")

    reactions = [
        human.react(room, notice["event_id"], "👍"),  # not a ✅
        human.react(room, plain_answer["event_id"], "✅"),  # a bot message with no plan
        human.react(room, own_message, "✅"),  # not the bot's message
        bot_elsewhere.react(room, notice["event_id"], "✅"),  # the bot's own account
    ]

    assert human.answers_to(room, reactions[0], bot_id) == []
    assert cluster.requests.count("DELETE", "/api/") == 0
    assert cluster.requests.count("POST", "/apis/coordination.k8s.io") == 0  # no claim taken
