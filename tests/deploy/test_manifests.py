"""Every install variant (kustomize base, overlays, components; the Helm chart and its toggles)
is valid Kubernetes 1.32 and has the properties the install promises: hardened pods, probes on
the health port, sized resources, a PDB and a NetworkPolicy that select the pods, and RBAC
with no wildcard that gives remediation rights only where remediation is wanted.
"""

from __future__ import annotations

import tomllib

import kubernetes_validate
import pytest

from bot.cluster.discovery import plural
from bot.cluster.kinds import KINDS
from tests.deploy.conftest import Variant
from tests.deploy.rbac import Access, check, grants
from tests.deploy.render import DEPLOY, ROOT, Manifest, find, kustomize, one, parse

KUBERNETES_VERSION = "1.32.0"
RBAC_KINDS = ("ClusterRole", "Role")
UNIT = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "": 1}


def pod_spec(variant: Variant) -> Manifest:
    return one(list(variant.manifests), "Deployment")["spec"]["template"]["spec"]


def container(variant: Variant) -> Manifest:
    (only,) = pod_spec(variant)["containers"]
    return only


def env(variant: Variant) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(variant).get("env") or ()}


def pod_labels(variant: Variant) -> dict[str, str]:
    return one(list(variant.manifests), "Deployment")["spec"]["template"]["metadata"]["labels"]


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def quantity(text: str | int) -> float:
    text = str(text)
    suffix = text.lstrip("0123456789.")
    return float(text[: len(text) - len(suffix)]) * UNIT[suffix]


def test_every_object_validates_against_the_kubernetes_schema(variant: Variant) -> None:
    errors = []
    for manifest in variant.manifests:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
            errors.append(f"{where}: {error.message}")
    assert not errors, "\n".join(errors)


