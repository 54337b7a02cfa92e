"""`clusterbot serve` offers fixes and runs a confirmed one: the composition root, as a process.

The process is configured by environment variables only, as a Deployment configures it; the
cluster is the fake API server seeded with the demo cluster (reached through a kubeconfig),
Slack the stub on loopback. Without a cluster (`--demo`) it says at start, and on a click,
that a fix is a dry run only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.actions.conftest import ALICE, FAILED_TEST_PODS, SECRET
from tests.e2e.slack.clicks import block_actions, button, form
from tests.e2e.slack.conftest import post
from tests.e2e.slack.stub import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Call,
    SlackStub,
    free_port,
    signed_headers,
    slash_command_body,
    wait_until_up,
)
from tests.fakeapi import FakeKubeAPI

WAIT = 20.0
CLEANUP = "fix POD-LEFTOVER-FAILED financial-screener"


@contextmanager
def serving(slack: SlackStub, *source: str, **env: str) -> Iterator[tuple[int, list[str]]]:
    """`clusterbot serve` running; (its Slack port, its stderr lines once it has stopped)."""
    http_port, health_port = free_port(), free_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_", "KUBECONFIG"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *source, "--http-port", str(http_port),
         "--health-port", str(health_port)],
        env={**clean, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
             "SLACK_API_URL": slack.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1",
             "CLUSTERBOT_ACTION_SECRET": SECRET, "CLUSTERBOT_REMEDIATION_USERS": ALICE, **env},
        stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        wait_until_up(process, health_port, WAIT)
        yield http_port, log
    finally:
        process.terminate()  # SIGTERM, as Kubernetes stops a pod
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
        assert process.stderr is not None
        log += process.stderr.read().splitlines()
    assert process.returncode == 0, log


def ask_and_click(slack: SlackStub, port: int, text: str, label: str) -> Call:
    """`/cluster <text>`, a click on the answer's `label` button; the thread reply."""
    body = slash_command_body(text, response_url=slack.response_url("command"))
    assert post(port, body, signed_headers(body)) == (200, "")
    message = slack.wait_delivered("chat.postMessage", timeout=WAIT)[0]
    clicked = form(block_actions(message, button(message.params["blocks"], label), user=ALICE,
                                 response_url=slack.response_url("click")))
    assert post(port, clicked, signed_headers(clicked)) == (200, "")
    slack.wait_delivered("chat.update", timeout=WAIT)
    return slack.wait_delivered("chat.postMessage", 2, timeout=WAIT)[1]


def test_serve_runs_a_confirmed_fix_on_its_cluster(
        slack: SlackStub, cluster: FakeKubeAPI, tmp_path: Path) -> None:
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    with serving(slack, "--kubeconfig", str(kubeconfig), CLUSTERBOT_REMEDIATION="on",
                 CLUSTERBOT_NAMESPACE="clusterbot") as (port, log):
        thread = ask_and_click(slack, port, CLEANUP, "Delete 4 pod(s)")

    assert thread.params["text"].startswith(
        "✅ delete-pods 4 Pods in financial-screener: 4 deleted — by U0ALICE (slack)")
    left = {p["metadata"]["name"] for p in cluster.list("pods", "financial-screener")}
    assert not left & FAILED_TEST_PODS
    assert "clusterbot: fixes: Confirmed fixes change the cluster; each runs once." in log
    assert not any("Traceback" in line or SECRET in line for line in log)


def test_serve_on_the_demo_says_fixes_are_dry_runs(slack: SlackStub) -> None:
    with serving(slack, "--demo", CLUSTERBOT_REMEDIATION="on") as (port, log):
        thread = ask_and_click(slack, port, CLEANUP, "Delete 4 pod(s)")

    assert ("dry run only: there is no cluster to change here (demo or snapshot data)"
            in thread.params["text"])
    assert ("clusterbot: fixes: This data is a demo or a dump: confirming a fix is a dry run "
            "only.") in log
