"""Benchmark: the resident memory of `clusterbot serve`, what the Deployment's requests and
limits are sized from (deploy/base/deployment.yaml, the Helm chart's values.yaml).

The bot runs as in production, in its own process, in Slack HTTP mode against the Slack stub
of the end-to-end tests on 127.0.0.1, on the demo cluster (or a synthetic one of `--pods`
pods, loaded like a dump). Figures per run: RSS once ready and idle for `--settle` seconds,
RSS after answering each verb once (templates compiled, a steady state), and the peak.
Each run is a fresh process; medians over runs are printed.

    python bench/idle_rss.py [--runs 5] [--settle 5] [--pods 0] [--python PATH]

`--python` runs the bot with another interpreter, e.g. a venv made by the Dockerfile's
install step, to measure what the image will hold.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from slack_http import VERBS, command  # noqa: E402

from tests.e2e.slack.stub import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    free_port,
    wait_until_up,
)

MIB = 1024


def memory_kib(pid: int, field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def one_run(python: str, source: list[str], settle: float) -> dict[str, int]:
    with SlackStub() as stub:
        port, health = free_port(), free_port()
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": stub.api_url,
               "CLUSTERBOT_LISTEN_HOST": "127.0.0.1", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("SLACK_APP_TOKEN", None)
        process = subprocess.Popen(
            [python, "-m", "bot", "serve", *source, "--http-port", str(port),
             "--health-port", str(health)], env=env, cwd=HERE.parent,
            stderr=subprocess.DEVNULL)
        try:
            wait_until_up(process, health, timeout=120)
            time.sleep(settle)
            idle = memory_kib(process.pid, "VmRSS")
            for verb in VERBS:
                command(port, stub, verb, f"C{verb}")
            stub.wait_delivered("chat.postMessage", len(VERBS), timeout=120)
            time.sleep(settle)
            return {"idle": idle, "after one of each command": memory_kib(process.pid, "VmRSS"),
                    "peak": memory_kib(process.pid, "VmHWM")}
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def main() -> None:
    import synthetic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds to wait before each reading")
    parser.add_argument("--pods", type=int, default=0,
                        help="a synthetic cluster of this many pods instead of the demo")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = ["--demo"]
        if args.pods:
            source = ["--snapshot", f"{tmp}/cluster.json"]
            synthetic.write_cluster(source[1], args.pods)
        figures: dict[str, list[int]] = {}
        for run in range(1, args.runs + 1):
            row = one_run(args.python, source, args.settle)
            for name, kib in row.items():
                figures.setdefault(name, []).append(kib)
            print(f"run {run}: " + ", ".join(f"{k} {v / MIB:.1f} MiB" for k, v in row.items()))
    cluster = f"{args.pods} pods" if args.pods else "the demo cluster"
    print(f"\nclusterbot serve (Slack HTTP mode, {cluster}), median of {args.runs} runs:")
    for name, values in figures.items():
        print(f"  {name:<27} {statistics.median(values) / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
