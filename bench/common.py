"""What the benchmarks share: cluster-size arguments, medians of fresh-interpreter runs, and
memory readings from /proc.

Each measurement runs in its own interpreter so its peak RSS is its own. Children read their
peak from `VmHWM`: `ru_maxrss` would also count the pages of the parent they were forked from.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size_arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pods", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


def medians_of_rounds(child: str, args: dict[str, list[str]], runs: int
                      ) -> dict[str, dict[str, float]]:
    """For each name, run `python -c child *args[name]` `runs` times; the median of each
    figure it prints as JSON. Runs go in rounds (every name once, then again), so a drift of
    the machine (another job, a cold page cache) lands on every figure alike and the ratios
    between them hold."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in args}
    for _ in range(runs):
        for name, child_args in args.items():
            done = subprocess.run([sys.executable, "-c", child, *child_args],
                                  capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed:\n{done.stderr}")
            results[name].append(json.loads(done.stdout))
    return {name: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            for name, rows in results.items()}


def status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def peak_mb() -> float:
    return status_mb("VmHWM:")


def rss_mb() -> float:
    return status_mb("VmRSS:")
