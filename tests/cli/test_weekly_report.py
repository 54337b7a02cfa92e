"""`clusterbot report --since-last|--record|--post`, as a user runs it: two weeks of the demo
cluster as kubectl-style dumps, a local history file, and a post to a Slack stub on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot
from bot.cluster.dump import to_list_document
from tests.e2e.slack.stub import BOT_TOKEN, SIGNING_SECRET, SlackStub


def clusterbot(*args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=120, env={**clean, **(env or {})})


@pytest.fixture(scope="module")
def weeks(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("dumps")
    paths = folder / "week1.json", folder / "week2.json"
    for path, snapshot in zip(paths, (demo_snapshot(), demo_week2_snapshot()), strict=True):
        path.write_bytes(orjson.dumps(to_list_document(snapshot)))
    return paths


def entries(history: Path) -> list[dict]:
    return orjson.loads(history.read_bytes())["entries"]


def test_record_a_week_then_see_what_changed_the_next(weeks, tmp_path):
    week1, week2 = weeks
    history = tmp_path / "history.json"
    first = clusterbot("report", "--snapshot", str(week1), "--history", str(history), "--record")
    assert first.returncode == 0, first.stderr
    assert "This is the first weekly report" in first.stdout
    assert len(entries(history)) == 1

    second = clusterbot("report", "--snapshot", str(week2), "--history", str(history),
                        "--since-last", "--format", "markdown")
    assert second.returncode == 0, second.stderr
    changed = second.stdout.split("## What changed since last week")[1].split("\n## ")[0]
    assert "⚠️ apps/link-checker: 1/1 pods CrashLoopBackOff" in changed
    assert "✅ celery/flower: 1/1 pods CrashLoopBackOff" in changed
    assert "monitoring/prometheus-db: resized 10Gi → 20Gi" in changed
    assert "**Next review:**" in second.stdout
    assert len(entries(history)) == 1  # --since-last alone reads, it does not record


def test_since_last_as_json_carries_the_changes_and_the_next_review(weeks, tmp_path):
    week1, week2 = weeks  # dumps carry no time: each report is made, and aged, as of now
    history = tmp_path / "history.json"
    assert clusterbot("report", "--snapshot", str(week1), "--history", str(history),
                      "--record").returncode == 0
    done = clusterbot("report", "--snapshot", str(week2), "--history", str(history),
                      "--since-last", "--format", "json",
                      env={"CLUSTERBOT_REPORT_CRON": "0 9 * * mon",
                           "CLUSTERBOT_REPORT_TZ": "Europe/Berlin"})
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    next_review = datetime.fromisoformat(document["next_review"])
    berlin = next_review.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.weekday(), berlin.hour, berlin.minute) == (0, 9, 0)  # Monday 09:00 there
    assert next_review.utcoffset() == berlin.utcoffset()
    assert timedelta(0) < next_review - datetime.fromisoformat(document["generated_at"]) \
        <= timedelta(days=7)
    changes = document["changes"]
    [recorded] = entries(history)
    assert changes["since"] == recorded["at"] == changes["trend"][0]["at"]
    assert [(p["code"], p["subject"]) for p in changes["new_problems"]] == [
        ("POD-CRASHLOOP", "Deployment apps/link-checker")]
    assert {p["subject"] for p in changes["resolved_problems"]} == {
        "Deployment celery/flower", "Service celery/flower"}
    assert [(g["namespace"], g["new_namespace"], g["workloads"]) for g in changes["deployed"]
            ] == [("apps", False, [{"kind": "Deployment", "name": "link-checker",
                                    "created": "2025-10-21T18:00:00+00:00"}])]
    assert changes["growing_pvcs"] == [{
        "name": "monitoring/prometheus-db", "size_before": "10Gi", "size_after": "20Gi",
        "used_before": "7.6Gi", "used_after": "12Gi", "grown": "+4.4Gi"}]
    assert changes["areas"] == [{"area": "Networking", "before": 96, "after": 98, "delta": 2}]
    assert changes["removed"] == changes["growing_nodes"] == [] and not changes["quiet"]
    assert set(document["findings"][0]) == {  # the public `issues` shape, unchanged
        "code", "severity", "reason", "kind", "namespace", "name", "pods", "title", "cause",
        "evidence", "recommendation"}


@pytest.mark.parametrize(("args", "message"), [
    (("--since-last",), "need --history FILE"),
    (("--post", "--history", "{tmp}/h.json"), "nowhere to post: set CLUSTERBOT_REPORT_CHANNEL"),
    (("--record", "--history", "{tmp}/no/such/dir/h.json"), "No such file or directory"),
])
def test_weekly_options_fail_with_one_clear_line(weeks, tmp_path, args, message):
    args = tuple(a.format(tmp=tmp_path) for a in args)
    done = clusterbot("report", "--snapshot", str(weeks[0]), *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_post_sends_the_report_to_the_channel_and_records_it(weeks, tmp_path):
    history = tmp_path / "history.json"
    with SlackStub() as slack:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1",
               "CLUSTERBOT_HTTP_PORT": "0", "CLUSTERBOT_REPORT_CHANNEL": "C0HOMELAB"}
        done = clusterbot("report", "--snapshot", str(weeks[0]), "--history", str(history),
                          "--post", env=env)
        assert done.returncode == 0, done.stderr
        posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [p.params["channel"] for p in posts] == ["C0HOMELAB"]
    assert done.stdout == "" and "weekly report posted" in done.stderr
    assert len(entries(history)) == 1
