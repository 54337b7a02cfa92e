"""Benchmark: load + analysis + report of a synthetic 5,000- and 20,000-pod cluster, beside
the floor (a bare `orjson.loads` of the same file with the garbage collector paused).

Each measurement runs in a fresh interpreter so peak RSS is its own; each is repeated and the
median printed. Budgets (issue: core): pipeline within 1.5x the floor's time, analysis under
1 s for 20,000 pods, peak memory under 2x the floor's.

    python bench/pipeline.py [--pods 5000 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

CHILD = r"""
import gc, json, sys, time
mode, path = sys.argv[1], sys.argv[2]
def rss_mb():  # VmHWM: peak RSS of this program (ru_maxrss would include the forking parent)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
if mode == "floor":
    import orjson
    base = rss_mb(); t0 = time.perf_counter()
    data = open(path, "rb").read()
    gc.disable(); doc = orjson.loads(data); gc.enable()
    out = {"total": time.perf_counter() - t0}
else:
    from bot.cluster.dump import load_paths
    from bot.report.model import diagnose
    from bot.report.render import render
    base = rss_mb(); t0 = time.perf_counter()
    snapshot = load_paths([path]); t1 = time.perf_counter()
    report = diagnose(snapshot); t2 = time.perf_counter()
    text = render("report", report, "markdown"); t3 = time.perf_counter()
    out = {"load": t1 - t0, "analysis": t2 - t1, "render": t3 - t2, "total": t3 - t0,
           "findings": len(report.issues)}
out["peak_mb"] = rss_mb(); out["base_mb"] = base
print(json.dumps(out))
"""


def measure(mode: str, path: str, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", CHILD, mode, path], capture_output=True,
                              text=True, check=True, cwd=HERE.parent)
        results.append(json.loads(done.stdout))
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main() -> None:
    import synthetic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for pods in args.pods:
            path = f"{tmp}/cluster-{pods}.json"
            size = synthetic.write_cluster(path, pods)
            floor = measure("floor", path, args.runs)
            pipe = measure("pipeline", path, args.runs)
            print(f"\n{pods} pods, {size / 1e6:.0f} MB of JSON (median of {args.runs} runs)")
            print(f"  floor  orjson.loads, gc paused : {floor['total']:.2f} s, "
                  f"peak RSS {floor['peak_mb']:.0f} MB")
            print(f"  pipeline load+analysis+report: {pipe['total']:.2f} s "
                  f"({pipe['total'] / floor['total']:.2f}x floor; budget 1.5x), "
                  f"peak RSS {pipe['peak_mb']:.0f} MB "
                  f"({pipe['peak_mb'] / floor['peak_mb']:.2f}x floor; budget 2x)")
            print(f"    load {pipe['load']:.2f} s, analysis {pipe['analysis']:.3f} s "
                  f"(budget 1 s), render {pipe['render']:.3f} s, "
                  f"{pipe['findings']:.0f} findings")


if __name__ == "__main__":
    main()
