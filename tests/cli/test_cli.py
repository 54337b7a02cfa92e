"""The `clusterbot` command line as a user runs it: real processes, exit codes, stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def clusterbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_issues_json_is_the_documented_public_shape():
    done = clusterbot("issues", "--demo", "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) >= {"cluster", "score", "findings"}
    assert set(document["score"]) >= {"total", "grade", "areas"}
    keys = {"code", "severity", "reason", "kind", "namespace", "name", "pods", "title", "cause",
            "evidence", "recommendation"}
    assert document["findings"] and all(set(f) == keys for f in document["findings"])


def test_issues_namespace_filter_and_unknown_namespace():
    done = clusterbot("issues", "databases", "--demo", "--format", "json")
    names = {(f["namespace"], f["name"]) for f in json.loads(done.stdout)["findings"]}
    assert names == {("databases", "test-data-load")}
    missing = clusterbot("issues", "nosuch", "--demo")
    assert missing.returncode == 2
    assert "no namespace 'nosuch'" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize("verb", ["health", "nodes", "storage", "issues", "report"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_every_view_renders_in_every_format(verb, fmt):
    done = clusterbot(verb, "--demo", "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and not done.stderr
    if fmt == "json":
        assert json.loads(done.stdout)["score"]["grade"] == "B"


def test_checks_lists_the_catalogue_without_a_cluster():
    done = clusterbot("checks")
    assert done.returncode == 0
    for code in ("POD-CRASHLOOP", "NODE-NOT-READY", "PVC-PENDING", "CERT-EXPIRING",
                 "SERVICE-NO-ENDPOINTS", "JOB-FAILED", "WORKLOAD-UNAVAILABLE"):
        assert code in done.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [("{broken", "not valid JSON"), ('{"kind": "Banana"}', "not Kubernetes API JSON")],
)
def test_broken_dump_is_one_line_exit_2_naming_the_file(tmp_path, content, words):
    dump = tmp_path / "cluster.json"
    dump.write_text(content)
    done = clusterbot("health", "--snapshot", str(dump))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cluster.json" in lines[0] and words in lines[0]
    assert done.stdout == ""


def test_no_cluster_configured_is_one_clear_line(tmp_path):
    """Without --demo/--snapshot the live cluster is read; no kubeconfig is a plain error."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",
                                                            "KUBERNETES_SERVICE_HOST")}
    done = subprocess.run([sys.executable, "-m", "bot", "health"], capture_output=True,
                          text=True, timeout=120, env=env | {"HOME": str(tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot load cluster configuration" in lines[0]


def test_snapshot_of_a_kubectl_list_answers_as_of_when_it_was_written(tmp_path):
    from bot.cluster.demo import DEMO_NOW, demo_snapshot
    from bot.cluster.dump import to_list_document

    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps(to_list_document(demo_snapshot())))
    os.utime(dump, (DEMO_NOW.timestamp(), DEMO_NOW.timestamp()))  # ages count from the dump
    from_dump = json.loads(clusterbot("issues", "--snapshot", str(dump), "--format",
                                      "json").stdout)
    from_demo = json.loads(clusterbot("issues", "--demo", "--format", "json").stdout)
    assert from_dump["findings"] == from_demo["findings"]


def test_offline_commands_do_not_import_the_kubernetes_client():
    """`--demo`/`--snapshot` must stay light: no kubernetes (0.4 s, 35 MB) or slack_bolt."""
    code = ("import sys; from bot.__main__ import main; main(['health', '--demo']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes', 'slack_bolt', 'slack_sdk', 'nio', 'apscheduler')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
