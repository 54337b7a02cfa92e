"""Slack HTTP mode end to end: signed slash commands over loopback into the real Bolt app.

The bot runs as `clusterbot serve` builds it (SlackAdapter, commands.dispatch, the demo
cluster); a stub of Slack on 127.0.0.1 records what it posts. Expected content is derived
from the same demo report the bot computes, never written out by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.analyzers import checks
from bot.chat.base import Image, Reply
from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.cluster.watch import CacheTiming, WatchCache
from bot.report.blocks import escape
from bot.report.model import Report, diagnose
from bot.report.render import render
from commands import ALL
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of
from tests.e2e.slack.conftest import Send, post, running_bot
from tests.e2e.slack.stub import Call, SlackStub, signed_headers, slash_command_body
from tests.e2e.slack.synthetic import crashlooping_cluster
from tests.fakeapi import FakeKubeAPI


@pytest.fixture(scope="module")
def report() -> Report:
    from bot.cluster.demo import demo_snapshot

    return diagnose(demo_snapshot())


def answered(slack: SlackStub, count: int = 1) -> Call:
    """The `count`-th message the bot posted to the channel, checked as Slack would."""
    message = slack.wait_delivered("chat.postMessage", count)[count - 1]
    assert message.params["text"], "every message needs a text fallback"
    assert_valid_blocks(message.params["blocks"])
    return message


EXPECTED: dict[str, Callable[[Report], list[str]]] = {
    "health": lambda r: [f"Cluster health: {r.score.total}/100 ({r.score.grade})",
                         *(a.name for a in r.score.areas if a.score is not None),
                         *(i.finding.code for i in r.issues[:5])],
    "nodes": lambda r: [f"Nodes ({r.facts.nodes})", *(n.name for n in r.nodes)],
    "storage": lambda r: [*(g.name for g in r.storage),
                          *(f"{p.namespace}/{p.name}" for g in r.storage for p in g.pvcs)],
    "issues": lambda r: [f"Issues ({len(r.issues)})",
                         *(i.finding.code for i in r.issues[:10])],
    "issues databases": lambda r: [
        f"Issues in databases ({len(r.issues_in('databases'))})",
        *(i.finding.headline for i in r.issues_in("databases"))],
    "report": lambda r: ["Infrastructure Analysis Report", f"{r.score.total}/100"],
    "help": lambda r: [f"/cluster {c.usage}" for c in ALL],
    "checks": lambda r: [c.code for c in checks()],
}


@pytest.mark.parametrize("text", list(EXPECTED))
def test_every_command_is_acked_then_answered_in_the_channel(
        text: str, send: Send, slack: SlackStub, report: Report) -> None:
    status, body = send(text)
    assert (status, body) == (200, "")  # an empty ack: the answer follows separately
    message = answered(slack)
    assert message.params["channel"] == "C0OPS"
    shown = text_of(message.params["blocks"])
    for expected in EXPECTED[text](report):
        assert escape(expected) in shown  # Slack shows &lt; as <
    assert f"<@U0ALICE> asked `/cluster {text}`" in shown
    assert not slack.delivered("response"), "nothing went to the response_url"


def test_the_weekly_report_on_demand_comes_with_the_full_markdown_in_its_thread(
        send: Send, slack: SlackStub, report: Report) -> None:
    send("report")
    message = answered(slack)
    completed = slack.wait_delivered("files.completeUploadExternal")[0]
    assert completed.params["channel_id"] == "C0OPS"
    assert completed.params["thread_ts"] == message.result["ts"]
    upload = slack.delivered("upload")[0]
    assert upload.params["content"].decode() == render("report", report, "markdown",
                                                       prefix="/cluster")
    assert "The full answer is in the attached file." in text_of(message.params["blocks"])


def test_a_wrong_signature_is_refused_with_401_and_never_answered(
        http_bot: Any, slack: SlackStub, send: Send) -> None:
    body = slash_command_body("health", response_url=slack.response_url("forged"))
    status, _ = post(http_bot.http_port, body, signed_headers(body, secret="not-the-secret"))
    assert status == 401
    send("nodes")
    answered(slack)
    delivered = slack.delivered("chat.postMessage")
    assert len(delivered) == 1
    assert "nodes ready" in delivered[0].params["text"]


def test_a_replayed_request_older_than_five_minutes_is_refused(
        http_bot: Any, slack: SlackStub, send: Send) -> None:
    body = slash_command_body("health", response_url=slack.response_url("replayed"))
    stale = int(time.time()) - 5 * 60 - 30
    status, _ = post(http_bot.http_port, body, signed_headers(body, timestamp=stale))
    assert status == 401
    send("storage")
    answered(slack)
    assert len(slack.delivered("chat.postMessage")) == 1


def test_an_unknown_verb_gets_the_closest_match_and_the_help_only_for_the_asker(
        send: Send, slack: SlackStub) -> None:
    status, _ = send("nodez")
    assert status == 200
    response = slack.wait_delivered("response")[0]
    assert response.params["response_type"] == "ephemeral"
    assert_valid_blocks(response.params["blocks"])
    shown = text_of(response.params["blocks"])
    assert "unknown command `nodez`, did you mean `nodes`?" in shown
    assert all(escape(f"/cluster {c.usage}") in shown for c in ALL)
    assert not slack.delivered("chat.postMessage")


def test_an_answer_beyond_block_kit_limits_is_cut_and_sent_whole_as_a_file(
        slack: SlackStub) -> None:
    snapshot = crashlooping_cluster(deployments=80)
    report = diagnose(snapshot)
    with running_bot(slack, StaticSource(snapshot)) as bot:
        body = slash_command_body("issues --all", response_url=slack.response_url("all"))
        assert post(bot.http_port, body, signed_headers(body))[0] == 200
        message = answered(slack)
        slack.wait_delivered("files.completeUploadExternal")
    blocks = message.params["blocks"]
    assert len(blocks) == 50
    shown = text_of(blocks)
    listed = [i for i in report.issues if i.finding.headline in shown]
    assert 0 < len(listed) < len(report.issues)
    assert f"…and {len(report.issues) - len(listed)} more issues" in shown
    upload = slack.delivered("upload")[0].params["content"].decode()
    assert all(i.finding.headline in upload for i in report.issues)


def test_a_rate_limited_post_is_retried_after_retry_after_once_and_only_once(
        send: Send, slack: SlackStub) -> None:
    slack.rate_limit("chat.postMessage", retry_after=1)
    send("health")
    first = answered(slack)
    send("nodes")
    second = answered(slack, 2)
    attempts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [c.status for c in attempts] == [429, 200, 200]
    assert attempts[0].params["text"] == first.params["text"]  # the same message, retried
    assert first.params["text"] != second.params["text"]


def _cache(api: FakeKubeAPI, tmp_path: Path, *, timeout: float, sync_wait: float) -> WatchCache:
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    client = KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=timeout))
    timing = CacheTiming(backoff_base=0.05, backoff_cap=0.2, sync_wait=sync_wait)
    return WatchCache(client, timing=timing)


def test_a_cluster_whose_api_is_down_still_gets_an_answer_saying_so(
        fake_api: FakeKubeAPI, slack: SlackStub, tmp_path: Path) -> None:
    fake_api.faults.refuse()
    with _cache(fake_api, tmp_path, timeout=2, sync_wait=1) as cache, \
            running_bot(slack, cache) as bot:
        body = slash_command_body("health", response_url=slack.response_url("down"))
        assert post(bot.http_port, body, signed_headers(body))[0] == 200
        message = answered(slack)  # waits at most 10 s
    assert message.params["text"].startswith("cluster API unreachable: ")
    assert "⚠️ cluster API unreachable: " in text_of(message.params["blocks"])


def test_a_cluster_api_that_hangs_is_answered_at_the_deadline(
        fake_api: FakeKubeAPI, slack: SlackStub, tmp_path: Path) -> None:
    fake_api.faults.latency(4.0)
    with _cache(fake_api, tmp_path, timeout=3, sync_wait=8) as cache, \
            running_bot(slack, cache, answer_timeout=1.0) as bot:
        body = slash_command_body("nodes", response_url=slack.response_url("slow"))
        assert post(bot.http_port, body, signed_headers(body))[0] == 200
        message = answered(slack)
        fake_api.faults.clear()
    assert message.params["text"] == ("cluster API unreachable: no answer from the cluster "
                                      "within 1 s")
    assert len(slack.delivered("chat.postMessage")) == 1  # the late answer is dropped


@pytest.mark.parametrize(("allowed", "reason"), [
    ({"allowed_users": ("U0BOB",)}, "not on clusterbot's list of users (U0ALICE)"),
    ({"allowed_channels": ("C0PRIVATE",)}, "does not answer in this channel (C0OPS)"),
])
def test_a_denied_user_or_channel_gets_an_ephemeral_explanation_in_the_ack(
        allowed: dict[str, Any], reason: str, slack: SlackStub, demo: Snapshot) -> None:
    with running_bot(slack, StaticSource(demo), **allowed) as bot:
        body = slash_command_body("health", response_url=slack.response_url("denied"))
        status, answer = post(bot.http_port, body, signed_headers(body))
        allowed_body = slash_command_body("health", user="U0BOB", channel="C0PRIVATE",
                                          response_url=slack.response_url("allowed"))
        assert post(bot.http_port, allowed_body, signed_headers(allowed_body))[0] == 200
        answered(slack)
    assert status == 200
    ack = json.loads(answer)
    assert ack["response_type"] == "ephemeral"
    assert reason in ack["text"]
    assert len(slack.delivered("chat.postMessage")) == 1  # only the allowed one


def test_post_sends_the_weekly_report_and_its_chart_to_a_channel(
        http_bot: Any, slack: SlackStub, report: Report) -> None:
    chart = Image("clusterbot-week.png", "Usage this week", b"\x89PNG\r\n\x1a\n" + bytes(64))
    http_bot.post("C0REPORTS", Reply(view="report", report=report, images=(chart,)))
    (message,) = slack.delivered("chat.postMessage")
    assert message.params["channel"] == "C0REPORTS"
    assert_valid_blocks(message.params["blocks"])
    assert "asked" not in text_of(message.params["blocks"])  # nobody asked: it is scheduled
    completed = slack.delivered("files.completeUploadExternal")
    assert [c.params["thread_ts"] for c in completed] == [message.result["ts"]] * 2
    contents = [u.params["content"] for u in slack.delivered("upload")]
    assert contents == [render("report", report, "markdown", prefix="/cluster").encode(),
                        chart.png]


def test_where_the_bot_cannot_post_a_cut_answer_follows_in_full_through_the_response_url(
        send: Send, slack: SlackStub, report: Report) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    send("report")  # the demo's report does not fit one message: cut, the Markdown aside
    cut, full = slack.wait_delivered("response", 2)[:2]
    assert cut.params["response_type"] == full.params["response_type"] == "in_channel"
    for answer in (cut, full):
        assert_valid_blocks(answer.params["blocks"])
    markdown = render("report", report, "markdown", prefix="/cluster")
    last_line = escape(markdown.strip().splitlines()[-1])
    assert "(in full)" in text_of(full.params["blocks"])
    assert last_line in text_of(full.params["blocks"])  # the whole Markdown, to its end
    assert not slack.delivered("files.completeUploadExternal")


def test_where_the_bot_cannot_post_the_answer_goes_through_the_response_url(
        send: Send, slack: SlackStub, report: Report) -> None:
    slack.fail("chat.postMessage", "not_in_channel")
    send("health")
    response = slack.wait_delivered("response")[0]
    assert response.params["response_type"] == "in_channel"
    assert_valid_blocks(response.params["blocks"])
    assert f"Cluster health: {report.score.total}/100" in text_of(response.params["blocks"])
    assert not slack.delivered("chat.postMessage")
