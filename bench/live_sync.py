"""Benchmark: reading a live cluster of 5,000 and 20,000 synthetic pods served by the fake API
server, the bot's way and the usual ways, beside the floor.

For each size it starts the fake API server in its own process (so its memory and CPU stay
out of the figures), seeded with `synthetic.py`'s pods, and measures, each in a fresh
interpreter, the median of `--runs` (taken in rounds: every mode once, then again):

- the bot's watch cache: cold sync (LIST of every kind, paged and trimmed), its peak RSS, the
  RSS it holds idle, what the cache adds to the process and the RSS once a diagnosis is held
  (what sizes the pod's memory limit), a snapshot rebuild, and a command
  (`issues`, dispatch + text render) answered from the warm cache, first with the analysis,
  then with the diagnosis reused, and just after a change (a pod patched over the API) with
  the lag `serve` allows, beside what the background re-diagnosis costs;
- the bot's one-shot read (the CLI on a kubeconfig);
- `kubectl get pods -A -o json`, and the official client's
  `CoreV1Api().list_pod_for_all_namespaces()` building model objects;
- the floor: a bare `orjson.loads` of the same pod list's bytes with the garbage collector
  paused; and the fetch alone: every page read over HTTP without parsing, which is what
  the fake server itself costs (page after page, as a client must).

Budgets (issue 3): cold sync of 20,000 pods within 1.5x the floor and under 250 MB peak RSS;
the 5,000-pod cache adds under 20 MB; a command from the cache under 50 ms.

    python bench/live_sync.py [--pods 5000 20000] [--runs 3]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import medians_of_rounds, size_arguments  # noqa: E402

SERVER = r"""
import sys
sys.path.insert(0, "bench")
import synthetic
from tests.fakeapi import FakeKubeAPI
api = FakeKubeAPI(synthetic.cluster_list(int(sys.argv[1]))["items"]).start()
api.kubeconfig(sys.argv[2])
print(api.port, flush=True)
sys.stdin.read()  # serve until the benchmark closes our stdin
api.stop()
"""

CHILD = r"""
import gc, json, resource, statistics, subprocess, sys, time
sys.path.insert(0, "bench")
from common import peak_mb, rss_mb
mode, kubeconfig, pods_file = sys.argv[1:4]

out = {}
if mode == "floor":
    import orjson
    data = open(pods_file, "rb").read()
    out["base_mb"] = rss_mb(); t0 = time.perf_counter(); c0 = time.process_time()
    gc.disable(); doc = orjson.loads(data); gc.enable()
    out["time"] = time.perf_counter() - t0; out["cpu"] = time.process_time() - c0
elif mode == "fetch":
    import http.client, re, urllib.parse
    from bot.cluster.live import PAGE_SIZE
    port = int(json.load(open(kubeconfig))["clusters"][0]["cluster"]["server"].rsplit(":", 1)[1])
    out["base_mb"] = rss_mb(); t0 = time.perf_counter(); c0 = time.process_time()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    token = None
    while True:
        query = {"limit": PAGE_SIZE} | ({"continue": token} if token else {})
        conn.request("GET", "/api/v1/pods?" + urllib.parse.urlencode(query))
        body = conn.getresponse().read()
        found = re.search(rb'"continue": ?"([^"]+)"', body[:2000])
        if not found:
            break
        token = found.group(1).decode()
    out["time"] = time.perf_counter() - t0; out["cpu"] = time.process_time() - c0
elif mode == "kubectl":
    out["base_mb"] = 0.0; t0 = time.perf_counter()
    subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout", "600s", "get",
                    "pods", "-A", "-o", "json"], stdout=subprocess.DEVNULL, check=True)
    out["time"] = time.perf_counter() - t0
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu"] = child.ru_utime + child.ru_stime
    out["peak_child_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
elif mode == "models":
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=kubeconfig)
    out["base_mb"] = rss_mb(); t0 = time.perf_counter(); c0 = time.process_time()
    listed = client.CoreV1Api(api).list_pod_for_all_namespaces(_request_timeout=600)
    out["time"] = time.perf_counter() - t0; out["cpu"] = time.process_time() - c0
    out["pods"] = len(listed.items)
elif mode == "oneshot":
    from bot.cluster.client import ConnectOptions, KubeClient
    from bot.cluster.live import read_snapshot
    client = KubeClient.connect(ConnectOptions(kubeconfig=kubeconfig, timeout=600))
    out["base_mb"] = rss_mb(); t0 = time.perf_counter(); c0 = time.process_time()
    snapshot = read_snapshot(client)
    out["time"] = time.perf_counter() - t0; out["cpu"] = time.process_time() - c0
    out["pods"] = len(snapshot.items("pods"))
