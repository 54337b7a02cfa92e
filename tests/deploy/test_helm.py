"""The Helm chart renders the same objects as the kustomize manifests, for each toggle, and
`helm lint --strict` and the chart's values schema are happy with it (Helm's own engine, from
PyPI `helm-python-sdk`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import HELM, KUSTOMIZE, helm_variant, kustomize_variant
from tests.deploy.rbac import Access, check
from tests.deploy.render import Manifest, helm_lint, helm_template, one

# What only Helm adds: its bookkeeping labels, the keep-on-uninstall policy of the history,
# the settings checksum that rolls pods (kustomize hashes the ConfigMap's name instead), and
# the Namespace that `helm install --create-namespace` makes instead of the chart. The order
# of a container's env and ports carries no meaning here (no $(VAR) references), and kustomize
# puts patched entries first.
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")
HELM_ANNOTATIONS = ("helm.sh/resource-policy", "checksum/settings")
KUSTOMIZE_HASH = re.compile(r"(clusterbot-settings)-[a-z0-9]{10}\b")
SAME = [("kustomize-base", "helm-default"), ("kustomize-read-only", "helm-read-only"),
        ("kustomize-http-mode", "helm-http-mode"),
        ("kustomize-all-components", "helm-all-toggles")]


def comparable(manifests: tuple[Manifest, ...]) -> dict[tuple[str, str], Any]:
    text = KUSTOMIZE_HASH.sub(r"\1", json.dumps([m for m in manifests
                                                 if m["kind"] != "Namespace"]))
    out = {}
    for manifest in json.loads(text):
        for meta in (manifest["metadata"],
                     manifest.get("spec", {}).get("template", {}).get("metadata", {})):
            _drop(meta, "labels", HELM_LABELS)
            _drop(meta, "annotations", HELM_ANNOTATIONS)
        for container in manifest.get("spec", {}).get("template", {}).get("spec", {}).get(
                "containers", ()):
            for field in ("env", "ports"):
                container[field].sort(key=lambda entry: entry["name"])
        out[(manifest["kind"], manifest["metadata"]["name"])] = manifest
    return out


def _drop(meta: dict, field: str, keys: tuple[str, ...]) -> None:
    kept = {k: v for k, v in (meta.get(field) or {}).items() if k not in keys}
    if kept:
        meta[field] = kept
    else:
        meta.pop(field, None)


@pytest.mark.parametrize(("kustomized", "helmed"), SAME)
def test_the_chart_renders_the_same_objects_as_kustomize(kustomized: str, helmed: str,
                                                          scratch: Path) -> None:
    assert kustomized in KUSTOMIZE and helmed in HELM
    ours = comparable(kustomize_variant(kustomized, scratch).manifests)
    theirs = comparable(helm_variant(helmed).manifests)
    assert sorted(ours) == sorted(theirs)
    for key, manifest in ours.items():
        assert theirs[key] == manifest, f"{key} differs between kustomize and Helm"


@pytest.mark.parametrize("name", list(HELM))
def test_helm_lint_is_clean(name: str) -> None:
    assert helm_lint(HELM[name].helm_values()) == []


@pytest.mark.parametrize("values", [{"remediaton": {"enabled": False}},
                                    {"slack": {"mode": "websocket"}},
                                    {"replicaCount": "two"}])
def test_the_values_schema_refuses_typos(values: dict) -> None:
    import helm_python

    with pytest.raises(helm_python.HelmValuesError):
        helm_template(values)


def test_another_release_name_and_namespace_stay_consistent() -> None:
    manifests = helm_template(release="bot", namespace="ops")
    account = one(manifests, "ServiceAccount")["metadata"]
    assert (account["name"], account["namespace"]) == ("bot-clusterbot", "ops")
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "bot-clusterbot"
    history = [Access("get", "", "configmaps", namespace="ops", name="clusterbot-history"),
               Access("update", "coordination.k8s.io", "leases", namespace="ops", name="x")]
    assert check(history, manifests, "bot-clusterbot", "ops").missing == ()
    elsewhere = Access("update", "coordination.k8s.io", "leases", namespace="clusterbot")
    assert check([elsewhere], manifests, "bot-clusterbot", "ops").missing == (elsewhere,)


def test_settings_become_a_configmap_and_a_change_rolls_the_pods() -> None:
    def render(settings: dict) -> list[Manifest]:
        return helm_template({"settings": settings})

    first = render({"CLUSTERBOT_REPORT_TZ": "Europe/Berlin", "CLUSTERBOT_NODE_USAGE_WARNING": 75})
    second = render({"CLUSTERBOT_REPORT_TZ": "Europe/Paris", "CLUSTERBOT_NODE_USAGE_WARNING": 75})
    settings = one(first, "ConfigMap", "clusterbot-settings")
    assert settings["data"] == {"CLUSTERBOT_REPORT_TZ": "Europe/Berlin",
                                "CLUSTERBOT_NODE_USAGE_WARNING": "75"}

    def checksum(manifests: list[Manifest]) -> str:
        template = one(manifests, "Deployment")["spec"]["template"]
        return str(template["metadata"]["annotations"]["checksum/settings"])

    assert checksum(first) != checksum(second)


def test_extra_egress_rules_are_appended() -> None:
    extra = {"ports": [{"port": 8008, "protocol": "TCP"}]}
    manifests = helm_template({"networkPolicy": {"extraEgress": [extra]}})
    assert one(manifests, "NetworkPolicy")["spec"]["egress"][-1] == extra


def test_switches_drop_what_they_say() -> None:
    manifests = helm_template({"networkPolicy": {"enabled": False},
                               "podDisruptionBudget": {"enabled": False}})
    kinds = {m["kind"] for m in manifests}
    assert {"NetworkPolicy", "PodDisruptionBudget"}.isdisjoint(kinds)
    assert "Deployment" in kinds
