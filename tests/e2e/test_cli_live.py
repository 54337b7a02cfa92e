"""The `clusterbot` CLI as a user runs it, in its own process, against the fake API server over
HTTP: commands on a kubeconfig and a context, `snapshot -o` read back with `--snapshot`, and an
unreachable cluster answered with one line and exit code 3 within `--timeout`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.live_helpers import demo_objects
from tests.fakeapi import FakeKubeAPI

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 60  # seconds a CLI run may take before the test fails


@pytest.fixture(scope="module")
def demo_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(demo_objects()) as api:
        yield api


@pytest.fixture
def kubeconfig(demo_api: FakeKubeAPI, tmp_path: Path) -> Path:
    return demo_api.kubeconfig(tmp_path / "kubeconfig")


def clusterbot(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")} | {"HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=RUN_TIMEOUT, check=False)


def findings(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str, str]]:
    assert result.returncode == 0, result.stderr
    return {(f["code"], f["namespace"], f["name"])
            for f in json.loads(result.stdout)["findings"]}


def test_issues_on_a_kubeconfig_diagnoses_the_live_cluster(kubeconfig: Path,
                                                          tmp_path: Path) -> None:
    text = clusterbot("issues", "--kubeconfig", str(kubeconfig), home=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "ErrImageNeverPull" in text.stdout and "CrashLoopBackOff" in text.stdout
    live = clusterbot("issues", "--kubeconfig", str(kubeconfig), "--format", "json",
                      home=tmp_path)
    # The live cluster is diagnosed now, when the demo's certificate may have expired since.
    assert findings(clusterbot("issues", "--demo", "--format", "json", home=tmp_path)) <= \
        findings(live)


def test_context_picks_the_cluster(demo_api: FakeKubeAPI, kubeconfig: Path,
                                   tmp_path: Path) -> None:
    config = json.loads(kubeconfig.read_text())
    config["clusters"].append({"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}})
    config["contexts"].append({"name": "gone", "context": {"cluster": "gone", "user": "fake"}})
    config["current-context"] = "gone"
    kubeconfig.write_text(json.dumps(config))

    result = clusterbot("nodes", "--kubeconfig", str(kubeconfig), "--context", "fake",
                        home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pi-worker-07" in result.stdout


def test_snapshot_round_trips_through_snapshot_option(kubeconfig: Path, tmp_path: Path) -> None:
    dump = tmp_path / "cluster.json"
    written = clusterbot("snapshot", "--kubeconfig", str(kubeconfig), "-o", str(dump),
                         home=tmp_path)
    assert written.returncode == 0 and written.stdout == "", written.stderr
    document = json.loads(dump.read_text())
    assert document["kind"] == "List"
    secrets = [i for i in document["items"] if i["kind"] == "Secret"]
    assert secrets and all(set(s) == {"apiVersion", "kind", "metadata"} for s in secrets)

    from_dump = clusterbot("issues", "--snapshot", str(dump), "--format", "json",
                           home=tmp_path)
    live = clusterbot("issues", "--kubeconfig", str(kubeconfig), "--format", "json",
                      home=tmp_path)
    assert findings(from_dump) == findings(live)


@pytest.mark.parametrize("server", ["refusing", "silent"])
def test_unreachable_cluster_is_one_line_and_exit_code_3(server: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        if server == "silent":
            sock.listen()  # connections are accepted by the kernel and never answered
        kubeconfig = FakeKubeAPI(port=sock.getsockname()[1]).kubeconfig(
            tmp_path / "kubeconfig")  # written for this port; the fake is never started
        result = clusterbot("health", "--kubeconfig", str(kubeconfig), "--timeout", "1",
                            home=tmp_path)

    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "clusterbot: error: cluster API unreachable at http://127.0.0.1:"), result.stderr


def test_no_kubeconfig_at_all_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = clusterbot("health", home=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "cannot load cluster configuration" in lines[0], result.stderr


def test_demo_and_snapshot_runs_do_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    probe = ("import sys, bot.__main__ as cli; cli.main(['health', '--demo']); "
             "print('kubernetes' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, timeout=RUN_TIMEOUT, check=True)
    assert result.stderr.strip().splitlines()[-1] == "False"
