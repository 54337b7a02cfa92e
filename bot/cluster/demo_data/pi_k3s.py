"""The demo cluster as data: an 8-node Raspberry Pi K3s homelab on 19 October 2025.

It reproduces the cluster of `seed-report.md` (the hand-written report clusterbot must be able
to write by itself), with its problems as evidence rather than prose:

- financial-screener/celery-worker: 6 of 7 pods ErrImageNeverPull (pull policy Never, the
  image imported on pi-worker-04 only; the six were scheduled on pi-worker-02 and -05);
- celery/flower and financial-screener/flower: CrashLoopBackOff, killed by a liveness probe
  with a 1 s timeout; the flower.stratdata.org Ingress therefore has no ready backend;
- databases/test-data-load: a Job failed with BackoffLimitExceeded (pods -4sh6p and -dlfv5);
- four bare test pods in financial-screener that failed with exit code 1;
- longhorn-system/csi-snapshotter: 2 of 3 available, the third crash-looping.

Ages are at the first snapshot (`bot.cluster.demo.DEMO_NOW`); `week2_*` give the next week.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.cluster.demo_data.model import (
    COMPLETED,
    FAILED,
    App,
    Claim,
    NodeSpec,
    Probe,
    Route,
    State,
    StorageClassSpec,
    days,
    hexdigits,
    hours,
    svc,
    uid,
)

K3S = days(149)
DOMAIN = "stratdata.org"

# -- nodes: usage is what `kubectl top node` printed in the seed report -----------------------

_USAGE = {"pi-master": (185, 3065), "pi-worker-01": (88, 2028), "pi-worker-02": (97, 1752),
          "pi-worker-03": (119, 4377), "pi-worker-04": (107, 2119), "pi-worker-05": (90, 2807),
          "pi-worker-06": (84, 2822), "pi-worker-07": (182, 3450)}
_COMPUTE = ("pi-worker-02", "pi-worker-04", "pi-worker-05")  # labelled for the screener
COMPUTE_POOL = {"stratdata.org/pool": "compute"}

NODES = tuple(
    NodeSpec(name, f"192.168.1.{240 + i}", cpu, memory, control_plane=(i == 0),
             labels=COMPUTE_POOL if name in _COMPUTE else {})
    for i, (name, (cpu, memory)) in enumerate(_USAGE.items())
)
NODE_NAMES = tuple(n.name for n in NODES)
LB_IPS = tuple(n.ip for n in NODES)  # K3s ServiceLB answers on every node

NAMESPACES = {
    "default": K3S, "kube-system": K3S, "kube-public": K3S, "kube-node-lease": K3S,
    "cert-manager": days(120), "traefik": K3S, "longhorn-system": days(90),
    "monitoring": days(60), "logging": days(30), "nfs-provisioner": days(60),
    "velero": hours(13), "redis": hours(10), "celery": hours(10), "databases": days(14),
    "dev-tools": days(45), "financial-screener": days(3), "apps": days(20),
    "kubernetes-dashboard": K3S,
}

# -- workloads --------------------------------------------------------------------------------

FLOWER_PROBE = Probe("/healthcheck", 5555, initial=30, period=10, timeout=1, failures=3)
FIXED_FLOWER_PROBE = Probe("/healthcheck", 5555, initial=60, period=20, timeout=5, failures=3)


def crashing_on_probe(restarts: int) -> State:
    """Killed by its liveness probe (SIGKILL: exit 137) over and over."""
    return State("Running", "CrashLoopBackOff", exit_code=137, restarts=restarts, liveness=True)


def flower(namespace: str, labels: dict[str, str], restarts: int, age: timedelta) -> App:
    return App(namespace, "flower", "mher/flower:2.0.1", age=age, labels=labels,
               memory="128Mi", memory_limit="256Mi", ports=(5555,), liveness=FLOWER_PROBE,
               readiness=FLOWER_PROBE, services=(svc("flower", "5555"),),
               nodes=("pi-worker-06",), states=(crashing_on_probe(restarts),))


LH, LH_NS, LH_TAG = days(90), "longhorn-system", "v1.7.2"
LH_MANAGER = f"longhornio/longhorn-manager:{LH_TAG}"
_CSI = {"csi-attacher": "v4.7.0", "csi-provisioner": "v4.0.1-20241007",
        "csi-resizer": "v1.12.0", "csi-snapshotter": "v7.0.2-20241007"}
SNAPSHOTTER_DOWN = State("Running", "CrashLoopBackOff", exit_code=1, restarts=37, since=days(2),
                         message="error connecting to CSI driver: context deadline exceeded")

MON, FS = days(60), "financial-screener"
FS_WORKER = "financial-screener/celery-worker:latest"
NEVER_PULLED = State("Pending", "ErrImageNeverPull")
TEST_IMAGE = "python:3.11-slim"
CELERY_APP = "ghcr.io/stratdata/celery-app:0.1.0"
POSTGRES = "bitnami/postgresql:16.4.0"
SVCLB = f"svclb-traefik-{uid('Service', 'traefik', 'traefik')[:8]}"
KLIPPER = "rancher/klipper-lb:v0.4.9"
MINIO = "minio/minio:RELEASE.2024-11-07T00-52-20Z"
VELERO = "velero/velero:v1.15.0"

APPS: tuple[App, ...] = (
    # kube-system: what K3s ships
    App("kube-system", "coredns", "rancher/mirrored-coredns-coredns:1.12.0",
        labels={"k8s-app": "kube-dns"}, cpu="100m", memory="70Mi", memory_limit="170Mi",
        ports=(53, 9153), liveness=Probe("/health", 8080, initial=60, timeout=1),
        readiness=Probe("/ready", 8181, initial=0, period=2),
        services=(svc("kube-dns", "53/UDP", "53/TCP", "9153", cluster_ip="10.43.0.10"),),
        nodes=("pi-master",), priority="system-cluster-critical"),
    App("kube-system", "metrics-server", "rancher/mirrored-metrics-server:v0.7.2",
        labels={"k8s-app": "metrics-server"}, cpu="100m", memory="70Mi", ports=(10250,),
        readiness=Probe("/readyz", 10250, initial=0, period=2),
        services=(svc("metrics-server", "443:10250"),), nodes=("pi-master",),
        priority="system-node-critical"),
    App("kube-system", "local-path-provisioner", "rancher/local-path-provisioner:v0.0.30",
        cpu=None, nodes=("pi-master",), priority="system-node-critical"),
    App("kube-system", SVCLB, KLIPPER, kind="DaemonSet", cpu=None, ports=(80, 443),
        container="lb-tcp-80", sidecars=(("lb-tcp-443", KLIPPER),),
        labels={"svccontroller.k3s.cattle.io/svcname": "traefik",
                "svccontroller.k3s.cattle.io/svcnamespace": "traefik"}),
    App("traefik", "traefik", "traefik:v3.2.1", cpu="100m", memory="128Mi",
        memory_limit="512Mi", ports=(8000, 8443, 8080),
        labels={"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik"},
        liveness=Probe("/ping", 8080, initial=2, timeout=2),
        readiness=Probe("/ping", 8080, initial=2, timeout=2),
        services=(svc("traefik", "80:8000", "443:8443", type="LoadBalancer"),),
        nodes=("pi-master",)),
    # cert-manager
    App("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.16.2",
        age=days(120), container="cert-manager-controller", ports=(9402,),
        services=(svc("cert-manager", "9402"),)),
    App("cert-manager", "cert-manager-cainjector",
        "quay.io/jetstack/cert-manager-cainjector:v1.16.2", age=days(120)),
    App("cert-manager", "cert-manager-webhook", "quay.io/jetstack/cert-manager-webhook:v1.16.2",
        age=days(120), ports=(10250,), readiness=Probe("/healthz", 6080, initial=5, period=5),
        services=(svc("cert-manager-webhook", "443:10250"),)),
    # longhorn-system: a manager, CSI plugin, engine image and instance manager on every node
    App(LH_NS, "longhorn-manager", LH_MANAGER, kind="DaemonSet", age=LH, ports=(9500,),
        memory="128Mi", memory_limit="512Mi", readiness=Probe("/v1/healthz", 9501, period=10),
        services=(svc("longhorn-backend", "9500"),)),
    App(LH_NS, "longhorn-csi-plugin", LH_MANAGER, kind="DaemonSet", age=LH,
        container="longhorn-csi-plugin",
        sidecars=(("node-driver-registrar", "longhornio/csi-node-driver-registrar:v2.12.0"),
                  ("longhorn-liveness-probe", "longhornio/livenessprobe:v2.14.0"))),
    App(LH_NS, "engine-image-ei-51cc7b9c", f"longhornio/longhorn-engine:{LH_TAG}",
        kind="DaemonSet", age=LH, container="engine-image-ei-51cc7b9c", cpu=None),
    *(App(LH_NS, f"instance-manager-{hexdigits('im', node, length=32)}",
          f"longhornio/longhorn-instance-manager:{LH_TAG}", kind="Pod", age=LH,
          container="instance-manager", cpu="480m", memory="256Mi", memory_limit="1Gi",
          labels={"longhorn.io/component": "instance-manager", "longhorn.io/node": node},
          owner=("longhorn.io/v1beta2", "InstanceManager"), nodes=(node,))
      for node in NODE_NAMES),
    *(App(LH_NS, name, f"longhornio/{name}:{tag}", replicas=3, age=LH,
          states=(None, None, SNAPSHOTTER_DOWN) if name == "csi-snapshotter" else ())
      for name, tag in _CSI.items()),
    App(LH_NS, "longhorn-ui", f"longhornio/longhorn-ui:{LH_TAG}", replicas=2, age=LH,
        ports=(8000,), services=(svc("longhorn-frontend", "80:8000"),)),
    App(LH_NS, "longhorn-driver-deployer", LH_MANAGER, age=LH),
    # monitoring
    App("monitoring", "prometheus", "quay.io/prometheus/prometheus:v2.55.1", kind="StatefulSet",
        age=MON, cpu="200m", memory="768Mi", memory_limit="1536Mi", ports=(9090,),
        liveness=Probe("/-/healthy", 9090, initial=30, timeout=5),
        readiness=Probe("/-/ready", 9090, initial=5, timeout=5), claims=("prometheus-db",),
        services=(svc("prometheus", "9090"),), nodes=("pi-worker-03",)),
    App("monitoring", "alertmanager", "quay.io/prometheus/alertmanager:v0.27.0",
        kind="StatefulSet", age=MON, ports=(9093,), readiness=Probe("/-/ready", 9093),
        claims=("alertmanager-db",), services=(svc("alertmanager", "9093"),)),
    App("monitoring", "grafana", "grafana/grafana:11.3.1", age=MON, cpu="100m",
        memory="256Mi", memory_limit="512Mi", ports=(3000,),
        readiness=Probe("/api/health", 3000), claims=("grafana",),
        services=(svc("grafana", "80:3000"),), nodes=("pi-worker-03",)),
    App("monitoring", "kube-state-metrics",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0", age=MON,
        ports=(8080,), services=(svc("kube-state-metrics", "8080"),)),
    App("monitoring", "node-exporter", "quay.io/prometheus/node-exporter:v1.8.2",
        kind="DaemonSet", age=MON, memory="32Mi", memory_limit="64Mi", ports=(9100,),
        host_network=True, services=(svc("node-exporter", "9100"),)),
    # logging
    App("logging", "loki", "grafana/loki:3.2.1", kind="StatefulSet", age=days(30),
        memory="256Mi", memory_limit="1Gi", ports=(3100,), readiness=Probe("/ready", 3100),
        claims=("loki-storage",), services=(svc("loki", "3100"),)),
    App("logging", "promtail", "grafana/promtail:3.2.1", kind="DaemonSet", age=days(30),
        ports=(3101,), readiness=Probe("/ready", 3101)),
    App("nfs-provisioner", "nfs-subdir-external-provisioner",
        "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2", age=days(60)),
    # velero: backups to MinIO on the NAS
    App("velero", "velero", VELERO, age=hours(13), cpu="100m", memory="128Mi",
        memory_limit="512Mi", ports=(8085,), services=(svc("velero", "8085"),)),
    App("velero", "node-agent", VELERO, kind="DaemonSet", age=hours(13), container="node-agent"),
    App("velero", "minio", MINIO, age=hours(13), memory="256Mi", memory_limit="1Gi",
        ports=(9000, 9001), liveness=Probe("/minio/health/live", 9000),
        claims=("minio", "velero-backups"),
        services=(svc("minio", "9000"), svc("minio-console", "9001"))),
    # redis and celery, deployed today
    App("redis", "redis", "redis:7.2-alpine", age=hours(10), memory="128Mi",
        memory_limit="256Mi", ports=(6379,), liveness=Probe(None, 6379, initial=15),
        claims=("redis-pvc",), services=(svc("redis", "6379"),), nodes=("pi-worker-01",)),
    App("celery", "worker", CELERY_APP, replicas=2, age=hours(10), memory="256Mi",
        memory_limit="512Mi", labels={"app": "celery", "component": "worker"}),
    App("celery", "beat", CELERY_APP, age=hours(10),
        labels={"app": "celery", "component": "beat"}),
    flower("celery", {"app": "celery", "component": "flower"}, 118, hours(10)),
    # databases
    *(App("databases", name, POSTGRES, kind="StatefulSet", age=days(14), cpu="250m",
          memory="256Mi", memory_limit="1Gi", ports=(5432,), container="postgresql",
          readiness=Probe(None, 5432, initial=5), claims=(name,),
          services=(svc(name, "5432"),), nodes=(node,))
      for name, node in (("postgresql-primary", "pi-worker-03"),
                         ("postgresql-read", "pi-worker-07"))),
    App("databases", "test-data-load", POSTGRES, kind="Job", replicas=2, age=hours(3),
        container="psql", states=(FAILED, FAILED),
        pod_names=("test-data-load-4sh6p", "test-data-load-dlfv5")),
    App("dev-tools", "code-server", "codercom/code-server:4.95.3", age=days(45),
        memory="512Mi", memory_limit="2Gi", ports=(8080,), readiness=Probe("/healthz", 8080),
        claims=("codeserver-data",), services=(svc("code-server", "8080"),)),
    # financial-screener: the image was imported into containerd on pi-worker-04 only
    App(FS, "celery-worker", FS_WORKER, replicas=7, age=hours(12), pull="Never",
        memory="256Mi", memory_limit="512Mi", node_selector=COMPUTE_POOL,
        labels={"app": "financial-screener", "component": "worker"},
        nodes=("pi-worker-04",) + ("pi-worker-02",) * 3 + ("pi-worker-05",) * 3,
        states=(None,) + (NEVER_PULLED,) * 6),
    flower(FS, {"app": "financial-screener", "component": "flower"}, 122, hours(11)),
    *(App(FS, name, TEST_IMAGE, kind="Pod", age=hours(20 + 2 * i), states=(FAILED,))
      for i, name in enumerate(("test-eodhd-complete", "test-eodhd-direct",
                                "test-eodhd-final", "test-fundamentals"))),
    *(App(FS, name, TEST_IMAGE, kind="Pod", age=hours(30 + i), states=(COMPLETED,))
      for i, name in enumerate(("test-redis-connection", "test-db-connection",
                                "test-celery-ping"))),
    App(FS, "bulk-load", TEST_IMAGE, kind="Job", age=days(1), memory="256Mi"),
    App(FS, "data-collector", TEST_IMAGE, kind="Job", age=hours(20)),
    App("kubernetes-dashboard", "kubernetes-dashboard", "kubernetesui/dashboard:v2.7.0",
        ports=(8443,), liveness=Probe("/", 8443, initial=30, timeout=30),
        services=(svc("kubernetes-dashboard", "443:8443"),)),
    App("kubernetes-dashboard", "dashboard-metrics-scraper", "kubernetesui/metrics-scraper:v1.0.8",
        ports=(8000,), services=(svc("dashboard-metrics-scraper", "8000"),)),
)

# -- storage ----------------------------------------------------------------------------------

NFS_SERVER, NFS_PATH = "192.168.1.20", "/volume1/k8s"  # the Synology DS118

STORAGE_CLASSES = (
    StorageClassSpec("longhorn", "driver.longhorn.io", LH, default=True,
                     parameters={"numberOfReplicas": "3", "staleReplicaTimeout": "30",
                                 "fromBackup": "", "fsType": "ext4",
                                 "dataLocality": "disabled"}),
    StorageClassSpec("nfs-client", "cluster.local/nfs-subdir-external-provisioner", days(60),
                     reclaim="Retain", parameters={"server": NFS_SERVER, "path": NFS_PATH,
                                                   "archiveOnDelete": "true"}),
    StorageClassSpec("local-path", "rancher.io/local-path", K3S, parameters={},
                     binding="WaitForFirstConsumer", expansion=False),
)

CLAIMS = (
    Claim("databases", "postgresql-primary", 20, 3.4, days(14)),
    Claim("databases", "postgresql-read", 20, 3.3, days(14)),
    Claim("dev-tools", "codeserver-data", 30, 6.1, days(45)),
    Claim("logging", "loki-storage", 10, 4.2, days(30)),
    Claim("monitoring", "alertmanager-db", 5, 0.1, MON, replicas=2),
    Claim("monitoring", "grafana", 5, 0.4, MON, replicas=2),
    Claim("monitoring", "prometheus-db", 10, 7.6, MON),
    Claim("redis", "redis-pvc", 5, 0.1, hours(10)),
    Claim("velero", "minio", 500, 0, hours(13), "nfs-client", "ReadWriteMany"),
    Claim("velero", "velero-backups", 500, 0, hours(13), "nfs-client", "ReadWriteMany"),
)

# -- ingress and certificates -----------------------------------------------------------------

ROUTES = (
    Route(f"grafana.{DOMAIN}", "monitoring", "grafana", 80, MON),
    Route(f"longhorn.{DOMAIN}", LH_NS, "longhorn-frontend", 80, LH),
    Route(f"loki.{DOMAIN}", "logging", "loki", 3100, days(30)),
    Route(f"code.{DOMAIN}", "dev-tools", "code-server", 8080, days(45)),
    Route(f"minio.{DOMAIN}", "velero", "minio", 9000, hours(13)),
    Route(f"minio-console.{DOMAIN}", "velero", "minio-console", 9001, hours(13)),
    Route(f"flower.{DOMAIN}", "celery", "flower", 5555, hours(10)),
)

# One wildcard certificate in cert-manager; reflector copies its secret where Ingresses need it.
WILDCARD_CERT = "wildcard-stratdata-org"
WILDCARD_SECRET = "wildcard-stratdata-org-tls"
CLUSTER_ISSUER = "letsencrypt-prod"
CERT_ISSUED = days(30)  # Let's Encrypt: 90 days, renewed 30 days before the end

SECRETS = (  # (namespace, name, type) besides the wildcard's copies
    ("cert-manager", "letsencrypt-prod-account-key", "Opaque"),
    ("cert-manager", "cloudflare-api-token", "Opaque"),
    ("cert-manager", "cert-manager-webhook-ca", "kubernetes.io/tls"),
    ("longhorn-system", "longhorn-webhook-tls", "kubernetes.io/tls"),
    ("databases", "postgresql", "Opaque"),
    ("kubernetes-dashboard", "kubernetes-dashboard-certs", "Opaque"),
)

# -- a week later -----------------------------------------------------------------------------

LINK_CHECKER = App(
    "apps", "link-checker", "ghcr.io/stratdata/link-checker:0.2.0", age=days(-2),
    states=(State("Running", "CrashLoopBackOff", exit_code=1, restarts=1391,
                  message="KeyError: 'TARGET_URLS'"),),
)


def week2_apps() -> tuple[App, ...]:
    """Celery's Flower fixed (longer probe timeout, rolled out 4 days after the first report)
    and a new app, link-checker, crash-looping since two days after it."""
    def fix(app: App) -> App:
        if (app.namespace, app.name) != ("celery", "flower"):
            return app
        return replace(app, liveness=FIXED_FLOWER_PROBE, readiness=FIXED_FLOWER_PROBE,
                       states=(), rollout=days(-4), generation=2)

    return (*map(fix, APPS), LINK_CHECKER)


def week2_claims() -> tuple[Claim, ...]:
    """prometheus-db expanded from 10Gi to 20Gi (it was three quarters full), and grown."""
    return tuple(replace(c, size_gi=20, used_gi=11.9) if c.name == "prometheus-db" else c
                 for c in CLAIMS)
