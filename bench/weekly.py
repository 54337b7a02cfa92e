"""Benchmark: the weekly report's extras. How big one report's summary is (so how many weeks the
768 KiB history ConfigMap holds), how long `changes()` takes, and what the chart costs (time,
and the memory matplotlib adds to the bot once it has drawn one; Linux /proc).

Each chart measurement runs in a fresh interpreter so its import and RSS are its own, once
drawn in the bot's process and once apart as the bot does; each figure is the median of
several runs.

    python bench/weekly.py [--pods 5000 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from synthetic import write_cluster  # noqa: E402

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot  # noqa: E402
from bot.cluster.dump import load_paths  # noqa: E402
from bot.cluster.history_store import MAX_BYTES  # noqa: E402
from bot.report.history import changes, summarize  # noqa: E402
from bot.report.model import diagnose  # noqa: E402

PRELUDE = r"""
import time
from bot.cluster.demo import demo_snapshot
from bot.report.history import weekly_report
from bot.report.model import diagnose
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 1024
report = weekly_report(diagnose(demo_snapshot()), [], None)
before = rss_mb()
start = time.perf_counter()
"""
IN_PROCESS = PRELUDE + r"""
from bot.report.chart import render_chart
render_chart(report)
print(time.perf_counter() - start, rss_mb() - before)
"""
APART = PRELUDE + r"""
from bot.report.chart import render_chart_apart
render_chart_apart(report)
print(time.perf_counter() - start, rss_mb() - before)
"""


def median_seconds(runs: int, work) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def summary_figures(name: str, week1, week2, runs: int) -> None:
    size = len(orjson.dumps(summarize(week1).to_json()))
    previous = summarize(week1)
    seconds = median_seconds(runs, lambda: changes(previous, week2, None))
    print(f"{name:>18}: summary {size / 1024:7.1f} KiB -> {MAX_BYTES // size:4d} weeks fit; "
          f"changes() {seconds * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    summary_figures("demo (123 pods)", diagnose(demo_snapshot()),
                    diagnose(demo_week2_snapshot()), args.runs)
    for pods in args.pods:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cluster.json"
            write_cluster(str(path), pods)
            report = diagnose(load_paths([path]))
        summary_figures(f"synthetic {pods}", report, report, args.runs)
    for name, child in (("in the bot's process", IN_PROCESS), ("apart (as the bot does)", APART)):
        seconds, rss = chart_figures(child, args.runs)
        print(f"chart {name}: {seconds:.2f} s, bot +{rss:.0f} MB resident after drawing")


def chart_figures(child: str, runs: int) -> tuple[float, float]:
    """Median time to draw (matplotlib import included) and the drawing process's RSS growth,
    each in a fresh interpreter."""
    measured = [subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                               check=True, cwd=HERE.parent).stdout.split() for _ in range(runs)]
    return (statistics.median(float(m[0]) for m in measured),
            statistics.median(float(m[1]) for m in measured))


if __name__ == "__main__":
    main()
