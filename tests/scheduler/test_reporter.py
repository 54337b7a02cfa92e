"""The weekly post itself: where each destination goes, what happens when a chat or the
cluster fails, and what the history keeps."""

from __future__ import annotations

import logging

from bot.chat.base import Reply
from bot.cluster.demo import demo_snapshot
from bot.cluster.history_store import MemoryHistory
from bot.cluster.source import SourceError, StaticSource
from bot.report.model import Report
from bot.scheduler import FAILED, POSTED, UNDELIVERED, Route, WeeklyReporter, report_routes
from commands import Context
from tests.scheduler.harness import RecordingChat, settings


class UnreachableCluster:
    """The report source when the API server cannot be reached (an injected fault)."""

    def report(self) -> Report:
        raise SourceError("cluster API unreachable at https://10.0.0.1:6443: timed out")


class BrokenChat(RecordingChat):
    """A chat whose API refuses the post (an injected fault)."""

    def post(self, destination: str, reply: Reply) -> None:
        raise ConnectionError(f"{self.name} is down")


def test_destinations_go_to_their_chat():
    slack, matrix = RecordingChat("slack"), RecordingChat("matrix")
    config = settings(report_channel="C0HOMELAB, #ops:example.org, #homelab, !abc:example.org",
                      MATRIX_ROOMS="!other:example.org")
    routes = report_routes(config, [slack, matrix])
    assert [(r.adapter.name, r.destination) for r in routes] == [
        ("slack", "C0HOMELAB"), ("slack", "#homelab"),
        ("matrix", "#ops:example.org"), ("matrix", "!abc:example.org")]


def test_without_a_matrix_room_the_report_goes_to_the_matrix_rooms(caplog):
    slack, matrix = RecordingChat("slack"), RecordingChat("matrix")
    config = settings(report_channel="C0HOMELAB", MATRIX_ROOMS="!abc:example.org")
    assert [(r.adapter.name, r.destination) for r in report_routes(config, [slack, matrix])] == [
        ("slack", "C0HOMELAB"), ("matrix", "!abc:example.org")]
    with caplog.at_level(logging.WARNING):
        assert [r.adapter.name for r in report_routes(config, [matrix])] == ["matrix"]
    assert "slack is not configured; not posting to C0HOMELAB" in caplog.text


def test_one_chat_failing_does_not_stop_the_other(caplog):
    broken, working = BrokenChat("slack"), RecordingChat("matrix")
    store = MemoryHistory()
    reporter = WeeklyReporter(Context(StaticSource(demo_snapshot())), store,
                              [Route(broken, "C0HOMELAB"), Route(working, "!abc:example.org")])
    assert reporter.post(None) == POSTED
    assert len(working.posts) == 1 and len(store.load().entries) == 1
    assert "weekly report not delivered to slack C0HOMELAB: slack is down" in caplog.text


def test_no_chat_taking_it_is_undelivered_and_nothing_is_recorded():
    store = MemoryHistory()
    reporter = WeeklyReporter(Context(StaticSource(demo_snapshot())), store,
                              [Route(BrokenChat("slack"), "C0HOMELAB")])
    assert reporter.post(None) == UNDELIVERED
    assert store.load().entries == ()


def test_an_unreachable_cluster_is_said_in_the_channel_not_dropped():
    chat, store = RecordingChat(), MemoryHistory()
    reporter = WeeklyReporter(UnreachableCluster(), store, [Route(chat, "C0HOMELAB")])
    assert reporter.post(None) == FAILED
    [(destination, reply)] = chat.posts
    assert reply.error and reply.report is None
    assert reply.text == ("The weekly report could not be made: cluster API unreachable at "
                          "https://10.0.0.1:6443: timed out")
    assert store.load().entries == ()
