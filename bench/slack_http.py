"""Benchmark: 50 concurrent `/cluster` slash commands at Slack HTTP mode, 5,000-pod cluster.

The bot runs as it does in production, `clusterbot serve --snapshot cluster.json` in its own
process, on a synthetic cluster (`bench/synthetic.py`, loaded like a dump); the Slack stub
of the end-to-end tests plays Slack on 127.0.0.1 in this process. Each command is signed and
POSTed to `/slack/events` at the same moment; the ack latency is the HTTP round trip, the
time to the full answer runs until the stub has received the answer's last piece (the
message, or the attached file). Verbs cycle through health, nodes, storage, issues and
report. One command of each verb first, as a running bot has already diagnosed its snapshot
and compiled its templates. Budget (issue 4): p99 ack under 300 ms, p99 full answer under
2 s. Each run is a fresh process; medians over runs are printed.

    python bench/slack_http.py [--pods 5000] [--concurrency 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from tests.e2e.slack.conftest import post  # noqa: E402
from tests.e2e.slack.stub import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    free_port,
    signed_headers,
    slash_command_body,
    wait_until_up,
)

VERBS = ("health", "nodes", "storage", "issues", "report")
PIECES = {"report": "files.completeUploadExternal"}  # a report is complete with its file


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)) - 1, 0)]


@contextmanager
def serving(stub: SlackStub, snapshot: str) -> Iterator[int]:
    """`clusterbot serve` on the snapshot, pointed at the stub; yields its HTTP port."""
    port, health = free_port(), free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": stub.api_url, "CLUSTERBOT_LISTEN_HOST": "127.0.0.1"}
    env.pop("SLACK_APP_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--snapshot", snapshot, "--http-port", str(port),
         "--health-port", str(health)], env=env, cwd=HERE.parent, stderr=subprocess.PIPE,
        text=True)
    try:
        wait_until_up(process, health, timeout=120)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def command(port: int, stub: SlackStub, verb: str, channel: str) -> tuple[float, float]:
    """Send one command; (ack seconds, the moment it was sent)."""
    body = slash_command_body(verb, channel=channel, response_url=stub.response_url(channel))
    sent = time.monotonic()
    status, _ = post(port, body, signed_headers(body))
    assert status == 200, status
    return time.monotonic() - sent, sent


def finished(stub: SlackStub, verb: str, channel: str) -> float:
    """When the last piece of the answer in `channel` reached Slack."""
    method = PIECES.get(verb, "chat.postMessage")
    key = "channel_id" if method == "files.completeUploadExternal" else "channel"
    return max(c.at for c in stub.delivered(method) if c.params.get(key) == channel)


def one_run(snapshot: str, concurrency: int) -> tuple[list[float], list[float]]:
    with SlackStub() as stub, serving(stub, snapshot) as port:
        for verb in VERBS:
            command(port, stub, verb, f"CWARM{verb}")
        stub.wait_delivered("chat.postMessage", len(VERBS), timeout=120)
        jobs = [(VERBS[i % len(VERBS)], f"C{i:04d}") for i in range(concurrency)]
        with ThreadPoolExecutor(concurrency) as pool:
            sent = list(pool.map(lambda job: command(port, stub, *job), jobs))
        reports = sum(1 for verb, _ in jobs if verb == "report") + 1
        stub.wait_delivered("chat.postMessage", concurrency + len(VERBS), timeout=60)
        stub.wait_delivered("files.completeUploadExternal", reports, timeout=60)
        acks = [ack for ack, _ in sent]
        answers = [finished(stub, verb, channel) - start
                   for (verb, channel), (_, start) in zip(jobs, sent, strict=True)]
        return acks, answers


def main() -> None:
    import synthetic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = tempfile.TemporaryDirectory()
    snapshot = f"{tmp.name}/cluster.json"
    synthetic.write_cluster(snapshot, args.pods)
    figures: dict[str, list[float]] = {"ack p50": [], "ack p99": [], "answer p50": [],
                                       "answer p99": []}
    for run in range(1, args.runs + 1):
        acks, answers = one_run(snapshot, args.concurrency)
        row = {"ack p50": percentile(acks, 50), "ack p99": percentile(acks, 99),
               "answer p50": percentile(answers, 50), "answer p99": percentile(answers, 99)}
        for name, value in row.items():
            figures[name].append(value)
        print(f"run {run}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in row.items()))
    median = {k: statistics.median(v) for k, v in figures.items()}
    print(f"\n{args.concurrency} concurrent slash commands, {args.pods} pods, median of "
          f"{args.runs} runs:")
    print(f"  ack          p50 {median['ack p50'] * 1000:.0f} ms, p99 "
          f"{median['ack p99'] * 1000:.0f} ms (budget p99 < 300 ms)")
    print(f"  full answer  p50 {median['answer p50'] * 1000:.0f} ms, p99 "
          f"{median['answer p99'] * 1000:.0f} ms (budget p99 < 2000 ms)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
