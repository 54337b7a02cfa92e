"""The answer pool's failure paths: a command that crashes, hangs or cannot be delivered is
answered (or dropped) once and logged, and a confirmation's signed token never reaches the
log, only the verb does."""

from __future__ import annotations

import threading

import pytest

from bot.chat.base import Reply, loggable
from bot.chat.worker import AnswerPool, Job

TOKEN = "v1.eyJhY3Rpb24iOiJkZWxldGUtcG9kcyJ9.c2lnbmF0dXJl"


def run(answer, deliver=None, deadline: float = 5.0) -> list[tuple[Reply, str]]:
    delivered: list[tuple[Reply, str]] = []
    pool = AnswerPool(answer, workers=1, deadline=deadline)
    try:
        pool.submit(Job(f"confirm {TOKEN}", "U1", "C1"),
                    deliver or (lambda job, reply, outcome: delivered.append((reply, outcome)))
                    ).result(timeout=10)
    finally:
        pool.stop()
    return delivered


def crash(text: str, user: str, channel: str) -> Reply:
    raise RuntimeError("boom")


def test_a_crashing_confirmation_is_answered_and_logged_without_its_token(
        caplog: pytest.LogCaptureFixture) -> None:
    delivered = run(crash)
    assert [(r.error, outcome) for r, outcome in delivered] == [(True, "error")]
    assert "Traceback" not in delivered[0][0].text
    assert "'confirm <token>' failed" in caplog.text and TOKEN not in caplog.text


def test_a_hanging_confirmation_times_out_and_is_logged_without_its_token(
        caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def hang(text: str, user: str, channel: str) -> Reply:
        release.wait(5)
        return Reply(text="late")

    try:
        delivered = run(hang, deadline=0.1)
    finally:
        release.set()
    assert [outcome for _, outcome in delivered] == ["timeout"]
    assert "not answered" in caplog.text and TOKEN not in caplog.text


def test_an_undeliverable_answer_is_logged_without_its_token(
        caplog: pytest.LogCaptureFixture) -> None:
    def refuse(job: Job, reply: Reply, outcome: str) -> None:
        raise ConnectionError("channel_not_found")

    run(lambda text, user, channel: Reply(text="done"), deliver=refuse)
    assert "could not be delivered" in caplog.text and TOKEN not in caplog.text


def test_only_a_confirmation_loses_its_argument_in_logs() -> None:
    assert loggable(f"confirm {TOKEN}") == "confirm <token>"
    assert loggable("confirm") == "confirm"
    assert loggable("issues databases") == "issues databases"