elif mode == "cache":
    from datetime import UTC, datetime, timedelta
    from bot.cluster.client import MERGE_PATCH, ConnectOptions, KubeClient
    from bot.cluster.watch import WatchCache
    from bot.report.render import render
    from commands import Context, dispatch
    moment = [datetime.now(UTC)]
    client = KubeClient.connect(ConnectOptions(kubeconfig=kubeconfig, timeout=600))
    gc.collect()
    out["base_mb"] = rss_mb(); t0 = time.perf_counter(); c0 = time.process_time()
    cache = WatchCache(client, clock=lambda: moment[0]).start()
    assert cache.wait_synced(900)
    out["time"] = time.perf_counter() - t0; out["cpu"] = time.process_time() - c0
    out["peak_mb"] = peak_mb()
    time.sleep(2)  # watches open, threads settle
    out["idle_mb"] = rss_mb()
    out["adds_mb"] = out["idle_mb"] - out["base_mb"]
    def rebuild():
        moment[0] += timedelta(minutes=2)  # older than a minute: the next call rebuilds
        t = time.perf_counter()
        cache.snapshot()
        return (time.perf_counter() - t) * 1000
    out["rebuild_ms"] = statistics.median(rebuild() for _ in range(20))
    snapshot = cache.snapshot()
    out["pods"] = len(snapshot.items("pods"))
    ctx = Context(cache, max_lag=10)  # as `serve` sets it, its keeper diagnosing every 5 s
    def command():
        t = time.perf_counter()
        reply = dispatch(ctx, "issues")
        render(reply.view, reply.report, "text", **reply.options)
        return (time.perf_counter() - t) * 1000
    out["first_command_ms"] = command()
    out["warm_command_ms"] = statistics.median(command() for _ in range(20))
    before, meta = cache.snapshot(), snapshot.items("pods")[0]["metadata"]
    client.request("PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                   body={"metadata": {"labels": {"bench": "changed"}}}, content_type=MERGE_PATCH)
    while cache.snapshot() is before:  # the watch event arrives
        time.sleep(0.01)
    out["after_change_ms"] = command()  # the diagnosis made before the change, within the lag
    t = time.perf_counter()
    ctx.refresh()  # what the keeper does in the background
    out["background_ms"] = (time.perf_counter() - t) * 1000
    out["answering_mb"] = rss_mb()  # the cache and the diagnosis a bot keeps for answers
    cache.stop()
out.setdefault("peak_mb", peak_mb())
print(json.dumps(out))
"""


MODES = ("floor", "fetch", "cache", "oneshot", "models", "kubectl")


def fetch_pod_list(kubeconfig: Path, target: Path) -> int:
    """The unpaged pod list, as the API serves it: the floor parses these bytes. Streamed to
    the file, so this process stays small for the children it starts."""
    server = json.loads(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    with urllib.request.urlopen(f"{server}/api/v1/pods", timeout=600) as answer, \
            target.open("wb") as out:
        shutil.copyfileobj(answer, out)
    return target.stat().st_size


def bench(pods: int, runs: int, tmp: Path) -> None:
    kubeconfig, pods_file = tmp / f"kubeconfig-{pods}", tmp / f"pods-{pods}.json"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(pods), str(kubeconfig)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip()
        size = fetch_pod_list(kubeconfig, pods_file)
        figures = medians_of_rounds(
            CHILD, {mode: [mode, str(kubeconfig), str(pods_file)] for mode in MODES}, runs)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(60)
    report(pods, size, runs, figures)


def report(pods: int, size: int, runs: int, f: dict[str, dict[str, float]]) -> None:
    floor, cache = f["floor"], f["cache"]

    def line(label: str, m: dict[str, float], peak: str = "peak_mb") -> str:
        return (f"  {label:<43} {m['time']:6.2f} s {m['time'] / floor['time']:5.2f}x floor  "
                f"CPU {m['cpu']:5.2f} s  peak RSS {m[peak]:5.0f} MB")

    print(f"\n{pods} pods, {size / 1e6:.0f} MB of pod list JSON (median of {runs} runs)")
    print(line("floor: orjson.loads of the list, gc paused", floor))
    print(line("fetch only: the bot's pages read, no parse", f["fetch"])
          + "  (the fake server's share)")
    print(line("bot watch cache: cold sync of every kind", cache)
          + "  (budget 1.5x, 250 MB)")
    print(line("bot one-shot read (CLI): every kind", f["oneshot"]))
    print(line("CoreV1Api().list_pod_for_all_namespaces()", f["models"]))
    print(line("kubectl get pods -A -o json", f["kubectl"], "peak_child_mb"))
    print(f"  bot process holding the cache: idle RSS {cache['idle_mb']:.0f} MB, the cache adds "
          f"{cache['adds_mb']:.1f} MB over the connected process ({cache['base_mb']:.0f} MB; "
          f"budget 20 MB at 5,000 pods); {cache['answering_mb']:.0f} MB with its diagnosis "
          f"held, after answering")
    print(f"  snapshot rebuild {cache['rebuild_ms']:.1f} ms; `issues` from the cache: "
          f"{cache['first_command_ms']:.0f} ms with the analysis, "
          f"{cache['warm_command_ms']:.1f} ms warm, {cache['after_change_ms']:.1f} ms just "
          f"after a change (budget 50 ms); the keeper's re-diagnosis in the background "
          f"{cache['background_ms']:.0f} ms")


def main() -> None:
    args = size_arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        for pods in args.pods:
            bench(pods, args.runs, Path(tmp))


if __name__ == "__main__":
    main()
