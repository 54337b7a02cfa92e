"""The full analysis of the demo cluster finds exactly the seed report's problems.

The demo cluster is the seed report's homelab as API objects (bot.cluster.demo): every
analyzer runs on it through `bot.analyzers.analyze()`, as the bot does, and the findings must
be the report's issues (and its clean-up of completed test pods), with the figures the report
quotes, and nothing in the namespaces it calls healthy.
"""

from __future__ import annotations

import pytest

from bot.analyzers import analyze
from bot.cluster.demo import demo_snapshot
from bot.models import Finding, Severity

from .fixtures_util import only

HEALTHY_NAMESPACES = ("kube-system", "cert-manager", "traefik", "monitoring", "logging",
                      "nfs-provisioner", "velero", "redis", "dev-tools", "apps",
                      "kubernetes-dashboard")
FLOWER_PROBE = ("liveness probe (httpGet /healthcheck:5555, initialDelaySeconds 30, "
                "periodSeconds 10, timeoutSeconds 1, failureThreshold 3)")


@pytest.fixture(scope="module")
def found() -> list[Finding]:
    return analyze(demo_snapshot())


def test_exactly_the_seed_reports_problems(found):
    assert sorted((f.code, f.severity.value, f"{f.subject.namespace}/{f.subject.name}")
                  for f in found) == sorted([
        ("POD-IMAGE-NEVER-PULL", "warning", "financial-screener/celery-worker"),
        ("POD-CRASHLOOP", "warning", "celery/flower"),
        ("POD-CRASHLOOP", "warning", "financial-screener/flower"),
        ("SERVICE-NO-ENDPOINTS", "warning", "celery/flower"),
        ("SERVICE-NO-ENDPOINTS", "warning", "financial-screener/flower"),
        ("JOB-FAILED", "warning", "databases/test-data-load"),
        ("POD-LEFTOVER-FAILED", "info", "/financial-screener"),
        # The seed's clean-up: "keep completed jobs for reference or delete if not needed".
        ("POD-LEFTOVER-COMPLETED", "info", "/financial-screener"),
        ("POD-CRASHLOOP", "warning", "longhorn-system/csi-snapshotter"),
        ("NODE-MEMORY-HIGH", "info", "/pi-worker-03"),
    ])


def test_workers_never_pull_their_image_on_two_nodes(found):
    f = only(found, "POD-IMAGE-NEVER-PULL", "celery-worker")
    assert (f.reason, f.subject.kind) == ("ErrImageNeverPull", "Deployment")
    assert f.title == "celery-worker: 6/7 pods ErrImageNeverPull (1/7 available)"
    assert len(f.pods) == 6 and all(p.startswith("celery-worker-") for p in f.pods)
    assert "imagePullPolicy is Never" in f.cause
    assert "is not present on pi-worker-02, pi-worker-05" in f.cause
    assert "sudo k3s ctr images import" in f.recommendation


@pytest.mark.parametrize(("namespace", "failures", "kills"), [
    ("celery", 356, 118), ("financial-screener", 368, 122)])
def test_both_flowers_are_killed_by_their_liveness_probe(found, namespace, failures, kills):
    (f,) = [x for x in found if x.code == "POD-CRASHLOOP" and x.subject.namespace == namespace
            and x.subject.name == "flower"]
    assert f.title == "flower: 1/1 pods CrashLoopBackOff (0/1 available)"
    assert f"the {FLOWER_PROBE} failed {failures} times" in f.cause
    assert "the kubelet killed the container (exit code 137)" in f.cause
    assert any(e.startswith(f"Killing ×{kills}: Container flower failed liveness probe")
               for e in f.evidence)
    assert "startupProbe" in f.recommendation and "timeoutSeconds from 1 to 5" in f.recommendation


def test_flower_services_have_no_endpoint_and_the_url_is_down(found):
    celery, screener = (
        [f for f in found if f.code == "SERVICE-NO-ENDPOINTS" and f.subject.namespace == ns][0]
        for ns in ("celery", "financial-screener"))
    assert celery.title == ("https://flower.stratdata.org is down: Service celery/flower has no "
                            "ready endpoint")
    assert "Routed by Ingress celery/flower" in celery.cause
    assert "CrashLoopBackOff, 118 restarts" in celery.cause
    assert screener.title == "Service financial-screener/flower has no ready endpoint"
    assert "CrashLoopBackOff, 122 restarts" in screener.cause


def test_failed_test_job_names_its_pods(found):
    f = only(found, "JOB-FAILED", "test-data-load")
    assert (f.subject.namespace, f.reason) == ("databases", "BackoffLimitExceeded")
    assert f.pods == ("test-data-load-4sh6p", "test-data-load-dlfv5")


def test_leftover_failed_test_pods_are_exactly_the_seeds(found):
    f = only(found, "POD-LEFTOVER-FAILED", "financial-screener")
    assert f.pods == ("test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                      "test-fundamentals")
    assert ("kubectl delete pod -n financial-screener test-eodhd-complete test-eodhd-direct "
            "test-eodhd-final test-fundamentals") in f.recommendation


def test_busiest_node_memory_is_a_note(found):
    f = only(found, "NODE-MEMORY-HIGH", "pi-worker-03")
    assert f.severity is Severity.INFO
    assert f.title == "pi-worker-03 uses 54% of its memory, the highest in the cluster"
    assert "kubectl top node: 4377Mi (54%)" in f.evidence


def test_csi_snapshotter_two_of_three(found):
    f = only(found, "POD-CRASHLOOP", "csi-snapshotter")
    assert f.subject.namespace == "longhorn-system"
    assert f.title == "csi-snapshotter: 1/3 pods CrashLoopBackOff (2/3 available)"


@pytest.mark.parametrize("namespace", HEALTHY_NAMESPACES)
def test_nothing_in_the_healthy_namespaces(found, namespace):
    assert not [f for f in found if f.subject.namespace == namespace]


def test_celery_has_only_its_flower(found):
    assert {(f.code, f.subject.name) for f in found if f.subject.namespace == "celery"} == {
        ("POD-CRASHLOOP", "flower"), ("SERVICE-NO-ENDPOINTS", "flower")}
