"""Benchmark: load + analysis + report of a synthetic 5,000- and 20,000-pod cluster, beside
the floor (a bare `orjson.loads` of the same file with the garbage collector paused).

Each measurement runs in a fresh interpreter so peak RSS is its own; each is repeated and the
median printed. Budgets (issue: core): pipeline within 1.5x the floor's time, analysis under
1 s for 20,000 pods, peak memory under 2x the floor's.

    python bench/pipeline.py [--pods 5000 20000] [--runs 3]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import medians_of_rounds, size_arguments  # noqa: E402

CHILD = r"""
import gc, json, sys, time
sys.path.insert(0, "bench")
from common import peak_mb as rss_mb
mode, path = sys.argv[1], sys.argv[2]
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


def main() -> None:
    import synthetic

    args = size_arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        for pods in args.pods:
            path = f"{tmp}/cluster-{pods}.json"
            size = synthetic.write_cluster(path, pods)
            figures = medians_of_rounds(CHILD, {mode: [mode, path]
                                                for mode in ("floor", "pipeline")}, args.runs)
            floor, pipe = figures["floor"], figures["pipeline"]
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
