"""`clusterbot console --kubeconfig` as a person uses it, in its own process, against the fake
API server seeded with the demo cluster: ask, plan, confirm, and see the cluster change once."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.live_helpers import demo_objects
from tests.fakeapi import FakeKubeAPI

ROOT = Path(__file__).resolve().parents[2]
ANSWER_TIMEOUT = 30  # seconds an answer may take before the test fails
SECRET = "console-test-secret-" + "c" * 32


class Session:
    """A console process: `ask()` writes one line and returns the answer printed for it."""

    def __init__(self, kubeconfig: Path, home: Path, remediation: str) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")} | {
            "HOME": str(home), "USER": "ada", "LOGNAME": "ada",
            "CLUSTERBOT_REMEDIATION": remediation, "CLUSTERBOT_ACTION_SECRET": SECRET,
            "CLUSTERBOT_REMEDIATION_USERS": "console:ada", "CLUSTERBOT_NAMESPACE": "clusterbot"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--kubeconfig", str(kubeconfig)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=ROOT, env=env)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def ask(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer: list[str] = []
        while True:
            got = self._lines.get(timeout=ANSWER_TIMEOUT).rstrip("\n")
            if not got and answer:  # an answer ends with a blank line
                return "\n".join(answer)
            answer.append(got)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=ANSWER_TIMEOUT)


@pytest.fixture
def cluster() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(demo_objects()) as api:
        yield api


def plan_id(answer: str, words: str) -> str:
    return next(line for line in answer.splitlines() if words in line).split(" · plan ")[1] \
        .split()[0]


def test_console_plans_and_confirms_a_cleanup_once(cluster: FakeKubeAPI, tmp_path: Path) -> None:
    session = Session(cluster.kubeconfig(tmp_path / "kubeconfig"), tmp_path, "on")
    try:
        plan = session.ask("fix POD-LEFTOVER-FAILED financial-screener")
        assert "Confirmed fixes change the cluster; each runs once." in plan
        chosen = plan_id(plan, "Delete 4 pod(s)")
        done = session.ask(f"confirm {chosen}")
        again = session.ask(f"confirm {chosen}")
    finally:
        assert session.close() == 0
    assert done.startswith("✅ delete-pods 4 Pods in financial-screener: 4 deleted — by "
                           "console:ada (console)")
    assert again.startswith("🔁 delete-pods 4 Pods in financial-screener: not run again: "
                            "already done by console:ada (console)")
    left = {p["metadata"]["name"] for p in cluster.list("pods", "financial-screener")}
    assert not left & {"test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                       "test-fundamentals"}
    assert {"test-redis-connection", "test-db-connection", "test-celery-ping"} <= left
    assert [e["reason"] for e in cluster.list("events", "financial-screener")
            if e["reason"] == "ClusterbotRemediation"] == ["ClusterbotRemediation"] * 2


def test_console_in_dry_run_mode_changes_nothing(cluster: FakeKubeAPI, tmp_path: Path) -> None:
    session = Session(cluster.kubeconfig(tmp_path / "kubeconfig"), tmp_path, "dry-run")
    try:
        plan = session.ask("fix POD-LEFTOVER-FAILED financial-screener")
        answer = session.ask(f"confirm {plan_id(plan, 'Delete 4 pod(s)')}")
    finally:
        assert session.close() == 0
    assert "dry run: nothing was changed" in answer
    assert len([p for p in cluster.list("pods", "financial-screener")
                if p["metadata"]["name"].startswith("test-")]) == 7
