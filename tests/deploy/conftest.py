"""Every way a user can install clusterbot, rendered once per test session.

Kustomize: deploy/ (Socket Mode, remediation possible), each overlay, and an overlay of our
own that stacks every component (read-only + no Secret names + HTTP mode), built from a
temporary directory the way a user's overlay would be. Helm: the chart with the values that
give the same variants.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.deploy.render import DEPLOY, Manifest, helm_template, kustomize


@dataclass(frozen=True)
class Recipe:
    """What an install includes."""

    remediation: bool = True
    secret_names: bool = True
    http: bool = False

    def helm_values(self) -> dict:
        return {"remediation": {"enabled": self.remediation},
                "rbac": {"readSecretNames": self.secret_names},
                "slack": {"mode": "http" if self.http else "socket"}}


@dataclass(frozen=True)
class Variant:
    name: str
    manifests: tuple[Manifest, ...]
    recipe: Recipe


KUSTOMIZE = {
    "kustomize-base": (".", Recipe()),
    "kustomize-read-only": ("overlays/read-only", Recipe(remediation=False)),
    "kustomize-http-mode": ("overlays/http-mode", Recipe(http=True)),
    "kustomize-all-components": (None, Recipe(remediation=False, secret_names=False, http=True)),
}
HELM = {
    "helm-default": Recipe(),
    "helm-read-only": Recipe(remediation=False),
    "helm-http-mode": Recipe(http=True),
    "helm-all-toggles": Recipe(remediation=False, secret_names=False, http=True),
}


def user_overlay(directory: Path) -> Path:
    """A user's own overlay in `directory`, stacking every component on the base."""
    base = os.path.relpath(DEPLOY / "base", directory)
    components = [os.path.relpath(DEPLOY / "components" / name, directory)
                  for name in ("read-only", "no-secret-names", "http-mode")]
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization",
             "namespace: clusterbot", "resources:", f"  - {base}", "components:",
             *(f"  - {c}" for c in components)]
    (directory / "kustomization.yaml").write_text("\n".join(lines) + "\n")
    return directory


@cache
def kustomize_variant(name: str, scratch: Path) -> Variant:
    path, recipe = KUSTOMIZE[name]
    directory = DEPLOY / path if path else user_overlay(scratch)
    return Variant(name, tuple(kustomize(directory)), recipe)


@cache
def helm_variant(name: str) -> Variant:
    return Variant(name, tuple(helm_template(HELM[name].helm_values())), HELM[name])


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("user-overlay")


@pytest.fixture(scope="session", params=[*KUSTOMIZE, *HELM])
def variant(request: pytest.FixtureRequest, scratch: Path) -> Variant:
    name = request.param
    return kustomize_variant(name, scratch) if name in KUSTOMIZE else helm_variant(name)
