"""The fake API server over HTTP: discovery, lists, selectors, writes and Status errors."""

from __future__ import annotations

import pytest

from bot.cluster.kinds import KINDS
from tests.fakeapi import RESOURCES, FakeKubeAPI
from tests.fakeapi_tests.helpers import call, event, get, job, lease, names, pod

PODS = "/api/v1/namespaces/default/pods"


def test_resource_table_covers_every_kind_the_bot_reads() -> None:
    served = {(r.kind, r.group, r.version) for r in RESOURCES}
    assert {(k.kind, k.group, k.version) for k in KINDS} <= served
    assert {("Lease", "coordination.k8s.io", "v1"), ("ConfigMap", "", "v1"),
            ("Secret", "", "v1"), ("Event", "", "v1")} <= served


def test_discovery_serves_version_core_and_groups(fake_api: FakeKubeAPI) -> None:
    assert get(fake_api, "/version").json["gitVersion"] == "v1.32.2+k3s1"
    assert get(fake_api, "/api").json["versions"] == ["v1"]
    core = {r["name"]: r for r in get(fake_api, "/api/v1").json["resources"]}
    assert core["pods"] | {"verbs": []} == {"name": "pods", "singularName": "pod",
                                           "namespaced": True, "kind": "Pod", "verbs": [],
                                           "shortNames": ["po"], "categories": ["all"]}
    assert "watch" in core["pods"]["verbs"] and core["pods/log"]["verbs"] == ["get"]
    assert core["nodes"]["namespaced"] is False and core["nodes"]["shortNames"] == ["no"]
    groups = {g["name"] for g in get(fake_api, "/apis").json["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "storage.k8s.io",
            "coordination.k8s.io"} <= groups
    assert not groups & {"metrics.k8s.io", "longhorn.io", "cert-manager.io"}
    apps = get(fake_api, "/apis/apps/v1").json
    assert apps["groupVersion"] == "apps/v1"
    assert "deployments" in {r["name"] for r in apps["resources"]}


def test_addon_groups_appear_when_seeded_or_enabled(fake_api: FakeKubeAPI) -> None:
    assert get(fake_api, "/apis/metrics.k8s.io/v1beta1/nodes").status == 404
    fake_api.enable_group("metrics.k8s.io")
    fake_api.add({"apiVersion": "longhorn.io/v1beta2", "kind": "Volume",
                  "metadata": {"name": "pvc-1", "namespace": "longhorn-system"}})
    groups = {g["name"] for g in get(fake_api, "/apis").json["groups"]}
    assert {"metrics.k8s.io", "longhorn.io"} <= groups and "cert-manager.io" not in groups
    assert get(fake_api, "/apis/metrics.k8s.io/v1beta1/nodes").json["kind"] == "NodeMetricsList"
    volumes = get(fake_api, "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes").json
    assert names(volumes["items"]) == ["pvc-1"]


def test_list_items_carry_no_type_and_the_list_has_the_resource_version() -> None:
    with FakeKubeAPI([pod("a"), pod("b", "kube-system")]) as api:
        body = get(api, "/api/v1/pods").json
        assert (body["kind"], body["apiVersion"]) == ("PodList", "v1")
        assert body["metadata"]["resourceVersion"] == "2"
        assert all("kind" not in item and "apiVersion" not in item for item in body["items"])
        assert names(get(api, PODS).json["items"]) == ["a"]
        single = get(api, f"{PODS}/a").json
        assert (single["kind"], single["metadata"]["resourceVersion"]) == ("Pod", "1")
        assert single["metadata"]["uid"] and single["metadata"]["creationTimestamp"]


def test_limit_and_continue_page_through_one_consistent_snapshot() -> None:
    with FakeKubeAPI([pod(f"p{i}") for i in range(5)]) as api:
        pages, token = [], None
        while len(pages) < 10:
            query = {"limit": 2} | ({"continue": token} if token else {})
            body = get(api, PODS, **query).json
            pages.append(body)
            token = body["metadata"].get("continue")
            if token is None:
                break
            api.add(pod(f"p{len(pages)}x"))  # written between pages: not in this list
        assert [names(p["items"]) for p in pages] == [["p0", "p1"], ["p2", "p3"], ["p4"]]
        assert {p["metadata"]["resourceVersion"] for p in pages} == {"5"}
        assert [p["metadata"].get("remainingItemCount") for p in pages] == [3, 1, None]


def test_limit_is_ignored_for_resource_version_zero_like_the_watch_cache() -> None:
    with FakeKubeAPI([pod(f"p{i}") for i in range(3)]) as api:
        body = get(api, PODS, limit=1, resourceVersion=0).json
        assert len(body["items"]) == 3 and "continue" not in body["metadata"]


def test_continue_token_from_a_compacted_version_is_410_expired() -> None:
    with FakeKubeAPI([pod(f"p{i}") for i in range(3)]) as api:
        first = get(api, PODS, limit=1).json
        api.update(pod("p0", labels={"app": "changed"}))
        api.faults.compact(api.store.resource_version)
        reply = get(api, PODS, limit=1, **{"continue": first["metadata"]["continue"]})
        assert (reply.status, reply.json["reason"], reply.json["code"]) == (410, "Expired", 410)
        assert reply.json["message"].startswith("The provided continue parameter is too old")
        assert get(api, PODS, **{"continue": "garbage"}).status == 400


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["a", "b"]),
    ("app==web,tier=front", ["a"]),
    ("app!=web", ["c", "d"]),
    ("tier in (front,back)", ["a", "c"]),
    ("tier notin (front)", ["b", "c", "d"]),
    ("tier", ["a", "c"]),
    ("!tier", ["b", "d"]),
    ("app in (web, db), !tier", ["b"]),
])
def test_label_selectors(selector: str, expected: list[str]) -> None:
    objs = [pod("a", labels={"app": "web", "tier": "front"}), pod("b", labels={"app": "web"}),
            pod("c", labels={"app": "db", "tier": "back"}), pod("d", labels={"other": "x"})]
    with FakeKubeAPI(objs) as api:
        assert names(get(api, PODS, labelSelector=selector).json["items"]) == expected


