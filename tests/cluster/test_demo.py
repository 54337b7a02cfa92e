"""The demo cluster: the seed report's facts and the consistency of its objects."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from bot.cluster.demo import DEMO_NOW, demo_snapshot, demo_week2_snapshot
from bot.cluster.kinds import KINDS
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import parse_time
from tests.cluster.demo_helpers import age, get, is_ready, main_status, name, pods_in, reasons

FS = "financial-screener"
WORKER_IMAGE = "financial-screener/celery-worker:latest"
KEY_OF_KIND = {info.kind: info.key for info in KINDS}


# -- the seed report's facts ----------------------------------------------------------------

def test_snapshot_identity(snap: Snapshot) -> None:
    assert snap.taken_at == DEMO_NOW
    assert (snap.source, snap.cluster) == ("demo", "pi-k3s")
    assert set(snap.collections) == {info.key for info in KINDS}
    assert snap.absent == {}


def test_eight_arm64_k3s_nodes(snap: Snapshot) -> None:
    nodes = {name(n): n for n in snap.items("nodes")}
    assert list(nodes) == ["pi-master"] + [f"pi-worker-0{i}" for i in range(1, 8)]
    for index, node in enumerate(nodes.values()):
        info, status = node["status"]["nodeInfo"], node["status"]
        assert info["kubeletVersion"] == "v1.32.2+k3s1"
        assert info["containerRuntimeVersion"] == "containerd://2.0.2-k3s2"
        assert info["osImage"] == "Debian GNU/Linux 12 (bookworm)"
        assert info["architecture"] == "arm64"
        assert status["addresses"][0] == {"type": "InternalIP",
                                          "address": f"192.168.1.{240 + index}"}
        assert status["allocatable"]["cpu"] == "4" and status["allocatable"]["memory"] == "8040Mi"
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {"Ready": "True", "MemoryPressure": "False",
                              "DiskPressure": "False", "PIDPressure": "False"}
        assert age(snap, node) == timedelta(days=149)
    roles = {k for k in nodes["pi-master"]["metadata"]["labels"] if "node-role" in k}
    assert roles == {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
    assert not any("node-role" in k for k in nodes["pi-worker-01"]["metadata"]["labels"])


SEED_USAGE = {  # name: (CPU m, memory Mi, CPU %, memory %) as `kubectl top node` printed them
    "pi-master": (185, 3065, 4, 38), "pi-worker-01": (88, 2028, 2, 25),
    "pi-worker-02": (97, 1752, 2, 21), "pi-worker-03": (119, 4377, 2, 54),
    "pi-worker-04": (107, 2119, 2, 26), "pi-worker-05": (90, 2807, 2, 34),
    "pi-worker-06": (84, 2822, 2, 35), "pi-worker-07": (182, 3450, 4, 42),
}


def test_node_metrics_are_the_seeds(snap: Snapshot) -> None:
    metrics = {name(m): m["usage"] for m in snap.items("nodemetrics")}
    assert set(metrics) == set(SEED_USAGE)
    for node, (cpu, memory, cpu_pct, mem_pct) in SEED_USAGE.items():
        used = metrics[node]
        assert used == {"cpu": f"{cpu * 1_000_000}n", "memory": f"{memory * 1024}Ki"}
        assert cpu * 100 // 4000 == cpu_pct and memory * 100 // 8040 == mem_pct


def test_eighteen_namespaces(snap: Snapshot) -> None:
    assert {name(n) for n in snap.items("namespaces")} == {
        "default", "kube-system", "kube-public", "kube-node-lease", "cert-manager", "traefik",
        "longhorn-system", "monitoring", "logging", "nfs-provisioner", "velero", "redis",
        "celery", "databases", "dev-tools", FS, "apps", "kubernetes-dashboard"}
    assert pods_in(snap, "apps") == []


def test_pod_counts_per_namespace_follow_the_seed(snap: Snapshot) -> None:
    counts = Counter(p["metadata"]["namespace"] for p in snap.items("pods"))
    assert counts[FS] == 17 and counts["celery"] == 4 and counts["redis"] == 1
    assert counts["monitoring"] == 12 and counts["logging"] == 9 and counts["cert-manager"] == 3
    assert counts["databases"] == 4 and counts["dev-tools"] == 1 and counts["velero"] == 10
    assert 40 <= counts["longhorn-system"] <= 90


def test_ages_count_back_from_now(snap: Snapshot) -> None:
    later = DEMO_NOW + timedelta(days=3, hours=5)
    shifted = demo_snapshot(later)
    expected = {("deployments", "redis", "redis"): timedelta(hours=10),
                ("deployments", "celery", "worker"): timedelta(hours=10),
                ("deployments", "velero", "velero"): timedelta(hours=13),
                ("statefulsets", "databases", "postgresql-primary"): timedelta(days=14),
                ("nodes", "", "pi-worker-05"): timedelta(days=149)}
    for snapshot in (snap, shifted):
        for (key, namespace, obj_name), want in expected.items():
            assert age(snapshot, get(snapshot, key, namespace, obj_name)) == want
    assert shifted.taken_at == later


def test_financial_screener_workers_never_pulled(snap: Snapshot) -> None:
    deploy = get(snap, "deployments", FS, "celery-worker")
    assert deploy["metadata"]["labels"] == {"app": "financial-screener", "component": "worker"}
    status = deploy["status"]
    assert (status["replicas"], status["availableReplicas"], status["unavailableReplicas"]) == (
        7, 1, 6)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["status"] == "False"
    assert conditions["Available"]["reason"] == "MinimumReplicasUnavailable"
    assert conditions["Progressing"]["reason"] == "ProgressDeadlineExceeded"

    workers = pods_in(snap, FS, component="worker")
    assert len(workers) == 7
    failing = [p for p in workers if p["status"]["phase"] == "Pending"]
    running = [p for p in workers if p["status"]["phase"] == "Running"]
    assert len(failing) == 6 and len(running) == 1 and is_ready(running[0])
    assert Counter(p["spec"]["nodeName"] for p in failing) == {"pi-worker-02": 3,
                                                               "pi-worker-05": 3}
    for pod in failing:
        assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"
        assert pod["spec"]["containers"][0]["image"] == WORKER_IMAGE
        waiting = main_status(pod)["state"]["waiting"]
        message = f'Container image "{WORKER_IMAGE}" is not present with pull policy of Never'
        assert waiting == {"reason": "ErrImageNeverPull", "message": message}
        event = reasons(snap, "Pod", FS, name(pod))["ErrImageNeverPull"]
        assert event["type"] == "Warning" and event["message"] == message

    holders = {name(n) for n in snap.items("nodes")
               if any(n_ == f"docker.io/{WORKER_IMAGE}"
                      for image in n["status"]["images"] for n_ in image["names"])}
    assert holders == {running[0]["spec"]["nodeName"]} == {"pi-worker-04"}


@pytest.mark.parametrize(("namespace", "restarts"), [("celery", 118), (FS, 122)])
def test_flower_is_killed_by_its_liveness_probe(snap: Snapshot, namespace: str,
                                                restarts: int) -> None:
    deploy = get(snap, "deployments", namespace, "flower")
    assert deploy["status"].get("availableReplicas", 0) == 0
    [pod] = pods_in(snap, namespace, component="flower")
    probe = pod["spec"]["containers"][0]["livenessProbe"]
    assert probe == {"httpGet": {"path": "/healthcheck", "port": 5555, "scheme": "HTTP"},
                     "initialDelaySeconds": 30, "periodSeconds": 10, "timeoutSeconds": 1,
                     "failureThreshold": 3, "successThreshold": 1}
    status = main_status(pod)
    assert status["restartCount"] == restarts and not status["ready"]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["lastState"]["terminated"]["exitCode"] == 137
    assert status["lastState"]["terminated"]["reason"] == "Error"

    events = reasons(snap, "Pod", namespace, name(pod))
    url = f"http://{pod['status']['podIP']}:5555/healthcheck"
    assert events["Unhealthy"]["message"] == (
        f'Liveness probe failed: Get "{url}": context deadline exceeded '
        "(Client.Timeout exceeded while awaiting headers)")
    assert events["Unhealthy"]["count"] > restarts and events["Unhealthy"]["type"] == "Warning"
    assert events["Killing"]["message"] == (
        "Container flower failed liveness probe, will be restarted")
    assert events["BackOff"]["message"].startswith(
        f"Back-off restarting failed container flower in pod {name(pod)}")

    [subset] = get(snap, "endpoints", namespace, "flower")["subsets"]
    assert "addresses" not in subset
    assert [a["targetRef"]["name"] for a in subset["notReadyAddresses"]] == [name(pod)]


def test_failed_and_completed_test_pods(snap: Snapshot) -> None:
    bare = [p for p in pods_in(snap, FS) if not p["metadata"].get("ownerReferences")]
    failed = sorted(name(p) for p in bare if p["status"]["phase"] == "Failed")
    assert failed == ["test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                      "test-fundamentals"]
    assert len([p for p in bare if p["status"]["phase"] == "Succeeded"]) == 3
    for pod in bare:
        assert pod["spec"]["restartPolicy"] == "Never"
        terminated = main_status(pod)["state"]["terminated"]
        expected = (1, "Error") if name(pod) in failed else (0, "Completed")
        assert (terminated["exitCode"], terminated["reason"]) == expected


def test_test_data_load_job_failed(snap: Snapshot) -> None:
    job = get(snap, "jobs", "databases", "test-data-load")
    failed = {c["type"]: c for c in job["status"]["conditions"]}["Failed"]
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert job["status"]["failed"] == 2 and "succeeded" not in job["status"]
    pods = snap.pods_of("Job", "databases", "test-data-load")
    assert sorted(name(p) for p in pods) == ["test-data-load-4sh6p", "test-data-load-dlfv5"]
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        assert main_status(pod)["state"]["terminated"]["exitCode"] == 1
    event = reasons(snap, "Job", "databases", "test-data-load")["BackoffLimitExceeded"]
    assert event["type"] == "Warning"


@pytest.mark.parametrize("job", ["bulk-load", "data-collector"])
def test_screener_jobs_completed(snap: Snapshot, job: str) -> None:
    made = get(snap, "jobs", FS, job)
    assert {c["type"] for c in made["status"]["conditions"]} >= {"Complete"}
    assert made["status"]["succeeded"] == 1
    assert all(p["status"]["phase"] == "Succeeded" for p in snap.pods_of("Job", FS, job))


def test_csi_snapshotter_has_two_of_three(snap: Snapshot) -> None:
    status = get(snap, "deployments", "longhorn-system", "csi-snapshotter")["status"]
    assert (status["replicas"], status["availableReplicas"]) == (3, 2)
    pods = snap.pods_of("Deployment", "longhorn-system", "csi-snapshotter")
    [broken] = [p for p in pods if not is_ready(p)]
    assert main_status(broken)["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert main_status(broken)["lastState"]["terminated"]["exitCode"] == 1
    assert reasons(snap, "Pod", "longhorn-system", name(broken))["BackOff"]["type"] == "Warning"


def test_traefik_load_balancer_on_every_node(snap: Snapshot) -> None:
    traefik = get(snap, "services", "traefik", "traefik")
    assert traefik["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in traefik["spec"]["ports"]] == [80, 443]
    ips = [i["ip"] for i in traefik["status"]["loadBalancer"]["ingress"]]
    assert ips == [f"192.168.1.{n}" for n in range(240, 248)]


SEED_CLAIMS = {
    ("databases", "postgresql-primary"): ("20Gi", "longhorn"),
    ("databases", "postgresql-read"): ("20Gi", "longhorn"),
    ("dev-tools", "codeserver-data"): ("30Gi", "longhorn"),
    ("logging", "loki-storage"): ("10Gi", "longhorn"),
    ("monitoring", "alertmanager-db"): ("5Gi", "longhorn"),
    ("monitoring", "grafana"): ("5Gi", "longhorn"),
    ("monitoring", "prometheus-db"): ("10Gi", "longhorn"),
    ("redis", "redis-pvc"): ("5Gi", "longhorn"),
    ("velero", "minio"): ("500Gi", "nfs-client"),
    ("velero", "velero-backups"): ("500Gi", "nfs-client"),
}


def test_claims_volumes_and_longhorn(snap: Snapshot) -> None:
    claims = {(c["metadata"]["namespace"], name(c)): c
              for c in snap.items("persistentvolumeclaims")}
    assert {k: (c["spec"]["resources"]["requests"]["storage"], c["spec"]["storageClassName"])
            for k, c in claims.items()} == SEED_CLAIMS
    longhorn = {name(v): v for v in snap.items("longhornvolumes")}
    for (namespace, claim_name), claim in claims.items():
        assert claim["status"]["phase"] == "Bound"
        pv = get(snap, "persistentvolumes", "", claim["spec"]["volumeName"])
        assert pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert pv["spec"]["capacity"] == claim["status"]["capacity"]
        if claim["spec"]["storageClassName"] == "nfs-client":
            assert pv["spec"]["nfs"]["server"].startswith("192.168.1.")
            continue
        volume = longhorn.pop(name(pv))
        assert volume["status"]["kubernetesStatus"] == {
            "namespace": namespace, "pvcName": claim_name, "pvName": name(pv)}
        assert (volume["status"]["state"], volume["status"]["robustness"]) == ("attached",
                                                                               "healthy")
        size = int(volume["spec"]["size"])
        assert size == int(claim["spec"]["resources"]["requests"]["storage"][:-2]) * 2**30
        assert 0 < volume["status"]["actualSize"] < size
    assert longhorn == {}


def test_exactly_one_default_storage_class(snap: Snapshot) -> None:
    default = [name(sc) for sc in snap.items("storageclasses")
               if sc["metadata"].get("annotations", {}).get(
                   "storageclass.kubernetes.io/is-default-class") == "true"]
    assert default == ["longhorn"]
    assert {name(sc) for sc in snap.items("storageclasses")} == {"longhorn", "nfs-client",
                                                                 "local-path"}


def test_seven_ingresses_with_backends_and_tls(snap: Snapshot) -> None:
    hosts = {}
    for ingress in snap.items("ingresses"):
        namespace, spec = ingress["metadata"]["namespace"], ingress["spec"]
        [rule] = spec["rules"]
        backend = rule["http"]["paths"][0]["backend"]["service"]
        hosts[rule["host"]] = (namespace, backend["name"])
        assert spec["ingressClassName"] == "traefik"
        get(snap, "services", namespace, backend["name"])
        for tls in spec["tls"]:
            assert get(snap, "secrets", namespace, tls["secretName"])["type"] == "kubernetes.io/tls"
    assert hosts == {
        "grafana.stratdata.org": ("monitoring", "grafana"),
        "longhorn.stratdata.org": ("longhorn-system", "longhorn-frontend"),
        "loki.stratdata.org": ("logging", "loki"),
        "code.stratdata.org": ("dev-tools", "code-server"),
        "minio.stratdata.org": ("velero", "minio"),
        "minio-console.stratdata.org": ("velero", "minio-console"),
        "flower.stratdata.org": ("celery", "flower"),
    }


def test_wildcard_certificate_is_ready(snap: Snapshot) -> None:
    [cert] = snap.items("certificates")
    assert "*.stratdata.org" in cert["spec"]["dnsNames"]
    assert cert["spec"]["issuerRef"]["name"] == "letsencrypt-prod"
    assert cert["status"]["conditions"][0]["status"] == "True"
    assert parse_time(cert["status"]["notAfter"]) == DEMO_NOW + timedelta(days=60)
    assert parse_time(cert["status"]["renewalTime"]) == DEMO_NOW + timedelta(days=30)
    get(snap, "secrets", "cert-manager", cert["spec"]["secretName"])


# -- consistency ----------------------------------------------------------------------------

def test_deterministic(snap: Snapshot) -> None:
    again = demo_snapshot()
    assert again.collections == snap.collections
    assert demo_week2_snapshot().collections == demo_week2_snapshot().collections


def test_names_and_uids_are_unique(snap: Snapshot) -> None:
    for key, items in snap.collections.items():
        ids = [(o["metadata"].get("namespace", ""), name(o)) for o in items]
        assert len(ids) == len(set(ids)), key
    uids = [o["metadata"]["uid"] for items in snap.collections.values() for o in items
            if "uid" in o["metadata"]]
    assert len(uids) == len(set(uids))
    ips = [p["status"]["podIP"] for p in snap.items("pods") if not p["spec"].get("hostNetwork")]
    assert len(ips) == len(set(ips))


def test_every_owner_reference_resolves(snap: Snapshot) -> None:
    owned = [o for key in ("pods", "replicasets") for o in snap.items(key)]
    for item in owned:
        namespace = item["metadata"]["namespace"]
        for ref in item["metadata"].get("ownerReferences", []):
            assert ref["controller"] is True
            if ref["kind"] == "InstanceManager":  # a Longhorn resource the bot does not read
                assert namespace == "longhorn-system"
                continue
            owner = get(snap, KEY_OF_KIND[ref["kind"]], namespace, ref["name"])
            assert owner["metadata"]["uid"] == ref["uid"], name(item)


def test_every_selector_matches_pods_and_endpoints_agree(snap: Snapshot) -> None:
    for service in snap.items("services"):
        namespace, selector = service["metadata"]["namespace"], service["spec"].get("selector")
        if selector is None:
            assert name(service) == "kubernetes"
            continue
        running = [p for p in pods_in(snap, namespace, **selector)
                   if p["status"]["phase"] in ("Running", "Pending")]
        assert running, name(service)
        subsets = get(snap, "endpoints", namespace, name(service))["subsets"]
        ready = {a["targetRef"]["name"] for s in subsets for a in s.get("addresses", [])}
        assert ready == {name(p) for p in running if is_ready(p)}


PROBLEMS = {("Deployment", FS, "celery-worker"), ("Deployment", FS, "flower"),
            ("Deployment", "celery", "flower"), ("Deployment", "longhorn-system",
                                                  "csi-snapshotter")}


def test_nothing_else_is_unhealthy(snap: Snapshot) -> None:
    for key, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet")):
        for workload in snap.items(key):
            meta = workload["metadata"]
            if (kind, meta["namespace"], meta["name"]) not in PROBLEMS:
                status = workload["status"]
                assert status.get("readyReplicas") == workload["spec"]["replicas"], meta["name"]
    for ds in snap.items("daemonsets"):
        assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 8
        assert "numberUnavailable" not in ds["status"]
    for pod in snap.items("pods"):
        ref = snap.controller_of(pod)
        subject = (ref.kind, ref.namespace, ref.name) if ref else None
        if subject in PROBLEMS or pod["spec"]["restartPolicy"] == "Never":
            continue
        assert pod["status"]["phase"] == "Running" and is_ready(pod), name(pod)
        assert all(s["restartCount"] <= 2 for s in pod["status"]["containerStatuses"])
    warnings = {(e["involvedObject"]["kind"], e["involvedObject"]["namespace"])
                for e in snap.items("events") if e["type"] == "Warning"}
    assert warnings == {("Pod", FS), ("Pod", "celery"), ("Pod", "longhorn-system"),
                        ("Job", "databases")}
