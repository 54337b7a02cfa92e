"""Loading kubectl output: get -o json Lists, typed lists, cluster-info dumps, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cluster.dump import DumpError, load_paths, to_list_document
from bot.cluster.trim import trim_object


def pod(name: str, namespace: str = "default", *, kind: bool = True, phase: str = "Running"):
    obj = {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {}}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
        },
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                 "env": [{"name": "PASSWORD", "value": "hunter2"},
                                         {"name": "TOKEN", "valueFrom": {"secretKeyRef": {
                                             "name": "api", "key": "token"}}}]}],
                 "nodeName": "pi-worker-01"},
        "status": {"phase": phase},
    }
    if kind:
        obj = {"apiVersion": "v1", "kind": "Pod", **obj}
    return obj


def node(name: str, *, kind: bool = True):
    obj = {"metadata": {"name": name, "uid": f"uid-{name}"},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    return {"apiVersion": "v1", "kind": "Node", **obj} if kind else obj


def write(path: Path, document) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_kubectl_get_list_loads_every_kind_and_trims(tmp_path):
    document = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                "items": [node("pi-master"), pod("web-1"), pod("web-2", "apps"),
                          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]}
    snapshot = load_paths([write(tmp_path / "cluster.json", document)])
    assert [n["metadata"]["name"] for n in snapshot.items("nodes")] == ["pi-master"]
    pods = snapshot.items("pods")
    assert {p["metadata"]["name"] for p in pods} == {"web-1", "web-2"}
    meta = pods[0]["metadata"]
    assert "managedFields" not in meta and "annotations" not in meta
    # plain values may be secrets and are dropped; references are kept for diagnosis
    assert pods[0]["spec"]["containers"][0]["env"] == [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}]


def test_typed_list_items_without_kind_take_the_list_kind(tmp_path):
    document = {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod("a", kind=False), pod("b", kind=False)]}
    snapshot = load_paths([write(tmp_path / "whatever.json", document)])
    assert len(snapshot.items("pods")) == 2


def test_several_files_merge(tmp_path):
    first = write(tmp_path / "a.json", {"kind": "List", "items": [pod("a")]})
    second = write(tmp_path / "b.json", {"kind": "List", "items": [node("n1")]})
    snapshot = load_paths([first, second])
    assert len(snapshot.items("pods")) == 1 and len(snapshot.items("nodes")) == 1


def test_cluster_info_dump_directory_layout(tmp_path):
    """`kubectl cluster-info dump --all-namespaces --output-directory DIR` writes this tree."""
    dump = tmp_path / "dump"
    write(dump / "nodes.json", {"kind": "NodeList", "apiVersion": "v1", "metadata": {},
                                "items": [node("pi-master", kind=False),
                                          node("pi-worker-01", kind=False)]})
    for ns in ("kube-system", "databases"):
        write(dump / ns / "pods.json", {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                                        "items": [pod(f"{ns}-pod", ns, kind=False)]})
        write(dump / ns / "events.json", {"kind": "EventList", "apiVersion": "v1",
                                          "metadata": {}, "items": []})
        write(dump / ns / "replication-controllers.json", {
            "kind": "ReplicationControllerList", "apiVersion": "v1", "metadata": {},
            "items": [{"metadata": {"name": "legacy"}}]})
        write(dump / ns / "deployments.json", {"kind": "DeploymentList", "apiVersion": "apps/v1",
                                               "metadata": {}, "items": []})
        log_dir = dump / ns / f"{ns}-pod"
        log_dir.mkdir()
        (log_dir / "logs.txt").write_text("==== START logs for container app ====\n")
    snapshot = load_paths([dump])
    assert {n["metadata"]["name"] for n in snapshot.items("nodes")} == {"pi-master",
                                                                        "pi-worker-01"}
    assert {p["metadata"]["namespace"] for p in snapshot.items("pods")} == {"kube-system",
                                                                            "databases"}
    assert snapshot.has("events") and snapshot.items("replicasets") == ()
    assert "snapshot dump" in snapshot.source


def test_list_document_round_trips(tmp_path):
    original = load_paths([write(tmp_path / "in.json", {
        "kind": "List", "items": [node("n1"), pod("p1"), pod("p2", "apps")]})])
    again = load_paths([write(tmp_path / "out.json", to_list_document(original))])
    assert dict(again.collections) == dict(original.collections)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b"42", "expected a JSON object"),
        (b'"pods"', "expected a JSON object"),
        (b'{"hello": "world"}', "not Kubernetes API JSON"),
        (b'{"kind": "List", "items": {"a": 1}}', "'items' is not a list"),
        (b'{"kind": "List", "items": "pods"}', "'items' is not a list"),
        (b'{"kind": "List", "items": ["pod"]}', "item 0 is not an object"),
        (b'{"kind": "List", "items": [{"metadata": {}}]}', "item 0 has no 'kind'"),
        (b'{"kind": "List", "items": []}', "no Kubernetes objects found"),
    ],
)
def test_broken_or_foreign_files_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(DumpError) as raised:
        load_paths([path])
    assert message in str(raised.value)
    assert "broken.json" in str(raised.value)


def test_missing_file_and_empty_directory(tmp_path):
    with pytest.raises(DumpError, match="cannot read"):
        load_paths([tmp_path / "nope.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DumpError, match="holds no .json files"):
        load_paths([tmp_path / "empty"])


def _tricky_pod(index: int) -> dict:
    """A pod whose nested lists hold the same bytes as an item boundary."""
    obj = pod(f"p{index}")
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1"},
        {"apiVersion": "v1", "kind": "Node", "name": "b", "uid": "2"}]
    obj["spec"]["volumes"] = [{"name": "cfg", "projected": {"sources": [
        {"configMap": {"name": "c", "items": [{"key": "k", "path": "p"}]}}]}}]
    obj["metadata"]["annotations"]["note"] = 'text with }, {"apiVersion": inside'
    return obj


@pytest.mark.parametrize("indent", [None, 4], ids=["compact", "kubectl-indented"])
@pytest.mark.parametrize("items_last", [False, True], ids=["kubectl-order", "api-order"])
def test_items_cut_apart_one_by_one_equal_a_whole_parse(tmp_path, indent, items_last):
    from bot.cluster.dump import _split_items

    items = [_tricky_pod(i) for i in range(5)] + [node("n1")]
    document = ({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}
                if items_last else
                {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}})
    data = json.dumps(document, indent=indent).encode()
    envelope, pieces = _split_items(data)
    cut = list(pieces)
    assert [json.loads(bytes(piece)) for _, piece in cut] == items and envelope["kind"] == "List"
    assert [kind for kind, _ in cut] == [("Pod", "v1")] * 5 + [("Node", "v1")]
    snapshot = load_paths([write(tmp_path / "c.json", document)])
    assert list(snapshot.items("pods")) == [trim_object("pods", o) for o in items[:5]]