def test_invalid_label_selector_is_a_bad_request(fake_api: FakeKubeAPI) -> None:
    reply = get(fake_api, PODS, labelSelector="app in web")
    assert (reply.status, reply.json["reason"]) == (400, "BadRequest")


def test_field_selectors_and_unsupported_fields() -> None:
    objs = [pod("a", phase="Running", node="n1"), pod("b", phase="Pending", node="n2"),
            pod("c", "other", phase="Running", node="n2"),
            event("e1", "a", "BackOff"), event("e2", "b", "Pulled", "Normal")]
    with FakeKubeAPI(objs) as api:
        assert names(get(api, "/api/v1/pods", fieldSelector="status.phase=Running").json[
            "items"]) == ["a", "c"]
        assert names(get(api, "/api/v1/pods", fieldSelector="spec.nodeName==n2,"
                                                            "metadata.namespace!=other"
                         ).json["items"]) == ["b"]
        assert names(get(api, PODS, fieldSelector="metadata.name=b").json["items"]) == ["b"]
        events = "/api/v1/namespaces/default/events"
        assert names(get(api, events, fieldSelector="involvedObject.name=a,type=Warning,"
                                                    "involvedObject.kind=Pod").json["items"]
                     ) == ["e1"]
        assert names(get(api, events, fieldSelector="reason!=BackOff").json["items"]) == ["e2"]
        reply = get(api, PODS, fieldSelector="spec.foo=bar")
        assert reply.status == 400
        assert reply.json == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "message": "field label not supported: "
                              "spec.foo", "reason": "BadRequest", "code": 400}


