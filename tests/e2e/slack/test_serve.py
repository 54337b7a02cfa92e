"""`clusterbot serve` as a process, and its health and metrics endpoints.

The process is started the way a Deployment starts it (environment variables only), answers
a signed slash command from the stub's point of view, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.cluster.watch import CacheTiming, WatchCache
from bot.observability import HealthServer, Metrics
from commands import BY_NAME
from tests.e2e.slack.conftest import post, running_bot
from tests.e2e.slack.stub import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    free_port,
    get,
    signed_headers,
    slash_command_body,
    wait_until_up,
)
from tests.fakeapi import FakeKubeAPI

WAIT = 20.0  # seconds the process may take to start or stop before the test fails


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "serve", "--demo", *args],
                          env={**_clean_env(), **env}, capture_output=True, text=True,
                          timeout=WAIT)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}


def test_serve_refuses_to_start_without_a_chat() -> None:
    done = run_serve({})
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "no chat configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or "
        "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode)")


def test_serve_says_which_slack_variable_is_missing() -> None:
    done = run_serve({"SLACK_APP_TOKEN": APP_TOKEN})
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in done.stderr
    assert APP_TOKEN not in done.stderr


def test_serve_reports_a_rejected_token_without_printing_it(slack: SlackStub) -> None:
    done = run_serve({"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                      "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1",
                      "CLUSTERBOT_HEALTH_PORT": str(free_port())})
    assert done.returncode == 2
    assert "Slack did not accept SLACK_BOT_TOKEN" in done.stderr
    assert "xoxb-wrong" not in done.stderr and SIGNING_SECRET not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def serving(slack: SlackStub) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    http_port, health_port = free_port(), free_port()
    env = {**_clean_env(), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--demo", "--http-port", str(http_port),
         "--health-port", str(health_port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(process, health_port, WAIT)
        yield process, http_port, health_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def test_serve_answers_slash_commands_and_stops_cleanly_on_sigterm(
        serving: tuple[subprocess.Popen[str], int, int], slack: SlackStub) -> None:
    process, http_port, health_port = serving
    assert get(f"http://127.0.0.1:{health_port}/readyz") == (200, "ready\n")
    body = slash_command_body("health", response_url=slack.response_url("serve"))
    assert post(http_port, body, signed_headers(body)) == (200, "")
    slack.wait_delivered("chat.postMessage")
    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "Traceback" not in log
    assert BOT_TOKEN not in log and SIGNING_SECRET not in log


def test_health_readiness_and_metrics_follow_what_the_bot_served(
        slack: SlackStub, demo: Snapshot) -> None:
    source = StaticSource(demo)
    metrics = Metrics(BY_NAME)
    metrics.watch(source)
    health = HealthServer("127.0.0.1", 0, source, metrics)
    health.start()
    try:
        with running_bot(slack, source, metrics=metrics) as bot:
            for text in ("health", "health", "nodez"):
                body = slash_command_body(text, response_url=slack.response_url(text))
                post(bot.http_port, body, signed_headers(body))
            slack.wait_delivered("chat.postMessage", 2)
            slack.wait_delivered("response")
        base = f"http://127.0.0.1:{health.port}"
        assert get(f"{base}/healthz") == (200, "ok\n")
        assert get(f"{base}/readyz") == (200, "ready\n")
        status, exposition = get(f"{base}/metrics")
    finally:
        health.stop()
    assert status == 200
    lines = exposition.splitlines()
    assert 'clusterbot_commands_total{outcome="ok",verb="health"} 2.0' in lines
    assert 'clusterbot_commands_total{outcome="error",verb="unknown"} 1.0' in lines
    assert 'clusterbot_command_seconds_count{verb="health"} 2.0' in lines
    assert "clusterbot_source_synced 1.0" in lines
    assert "clusterbot_api_errors_total 0.0" in lines
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)


def test_readiness_fails_with_the_reason_while_the_cluster_cannot_be_read(
        fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    fake_api.faults.refuse()
    kubeconfig = fake_api.kubeconfig(tmp_path / "kubeconfig")
    client = KubeClient.connect(ConnectOptions(kubeconfig=str(kubeconfig), timeout=2))
    with WatchCache(client, timing=CacheTiming(backoff_base=0.05, backoff_cap=0.2)) as cache:
        metrics = Metrics(BY_NAME)
        metrics.watch(cache)
        health = HealthServer("127.0.0.1", 0, cache, metrics)
        health.start()
        try:
            deadline = time.monotonic() + WAIT
            while not cache.status().api_errors:
                assert time.monotonic() < deadline, "the cache never tried the API"
                time.sleep(0.05)
            status, why = get(f"http://127.0.0.1:{health.port}/readyz")
            exposition = get(f"http://127.0.0.1:{health.port}/metrics")[1].splitlines()
        finally:
            health.stop()
    assert status == 503
    assert why.startswith("not ready: ")
    assert "clusterbot_source_synced 0.0" in exposition
    assert "clusterbot_api_errors_total 0.0" not in exposition
