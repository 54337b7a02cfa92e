"""The one-shot live read over HTTP against the fake API server: paged lists trimmed per page,
add-on APIs found through discovery, absent and forbidden kinds noted, failures mapped to
`Unreachable` (no answer, 5xx) or `SourceError`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.client import ConnectOptions, KubeClient, Unreachable
from bot.cluster.demo import DEMO_NOW, demo_snapshot
from bot.cluster.kinds import BY_KEY
from bot.cluster.live import list_kind, read_cluster, read_snapshot
from bot.cluster.source import SourceError, StaticSource
from commands import Context, dispatch
from tests.cluster.live_helpers import connect, demo_objects, lists, web_pod
from tests.fakeapi import FakeKubeAPI


@pytest.fixture
def demo_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI(demo_objects()) as api:
        yield api


def _findings(source: StaticSource) -> set[tuple[str, str, str, str]]:
    reply = dispatch(Context(source, clock=lambda: DEMO_NOW), "issues")
    assert reply.report is not None, reply.text
    return {(i.finding.code, i.finding.subject.kind, i.finding.subject.namespace,
             i.finding.subject.name) for i in reply.report.issues}


def test_reads_every_kind_and_diagnoses_like_the_same_cluster_from_a_dump(
        demo_api: FakeKubeAPI, tmp_path: Path) -> None:
    snapshot = read_snapshot(connect(demo_api, tmp_path), cluster="pi-k3s")
    demo = demo_snapshot()
    assert {k: len(v) for k, v in snapshot.collections.items()} == {
        k: len(v) for k, v in demo.collections.items()}
    assert snapshot.absent == {}
    assert snapshot.source == f"Kubernetes API {demo_api.url}"
    assert _findings(StaticSource(snapshot)) == _findings(StaticSource(demo))


def test_lists_in_pages_and_keeps_only_what_analyzers_read(fake_api: FakeKubeAPI,
                                                          tmp_path: Path) -> None:
    for i in range(5):
        fake_api.add(web_pod(f"web-{i}"))
    listed = list_kind(connect(fake_api, tmp_path), BY_KEY["pods"], page_size=2)

    assert [p["metadata"]["name"] for p in listed.items] == [f"web-{i}" for i in range(5)]
    pages = [r.query for r in fake_api.requests if r.path == "/api/v1/pods"]
    assert [q.get("limit") for q in pages] == ["2", "2", "2"]
    assert [bool(q.get("continue")) for q in pages] == [False, True, True]
    assert listed.resource_version == str(fake_api.store.resource_version)
    pod = listed.items[0]
    assert "managedFields" not in pod["metadata"]
    assert "env" not in pod["spec"]["containers"][0]  # a plain value: never kept


def test_secrets_are_read_as_metadata_only(fake_api: FakeKubeAPI, tmp_path: Path) -> None:
    fake_api.add({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                  "metadata": {"name": "site-tls", "namespace": "web"},
                  "data": {"tls.key": "cHJpdmF0ZQ=="}})
    secrets = list_kind(connect(fake_api, tmp_path), BY_KEY["secrets"]).items
    # Only a metadata-only answer lacks `type`: the data never crossed the wire.
    assert secrets == [{"metadata": {"name": "site-tls", "namespace": "web",
                                     "uid": secrets[0]["metadata"]["uid"]}}]


def test_add_on_apis_absent_or_forbidden_are_noted_not_fatal(fake_api: FakeKubeAPI,
                                                              tmp_path: Path) -> None:
    fake_api.add(web_pod())
    fake_api.enable_group("cert-manager.io")
    fake_api.forbid("certificates")
    fake_api.forbid("secrets")
    snapshot = read_snapshot(connect(fake_api, tmp_path))

    assert snapshot.absent == {
        "nodemetrics": "not installed", "longhornvolumes": "not installed",
        "certificates": "no permission to read certificates.cert-manager.io",
        "secrets": "no permission to read secrets"}
    assert len(snapshot.items("pods")) == 1
    # An add-on that discovery says is missing costs no list request.
    assert lists(fake_api, "/apis/longhorn.io/v1beta2/volumes") == 0
    reply = dispatch(Context(StaticSource(snapshot)), "health")
    assert reply.report is not None
    assert "cert-manager: no permission to read certificates.cert-manager.io" in \
        reply.report.notes
    assert "Longhorn: not installed" in reply.report.notes


def test_an_api_server_that_keeps_failing_is_unreachable(fake_api: FakeKubeAPI,
                                                         tmp_path: Path) -> None:
    fake_api.faults.fail(503, times=None, path_prefix="/api/v1/pods")
    with pytest.raises(Unreachable, match="cannot list pods: 503"):
        read_snapshot(connect(fake_api, tmp_path))


def test_no_api_server_is_unreachable_within_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        kubeconfig = FakeKubeAPI(port=silent.getsockname()[1]).kubeconfig(
            tmp_path / "kubeconfig")  # written for the silent port, never started
        with pytest.raises(Unreachable, match="cluster API unreachable at"):
            read_cluster(ConnectOptions(kubeconfig=str(kubeconfig), timeout=0.5))


def test_an_expired_continue_token_restarts_the_list(fake_api: FakeKubeAPI,
                                                     tmp_path: Path) -> None:
    for i in range(4):
        fake_api.add(web_pod(f"web-{i}"))
    client = connect(fake_api, tmp_path)
    fake_api.faults.fail(410, times=1, path_prefix="/api/v1/pods")  # the first page: Gone
    listed = list_kind(client, BY_KEY["pods"], page_size=3)
    assert len(listed.items) == 4
    assert lists(fake_api, "/api/v1/pods") == 3  # the failed page, then two good ones


def test_kubeconfig_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        KubeClient.connect(ConnectOptions(kubeconfig=str(tmp_path / "missing")))
