"""The RBAC helper (tests/deploy/rbac.py): requests become the checks Kubernetes' authorizer
makes, and those checks are matched against the manifests' rules as RBAC would.

The requests come from real clients (kubectl, clusterbot's KubeClient) talking to the fake API
server, so the helper is proven on the request shapes it will meet, not on ones written here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.client import ConnectOptions, KubeClient
from tests.deploy.rbac import (
    Access,
    Grant,
    NonResource,
    allows,
    check,
    discovery_allows,
    grants,
    non_resource,
    to_access,
    to_accesses,
)
from tests.deploy.render import DEPLOY, kubectl, kustomize
from tests.fakeapi import FakeKubeAPI, Request
from tests.fakeapi_tests.helpers import pod

KUBECTL_TIMEOUT = 30
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "clusterbot"}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI([pod("web-1"), NAMESPACE]) as server:
        server.kubeconfig(tmp_path / "kubeconfig")
        yield server


def kubectl_accesses(api: FakeKubeAPI, tmp_path: Path, *args: str) -> set[Access]:
    """What one kubectl command asks the API server for (whether or not it succeeds)."""
    api.reset_requests()
    subprocess.run([kubectl(), "--kubeconfig", str(tmp_path / "kubeconfig"), *args],
                   capture_output=True, timeout=KUBECTL_TIMEOUT, check=False)
    return to_accesses(api.requests)


@pytest.mark.parametrize(("args", "expected"), [
    (("get", "pods", "-A"), Access("list", "", "pods")),
    (("get", "pods", "-n", "default", "web-1"), Access("get", "", "pods", "", "default", "web-1")),
    (("logs", "-n", "default", "web-1"), Access("get", "", "pods", "log", "default", "web-1")),
    (("delete", "pod", "-n", "default", "web-1", "--wait=false"),
     Access("delete", "", "pods", "", "default", "web-1")),
    (("create", "configmap", "clusterbot-history", "-n", "clusterbot"),
     Access("create", "", "configmaps", "", "clusterbot")),
    (("label", "pod", "-n", "default", "web-1", "tier=web"),
     Access("patch", "", "pods", "", "default", "web-1")),
    (("get", "namespace", "clusterbot"),  # a namespace is "in" itself, as Kubernetes says
     Access("get", "", "namespaces", "", "clusterbot", "clusterbot")),
    (("get", "deployments.apps", "-A"), Access("list", "apps", "deployments")),
])
def test_kubectl_requests_become_the_checks_kubernetes_makes(
        api: FakeKubeAPI, tmp_path: Path, args: tuple[str, ...], expected: Access) -> None:
    assert expected in kubectl_accesses(api, tmp_path, *args)


def test_a_watch_is_a_list_then_a_watch(api: FakeKubeAPI, tmp_path: Path) -> None:
    accesses = kubectl_accesses(api, tmp_path, "get", "pods", "-A", "--watch",
                                "--request-timeout=1s")
    assert accesses == {Access("list", "", "pods"), Access("watch", "", "pods")}


def test_the_bots_client_is_read_the_same_way(api: FakeKubeAPI, tmp_path: Path) -> None:
    client = KubeClient.connect(ConnectOptions(str(tmp_path / "kubeconfig"), timeout=5))
    try:
        api.reset_requests()
        client.request("GET", "/api/v1/namespaces/clusterbot/configmaps",
                       query={"fieldSelector": "metadata.name=clusterbot-history"})
        client.request("PUT", "/apis/coordination.k8s.io/v1/namespaces/clusterbot/leases/l",
                       body={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                             "metadata": {"name": "l", "namespace": "clusterbot"}})
        client.stream("/api/v1/pods", {"watch": "1"}, read_timeout=1).close()
        client.request("GET", "/apis")
    finally:
        client.close()
    assert to_accesses(api.requests) == {
        Access("list", "", "configmaps", "", "clusterbot", "clusterbot-history"),
        Access("update", "coordination.k8s.io", "leases", "", "clusterbot", "l"),
        Access("watch", "", "pods")}
    assert non_resource(api.requests) == {NonResource("get", "/apis")}


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/api/v1/namespaces/clusterbot/status",
     Access("get", "", "namespaces", "status", "clusterbot", "clusterbot")),
    ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", Access("list", "metrics.k8s.io", "nodes")),
    ("GET", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes",
     Access("list", "longhorn.io", "volumes", "", "longhorn-system")),
    ("DELETE", "/api/v1/namespaces/default/pods", Access("deletecollection", "", "pods", "",
                                                        "default")),
])
def test_requests_kubectl_does_not_make(method: str, path: str, expected: Access) -> None:
    assert to_access(Request(method, path, {})) == expected


def test_discovery_paths_are_allowed_to_everyone() -> None:
    assert discovery_allows(NonResource("get", "/apis/metrics.k8s.io/v1beta1"))
    assert discovery_allows(NonResource("get", "/version"))
    assert not discovery_allows(NonResource("get", "/metrics"))
    assert not discovery_allows(NonResource("create", "/api"))


def test_check_follows_rbac_scopes_and_resource_names() -> None:
    base = kustomize(DEPLOY)
    allowed = [Access("list", "", "pods"), Access("watch", "apps", "deployments"),
               Access("delete", "", "pods", "", "databases", "test-data-load-4sh6p"),
               Access("get", "", "pods", "log", "celery", "flower-1"),
               Access("create", "", "events", "", "celery"),
               Access("get", "", "configmaps", "", "clusterbot", "clusterbot-history"),
               Access("update", "coordination.k8s.io", "leases", "", "clusterbot", "leader")]
    forbidden = [Access("get", "", "secrets", "", "default", "db-password"),  # names only
                 Access("delete", "apps", "deployments", "", "celery", "flower"),
                 Access("get", "", "configmaps", "", "clusterbot", "someone-else"),
                 Access("create", "", "configmaps", "", "kube-system"),  # Role: own namespace
                 Access("update", "coordination.k8s.io", "leases", "", "kube-system", "x"),
                 Access("get", "", "pods", "exec", "celery", "flower-1")]
    verdict = check(allowed + forbidden, base)
    assert verdict.missing == tuple(sorted(forbidden))


def test_check_reports_grants_nothing_used() -> None:
    base = kustomize(DEPLOY)
    verdict = check([Access("list", "", "pods")], base)
    unused = {(g.verb, g.resource) for g in verdict.unused}
    assert ("list", "pods") not in unused
    assert {("watch", "pods"), ("delete", "pods"), ("create", "events")} <= unused
    assert len(verdict.unused) == len(grants(base)) - 1
    assert "granted but never used: watch pods (cluster-wide) by ClusterRole/clusterbot-read" \
        in verdict.explain()


def test_wildcards_match_as_in_kubernetes() -> None:
    logs = Access("get", "", "pods", "log", "celery", "flower-1")
    assert allows(Grant("get", "", "*/log", (), None, "r"), logs)
    assert allows(Grant("*", "*", "*", (), "celery", "r"), logs)
    assert not allows(Grant("get", "", "pods", (), None, "r"), logs)  # a subresource is named
    assert not allows(Grant("get", "", "*/log", (), "other", "r"), logs)


def test_a_binding_to_a_missing_role_is_an_error() -> None:
    binding = {"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
               "roleRef": {"kind": "ClusterRole", "name": "absent"},
               "subjects": [{"kind": "ServiceAccount", "name": "clusterbot",
                             "namespace": "clusterbot"}]}
    with pytest.raises(LookupError, match="absent"):
        grants([binding])
