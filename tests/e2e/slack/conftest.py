"""Fixtures for the Slack end-to-end tests: the stub of Slack, and the real bot against it."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.chat.slack import SlackAdapter
from bot.cluster.demo import demo_snapshot
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import ClusterSource, StaticSource
from bot.config import Settings
from bot.observability import Metrics
from commands import BY_NAME, Context, dispatch
from tests.e2e.slack.stub import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    signed_headers,
    slash_command_body,
)


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub() as stub:
        yield stub


@pytest.fixture(scope="session")
def demo() -> Snapshot:
    return demo_snapshot()


def bot_settings(stub: SlackStub, *, socket: bool = False, **overrides: Any) -> Settings:
    """Settings as `clusterbot serve` would read them, pointed at the stub, on loopback."""
    credentials = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": stub.api_url}
    credentials.update({"SLACK_APP_TOKEN": APP_TOKEN} if socket
                       else {"SLACK_SIGNING_SECRET": SIGNING_SECRET})
    return Settings(**credentials, **{"listen_host": "127.0.0.1", "http_port": 0,
                                      "health_port": 0, "workers": 2, **overrides})


@contextmanager
def running_bot(stub: SlackStub, source: ClusterSource, *, socket: bool = False,
                metrics: Metrics | None = None, **overrides: Any) -> Iterator[SlackAdapter]:
    """The real SlackAdapter answering from `source`, started, and stopped afterwards."""
    ctx = Context(source)
    adapter = SlackAdapter(bot_settings(stub, socket=socket, **overrides),
                           lambda text, user, channel: dispatch(ctx, text, user=user,
                                                                channel=channel),
                           metrics=metrics or Metrics(BY_NAME))
    adapter.start()
    try:
        yield adapter
    finally:
        adapter.stop()


@pytest.fixture
def http_bot(slack: SlackStub, demo: Snapshot) -> Iterator[SlackAdapter]:
    with running_bot(slack, StaticSource(demo)) as adapter:
        yield adapter


Send = Callable[..., tuple[int, str]]


def post(port: int, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """POST to the bot's /slack/events as Slack does; (status, body)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events",
                                     data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def send(http_bot: SlackAdapter, slack: SlackStub) -> Send:
    """Send a signed `/cluster <text>` to the bot; the response_url is named after the text."""

    def send_command(text: str, **fields: str) -> tuple[int, str]:
        fields.setdefault("response_url", slack.response_url(text.replace(" ", "_") or "empty"))
        body = slash_command_body(text, **fields)
        assert http_bot.http_port is not None
        return post(http_bot.http_port, body, signed_headers(body))

    return send_command