def test_the_pods_run_unprivileged_on_a_read_only_root(variant: Variant) -> None:
    pod, box = pod_spec(variant), container(variant)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = box["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    tmp = next(m for m in box["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume, "the only writable place must be a scratch volume"


def test_probes_ask_the_health_port_the_bot_listens_on(variant: Variant) -> None:
    box = container(variant)
    ports = {p["name"]: p["containerPort"] for p in box["ports"]}
    assert ports["health"] == int(env(variant)["CLUSTERBOT_HEALTH_PORT"])
    paths = {probe: box[probe]["httpGet"]["path"]
             for probe in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert paths == {"startupProbe": "/healthz", "livenessProbe": "/healthz",
                     "readinessProbe": "/readyz"}
    assert all(box[probe]["httpGet"]["port"] == "health" for probe in paths)


def test_resources_have_requests_within_limits(variant: Variant) -> None:
    resources = container(variant)["resources"]
    for name in ("cpu", "memory"):
        assert quantity(resources["requests"][name]) <= quantity(resources["limits"][name])
    assert quantity(resources["requests"]["memory"]) >= 64 * 2**20


def test_two_replicas_and_a_disruption_budget_that_keeps_one(variant: Variant) -> None:
    deployment = one(list(variant.manifests), "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert selects(deployment["spec"]["selector"], pod_labels(variant))
    budget = one(list(variant.manifests), "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert selects(budget["spec"]["selector"], pod_labels(variant))


def test_network_policy_lets_in_only_the_served_ports(variant: Variant) -> None:
    policy = one(list(variant.manifests), "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"], pod_labels(variant))
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    opened = sorted(p["port"] for rule in policy["ingress"] for p in rule["ports"])
    assert all("from" not in rule for rule in policy["ingress"])  # probes come from the node
    assert opened == (["health", "slack-events"] if variant.recipe.http else ["health"])
    named = {p["name"] for p in container(variant)["ports"]}
    assert set(opened) <= named, "a policy port names no container port"


def test_network_policy_lets_out_only_dns_the_api_server_and_https(variant: Variant) -> None:
    egress = one(list(variant.manifests), "NetworkPolicy")["spec"]["egress"]
    allowed = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert allowed == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6443, "TCP")}
    dns = next(rule for rule in egress if (53, "UDP") in {(p["port"], p["protocol"])
                                                          for p in rule["ports"]})
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_rbac_names_every_verb_resource_and_group(variant: Variant) -> None:
    for role in (m for m in variant.manifests if m["kind"] in RBAC_KINDS):
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups"):
                assert not any("*" in item for item in rule[field]), (
                    f"{role['kind']}/{role['metadata']['name']} has a wildcard in {field}")


def test_every_binding_binds_the_bots_service_account_to_a_shipped_role(
        variant: Variant) -> None:
    account = one(list(variant.manifests), "ServiceAccount")["metadata"]
    bindings = [m for m in variant.manifests if m["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                        "namespace": account["namespace"]}]
    assert grants(variant.manifests, account["name"], account["namespace"])  # refs resolve


def test_the_read_role_covers_exactly_the_kinds_a_snapshot_holds(variant: Variant) -> None:
    read = next(m for m in find(list(variant.manifests), "ClusterRole")
                if m["metadata"]["name"].endswith("-read"))
    granted = {(group, resource) for rule in read["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    wanted = {(info.group, plural(info)) for info in KINDS if info.key != "secrets"}
    assert granted == wanted
    listed = [Access("list", group, resource) for group, resource in sorted(wanted)]
    assert not check(listed, variant.manifests).missing


def test_remediation_rights_exist_only_when_remediation_is_wanted(variant: Variant) -> None:
    changing = {g for g in grants(variant.manifests)
                if g.verb in ("create", "update", "patch", "delete", "deletecollection")}
    own_state = {g for g in changing if g.namespace == "clusterbot"}
    cluster_wide = {(g.verb, g.resource) for g in changing - own_state}
    if variant.recipe.remediation:
        assert cluster_wide == {("delete", "pods"), ("delete", "jobs"), ("create", "events"),
                                ("patch", "deployments"), ("patch", "statefulsets"),
                                ("patch", "daemonsets")}
        assert "CLUSTERBOT_REMEDIATION" not in env(variant)  # the bot's default: dry-run
    else:
        assert cluster_wide == set()
        assert {g.verb for g in own_state} == {"create", "update"}  # Lease and history only
        assert env(variant)["CLUSTERBOT_REMEDIATION"] == "off"


def test_secret_names_are_readable_only_when_wanted(variant: Variant) -> None:
    secrets = [Access("list", "", "secrets"), Access("watch", "", "secrets")]
    missing = check(secrets, variant.manifests).missing
    assert missing == (() if variant.recipe.secret_names else tuple(secrets))


def test_http_mode_adds_a_service_for_slack_events(variant: Variant) -> None:
    services = find(list(variant.manifests), "Service")
    if not variant.recipe.http:
        assert services == []
        assert "CLUSTERBOT_HTTP_PORT" not in env(variant)
        return
    (service,) = services
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(variant))
    assert service["spec"]["ports"][0]["targetPort"] == "slack-events"
    ports = {p["name"]: p["containerPort"] for p in container(variant)["ports"]}
    assert ports["slack-events"] == int(env(variant)["CLUSTERBOT_HTTP_PORT"])


def test_the_image_is_the_packaged_version(variant: Variant) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert container(variant)["image"].endswith(f":{version}")
    assert container(variant)["args"] == ["serve"]


def test_tokens_come_from_a_secret_the_user_creates(variant: Variant) -> None:
    sources = container(variant)["envFrom"]
    assert {"secretRef": {"name": "clusterbot"}} in sources
    assert find(list(variant.manifests), "Secret") == []


def test_the_secret_example_is_a_valid_secret_kept_out_of_the_kustomization() -> None:
    (example,) = parse((DEPLOY / "secret.example.yaml").read_text())
    kubernetes_validate.validate(example, KUBERNETES_VERSION, strict=True)
    assert set(example["stringData"]) >= {"SLACK_BOT_TOKEN", "CLUSTERBOT_ACTION_SECRET"}
    for kustomization in DEPLOY.rglob("kustomization.yaml"):
        (spec,) = parse(kustomization.read_text())
        resources = spec.get("resources") or ()
        assert not any(entry.endswith("secret.example.yaml") for entry in resources)


@pytest.mark.parametrize("overlay", ["overlays/read-only", "overlays/http-mode"])
def test_overlays_differ_from_the_base_only_where_they_say(overlay: str) -> None:
    def names(manifests: list[Manifest]) -> set[tuple[str, str]]:
        return {(m["kind"], m["metadata"]["name"]) for m in manifests}

    base, changed = names(kustomize(DEPLOY)), names(kustomize(DEPLOY / overlay))
    if overlay.endswith("read-only"):
        assert base - changed == {("ClusterRole", "clusterbot-remediate"),
                                  ("ClusterRoleBinding", "clusterbot-remediate"),
                                  ("Role", "clusterbot-claims"),
                                  ("RoleBinding", "clusterbot-claims")}
        assert changed <= base
    else:
        assert changed - base == {("Service", "clusterbot-slack")}
        assert base <= changed


def test_the_own_namespace_overlay_moves_everything_bindings_included() -> None:
    def without_namespace(manifest: Manifest) -> Manifest:
        meta = {k: v for k, v in manifest["metadata"].items() if k != "namespace"}
        if manifest["kind"] == "Namespace":
            meta["name"] = "(the namespace)"
        subjects = [{**s, "namespace": "(the namespace)"} for s in manifest.get("subjects", ())]
        return {**manifest, "metadata": meta, **({"subjects": subjects} if subjects else {})}

    base, moved = kustomize(DEPLOY), kustomize(DEPLOY / "overlays/own-namespace")
    for manifest in moved:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    assert [without_namespace(m) for m in moved] == [without_namespace(m) for m in base]
    assert {m["metadata"].get("namespace") for m in moved if m["kind"] not in (
        "Namespace", "ClusterRole", "ClusterRoleBinding")} == {"homelab-bots"}
    assert one(moved, "Namespace")["metadata"]["name"] == "homelab-bots"
    subjects = [s for m in moved for s in m.get("subjects", ())]
    assert len(subjects) == 5
    assert {(s["kind"], s["name"], s["namespace"]) for s in subjects} == {
        ("ServiceAccount", "clusterbot", "homelab-bots")}

