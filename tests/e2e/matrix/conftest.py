"""Fixtures for the Matrix tests: one real Synapse per session, users, rooms and bots.

The bot answers from the built-in demo cluster. If Synapse cannot start, every test here errors
with Synapse's log: nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.cluster.demo import demo_snapshot
from bot.cluster.source import StaticSource
from commands import Context
from tests.e2e.matrix.bots import Bots
from tests.e2e.matrix.chat_user import ChatUser
from tests.e2e.matrix.homeserver import Account, Synapse


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bot_account(synapse: Synapse) -> Account:
    return synapse.register("clusterbot")


@pytest.fixture(scope="session")
def bot_id(bot_account: Account) -> str:
    return bot_account.user_id


@pytest.fixture(scope="session")
def human(synapse: Synapse) -> Iterator[ChatUser]:
    """Alice, who asks the bot things."""
    user = ChatUser(synapse.url, synapse.register("alice"))
    yield user
    user.close()


@pytest.fixture(scope="session")
def bot_elsewhere(synapse: Synapse, bot_account: Account) -> Iterator[ChatUser]:
    """The bot's own account on another device: what the bot says from there it must ignore."""
    user = ChatUser(synapse.url, bot_account)
    yield user
    user.close()


@pytest.fixture(scope="session")
def demo_context() -> Context:
    return Context(StaticSource(demo_snapshot()))


@pytest.fixture(scope="module")
def room(human: ChatUser, bot_id: str) -> str:
    """A room Alice made for a module's tests, the bot invited."""
    return human.create_room(invite=(bot_id,))


def _bots(synapse: Synapse, bot_account: Account, demo_context: Context,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bots]:
    started = Bots(synapse, bot_account, demo_context, tmp_path_factory)
    yield started
    started.stop_all()


# Two bots of one account must not overlap unless meant to: one that serves other rooms would
# decline the invites the other is there to accept. So bots live for a test, or for a module.
bots = pytest.fixture(name="bots")(_bots)
module_bots = pytest.fixture(name="module_bots", scope="module")(_bots)

