"""Bots for the Matrix tests: the real adapter, answering from the demo cluster, on demand."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from bot.chat.matrix import MatrixAdapter, MatrixConfig
from bot.chat.matrix_format import PREFIX
from bot.chat.worker import Answer
from commands import Context, dispatch
from tests.e2e.matrix.chat_user import ChatUser
from tests.e2e.matrix.homeserver import Account, Synapse

READY_TIMEOUT = 30.0
_names = itertools.count()


def answer_from(ctx: Context) -> Answer:
    return lambda text, user, room: dispatch(ctx, text, user=user, channel=room,
                                                prefix=PREFIX, platform="matrix")


def new_state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"bot{next(_names)}") / "matrix.json"


class Bots:
    """Starts bots against the session's Synapse and stops them all at the end."""

    def __init__(self, synapse: Synapse, account: Account, ctx: Context,
                 tmp_path_factory: pytest.TempPathFactory) -> None:
        self._synapse, self._account, self._ctx = synapse, account, ctx
        self._tmp = tmp_path_factory
        self._running: list[MatrixAdapter] = []

    def start(self, *, rooms: tuple[str, ...] = (), state_file: Path | None = None,
              ctx: Context | None = None, **config: Any) -> MatrixAdapter:
        """A running bot; `config` sets further MatrixConfig fields (message_limit, ...)."""
        bot = MatrixAdapter(
            MatrixConfig(homeserver=self._synapse.url, user=self._account.user_id,
                         password=self._account.password, rooms=rooms,
                         state_file=state_file or new_state_file(self._tmp), **config),
            answer_from(ctx or self._ctx))
        bot.start()
        self._running.append(bot)
        assert bot.wait_until_ready(READY_TIMEOUT), f"the bot did not connect: {bot.error}"
        return bot

    def serve(self, room: str, human: ChatUser, **options: Any) -> MatrixAdapter:
        """A running bot that serves only `room`, once it has joined it."""
        bot = self.start(rooms=(room,), **options)
        human.wait_for_membership(room, self._account.user_id, "join")
        return bot

    def stop_all(self) -> None:
        for bot in self._running:
            bot.stop()