def test_not_found_is_the_real_status_body(fake_api: FakeKubeAPI) -> None:
    reply = get(fake_api, f"{PODS}/x")
    assert reply.status == 404 and reply.headers["Content-Type"] == "application/json"
    assert reply.json == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                          "status": "Failure", "message": 'pods "x" not found',
                          "reason": "NotFound", "details": {"name": "x", "kind": "pods"},
                          "code": 404}
    leases = get(fake_api, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/y").json
    assert leases["message"] == 'leases.coordination.k8s.io "y" not found'
    assert leases["details"] == {"name": "y", "group": "coordination.k8s.io", "kind": "leases"}


def test_unknown_paths_and_verbs(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a"))
    unknown = get(fake_api, "/api/v1/namespaces/default/widgets")
    assert (unknown.status, unknown.json["reason"]) == (404, "NotFound")
    assert get(fake_api, "/openapi/v2").status == 404
    assert get(fake_api, "/not/an/api").text == "404 page not found\n"
    for method, path in [("POST", f"{PODS}/a"), ("PUT", PODS), ("POST", "/api/v1/pods")]:
        reply = call(fake_api, method, path, {})
        assert (reply.status, reply.json["reason"]) == (405, "MethodNotAllowed"), (method, path)
    fake_api.enable_group("metrics.k8s.io")
    assert call(fake_api, "DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/n").status == 405


def test_create_sets_server_fields_and_refuses_duplicates(fake_api: FakeKubeAPI) -> None:
    created = call(fake_api, "POST", PODS, pod("a") | {"metadata": {"name": "a", "uid": "mine"}})
    assert created.status == 201
    meta = created.json["metadata"]
    assert meta["namespace"] == "default" and meta["uid"] != "mine"
    assert meta["resourceVersion"] == "1" and meta["creationTimestamp"].endswith("Z")
    again = call(fake_api, "POST", PODS, pod("a"))
    assert (again.status, again.json["reason"], again.json["message"]) == (
        409, "AlreadyExists", 'pods "a" already exists')
    nameless = call(fake_api, "POST", PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {}})
    assert (nameless.status, nameless.json["reason"]) == (422, "Invalid")
    assert nameless.json["message"] == ('Pod "" is invalid: metadata.name: Required value: '
                                        "name or generateName is required")
    generated = call(fake_api, "POST", PODS, {"metadata": {"generateName": "web-"}})
    assert generated.json["metadata"]["name"].startswith("web-")
    wrong_ns = call(fake_api, "POST", PODS, pod("b", "kube-system"))
    assert wrong_ns.status == 400


def test_replace_checks_resource_version() -> None:
    with FakeKubeAPI([pod("a")]) as api:
        current = get(api, f"{PODS}/a").json
        current["spec"]["nodeName"] = "pi-2"
        assert call(api, "PUT", f"{PODS}/a", current).status == 200
        stale = call(api, "PUT", f"{PODS}/a", current)  # same resourceVersion again
        assert (stale.status, stale.json["reason"]) == (409, "Conflict")
        assert stale.json["message"] == (
            'Operation cannot be fulfilled on pods "a": the object has been modified; please '
            "apply your changes to the latest version and try again")
        assert call(api, "PUT", f"{PODS}/zz", pod("zz")).status == 404
        assert call(api, "PUT", f"{PODS}/a", pod("b")).status == 400


def test_lease_is_created_on_update_and_needs_a_resource_version(fake_api: FakeKubeAPI) -> None:
    path = "/apis/coordination.k8s.io/v1/namespaces/clusterbot/leases/clusterbot-leader"
    assert call(fake_api, "PUT", path, lease()).status == 201
    unconditional = call(fake_api, "PUT", path, lease(holder="b"))
    assert (unconditional.status, unconditional.json["reason"]) == (422, "Invalid")
    current = get(fake_api, path).json
    assert call(fake_api, "PUT", path, current | {"spec": {"holderIdentity": "b"}}).status == 200
    assert call(fake_api, "PUT", path, current).status == 409


def test_patch_merge_strategic_and_json(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a"))
    merge = {"metadata": {"annotations": {"clusterbot/seen": "1"}, "labels": {"app": None}}}
    reply = call(fake_api, "PATCH", f"{PODS}/a", merge,
                 headers={"Content-Type": "application/merge-patch+json"})
    assert reply.json["metadata"]["annotations"] == {"clusterbot/seen": "1"}
    assert "app" not in reply.json["metadata"]["labels"]
    strategic = {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}
    reply = call(fake_api, "PATCH", f"{PODS}/a", strategic,
                 headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert reply.json["spec"]["containers"] == [{"name": "main", "image": "nginx:1.28"}]
    ops = [{"op": "add", "path": "/metadata/labels/tier", "value": "front"},
           {"op": "replace", "path": "/spec/nodeName", "value": "pi-9"},
           {"op": "remove", "path": "/metadata/annotations/clusterbot~1seen"}]
    reply = call(fake_api, "PATCH", f"{PODS}/a", ops,
                 headers={"Content-Type": "application/json-patch+json"})
    assert reply.json["metadata"]["labels"] == {"tier": "front"}
    assert reply.json["spec"]["nodeName"] == "pi-9"
    assert reply.json["metadata"]["annotations"] == {}
    assert reply.json["metadata"]["resourceVersion"] == "4"
    assert call(fake_api, "PATCH", f"{PODS}/a", {}, headers={
        "Content-Type": "application/apply-patch+yaml"}).status == 415
    assert call(fake_api, "PATCH", f"{PODS}/nope", {}, headers={
        "Content-Type": "application/merge-patch+json"}).status == 404


def test_delete_preconditions_and_propagation(fake_api: FakeKubeAPI) -> None:
    uid = fake_api.add(pod("a"))["metadata"]["uid"]
    wrong = call(fake_api, "DELETE", f"{PODS}/a", {"preconditions": {"uid": "other"}})
    assert (wrong.status, wrong.json["reason"]) == (409, "Conflict")
    assert wrong.json["message"] == ('Operation cannot be fulfilled on pods "a": Precondition '
                                     f"failed: UID in precondition: other, UID in object meta: "
                                     f"{uid}")
    deleted = call(fake_api, "DELETE", f"{PODS}/a", {"preconditions": {"uid": uid}})
    assert deleted.status == 200 and deleted.json["metadata"]["uid"] == uid
    assert fake_api.get("pods", "default", "a") is None
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    for name, policy, survivors in [("j1", "Background", []), ("j2", None, ["j2-pod"])]:
        owner = fake_api.add(job(name))
        fake_api.add(pod(f"{name}-pod", owner=owner))
        body = {"propagationPolicy": policy} if policy else None
        assert call(fake_api, "DELETE", f"{jobs}/{name}", body).status == 200
        assert names(fake_api.list("pods")) == survivors
    assert "ownerReferences" not in fake_api.get("pods", "default", "j2-pod")["metadata"]


def test_finalizers_hold_a_deleted_object_until_removed(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a") | {"metadata": {"name": "a", "namespace": "default",
                                          "finalizers": ["example.com/hold"]}})
    held = call(fake_api, "DELETE", f"{PODS}/a").json
    assert held["metadata"]["deletionTimestamp"]
    assert fake_api.get("pods", "default", "a") is not None
    patch = {"metadata": {"finalizers": None}}
    call(fake_api, "PATCH", f"{PODS}/a", patch,
         headers={"Content-Type": "application/merge-patch+json"})
    assert fake_api.get("pods", "default", "a") is None


def test_forbidden_resources_get_the_real_403(fake_api: FakeKubeAPI) -> None:
    fake_api.forbid("secrets")
    listed = get(fake_api, "/api/v1/secrets")
    assert (listed.status, listed.json["reason"]) == (403, "Forbidden")
    assert listed.json["message"] == (
        'secrets is forbidden: User "system:serviceaccount:clusterbot:clusterbot" cannot list '
        'resource "secrets" in API group "" at the cluster scope')
    one = get(fake_api, "/api/v1/namespaces/default/secrets/tls")
    assert one.json["message"].startswith('secrets "tls" is forbidden: User "system:service')
    assert one.json["message"].endswith('cannot get resource "secrets" in API group "" in the '
                                        'namespace "default"')
    fake_api.allow("secrets")
    assert get(fake_api, "/api/v1/secrets").status == 200


def test_metadata_only_list(fake_api: FakeKubeAPI) -> None:
    fake_api.add({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                  "metadata": {"name": "tls", "namespace": "default"}, "data": {"k": "c2VjcmV0"}})
    reply = call(fake_api, "GET", "/api/v1/secrets", headers={
        "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
                  "application/json"})
    body = reply.json
    assert (body["kind"], body["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert body["items"][0]["kind"] == "PartialObjectMetadata"
    assert set(body["items"][0]) == {"kind", "apiVersion", "metadata"}
    assert body["items"][0]["metadata"]["name"] == "tls"


def test_table_for_kubectl(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a"))
    fake_api.add(pod("b", phase="Pending"))
    reply = call(fake_api, "GET", PODS, headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    table = reply.json
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert [row["cells"][:4] for row in table["rows"]] == [["a", "1/1", "Running", 0],
                                                            ["b", "0/1", "x", 0]]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_pod_logs(fake_api: FakeKubeAPI) -> None:
    fake_api.add(pod("a"))
    fake_api.set_logs("default", "a", "main", "one\ntwo\nthree\n")
    fake_api.set_logs("default", "a", "main", "crashed\n", previous=True)
    log = f"{PODS}/a/log"
    assert get(fake_api, log).text == "one\ntwo\nthree\n"
    assert get(fake_api, log, tailLines=2, container="main").text == "two\nthree\n"
    assert get(fake_api, log, previous="true").text == "crashed\n"
    assert get(fake_api, log, container="sidecar").status == 400
    assert get(fake_api, f"{PODS}/nope/log").status == 404


def test_scale_status_and_eviction(fake_api: FakeKubeAPI) -> None:
    fake_api.add({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}})
    scale = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    assert get(fake_api, scale).json["spec"] == {"replicas": 2}
    reply = call(fake_api, "PATCH", scale, {"spec": {"replicas": 0}},
                 headers={"Content-Type": "application/merge-patch+json"})
    assert reply.json["status"]["selector"] == "app=web"
    deployment = fake_api.get("deployments", "default", "web")
    assert deployment["spec"]["replicas"] == 0 and deployment["metadata"]["generation"] == 2
    fake_api.add(pod("a"))
    status = call(fake_api, "PUT", f"{PODS}/a/status",
                  pod("a", phase="Failed") | {"spec": {"nodeName": "ignored"}})
    assert status.json["status"]["phase"] == "Failed"
    assert status.json["spec"]["nodeName"] == "pi-1"
    evicted = call(fake_api, "POST", f"{PODS}/a/eviction",
                   {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a"}})
    assert (evicted.status, evicted.json["status"]) == (201, "Success")
    assert fake_api.list("pods") == []


def test_delete_collection_with_selector() -> None:
    with FakeKubeAPI([pod("a"), pod("b", labels={"app": "db"})]) as api:
        reply = call(api, "DELETE", PODS + "?labelSelector=app%3Dweb")
        assert names(reply.json["items"]) == ["a"]
        assert names(api.list("pods")) == ["b"]


def test_every_request_is_recorded(fake_api: FakeKubeAPI) -> None:
    get(fake_api, PODS, limit=3)
    call(fake_api, "DELETE", f"{PODS}/x")
    assert [(r.method, r.path, r.query) for r in fake_api.requests] == [
        ("GET", PODS, {"limit": "3"}), ("DELETE", f"{PODS}/x", {})]
    assert fake_api.requests.count("GET", "/api/v1") == 1
    fake_api.reset_requests()
    assert len(fake_api.requests) == 0
