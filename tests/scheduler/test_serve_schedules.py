"""`clusterbot serve` runs the weekly report's scheduler: a real bot process posting to a Slack
stub on loopback, on the demo cluster and on a live (fake) API server holding its Lease and
history. The schedule is every minute, so the start-up catch-up has a report due at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from bot.cluster.history_store import CONFIGMAP, DATA_KEY
from bot.scheduler import LEASE_NAME
from tests.cluster.live_helpers import demo_objects
from tests.e2e.slack.stub import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    free_port,
    wait_until_up,
)
from tests.fakeapi import FakeKubeAPI

WAIT = 60.0
CHANNEL = "C0HOMELAB"


@contextmanager
def serving(slack: SlackStub, *args: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    health_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args, "--http-port", str(free_port()),
         "--health-port", str(health_port)],
        env={**clean, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
             "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1",
             "CLUSTERBOT_REPORT_CHANNEL": CHANNEL, "CLUSTERBOT_REPORT_CRON": "* * * * *",
             **env},
        stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(process, health_port, WAIT)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "Traceback" not in log and BOT_TOKEN not in log
    return log


def test_serve_posts_the_due_report_on_the_demo_cluster():
    with SlackStub() as slack, serving(slack, "--demo") as process:
        posts = slack.wait_delivered("chat.postMessage", timeout=WAIT)
        assert posts[0].params["channel"] == CHANNEL  # a minute may pass: a second run is fair
        log = stop(process)
    assert "weekly report" in log and ": posted" in log


def test_serve_with_a_cluster_leads_through_its_lease_and_keeps_history(tmp_path: Path):
    with FakeKubeAPI(demo_objects()) as api, SlackStub() as slack:
        kubeconfig = str(api.kubeconfig(tmp_path / "kubeconfig"))
        with serving(slack, "--kubeconfig", kubeconfig) as process:
            posts = slack.wait_delivered("chat.postMessage", timeout=WAIT)
            assert posts[0].params["channel"] == CHANNEL
            lease = api.get("leases", "clusterbot", LEASE_NAME)
            assert lease is not None and lease["spec"]["holderIdentity"]
            stop(process)
        history = orjson.loads(api.get("configmaps", "clusterbot", CONFIGMAP)["data"][DATA_KEY])
        assert history["lastRun"] and len(history["entries"]) >= 1
        assert api.get("leases", "clusterbot", LEASE_NAME)["spec"]["holderIdentity"] == ""


def test_serve_refuses_a_bad_schedule_in_one_line():
    with SlackStub() as slack:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--demo", "--http-port", "0",
             "--health-port", "0"],
            env={**clean, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                 "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1",
                 "CLUSTERBOT_REPORT_CHANNEL": CHANNEL, "CLUSTERBOT_REPORT_CRON": "0 9 * *"},
            capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "clusterbot: error: CLUSTERBOT_REPORT_CRON '0 9 * *': expected 5 fields (minute hour "
        "day-of-month month day-of-week)")
