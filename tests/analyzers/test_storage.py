"""Storage analyzer: claims, volumes, the default StorageClass, Longhorn health and fill level."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.analyzers import storage
from bot.analyzers.base import CATALOGUE
from bot.analyzers.storage import pvc_usage
from bot.models import Severity

from .fixtures_util import (
    INFRA_NOW,
    analyze,
    assert_well_formed,
    edited,
    load,
    only,
    rebuild,
    summary,
)

HEALTHY = ("storage/healthy.json", "storage/longhorn-healthy.json")
PROBLEMS = ("storage/problems.json", "storage/longhorn-problems.json",
            "storage/problems-classes.json")
GI = 2**30

# Longhorn names volumes after the PV, "pvc-<uid of the claim>"; the fixtures derive them.
POSTGRES_VOLUME = "pvc-d9fdd920-c772-536b-a2a6-2c1b99d6bcde"
REDIS_VOLUME = "pvc-f30b7b10-f04a-565c-9dfe-040b287403a4"
RELEASED_PV = "pvc-7b2558f1-d559-5151-9a15-69c204628215"
FAILED_PV = "pvc-023366a6-0024-55dd-a0ac-293bf322a69c"
NO_EXPANSION = ("`kubectl patch storageclass local-path -p '{\"metadata\":{\"annotations\":"
                "{\"storageclass.kubernetes.io/is-default-class\":\"false\"}}}'`")


@pytest.mark.parametrize(("code", "severity"), [
    ("PVC-PENDING", Severity.WARNING), ("PVC-LOST", Severity.CRITICAL),
    ("PV-RELEASED", Severity.INFO), ("PV-FAILED", Severity.WARNING),
    ("STORAGECLASS-NO-DEFAULT", Severity.INFO),
    ("STORAGECLASS-MULTIPLE-DEFAULT", Severity.WARNING),
    ("LONGHORN-VOLUME-DEGRADED", Severity.WARNING),
    ("LONGHORN-VOLUME-FAULTED", Severity.CRITICAL), ("PVC-USAGE-HIGH", Severity.WARNING),
])
def test_checks_are_registered(code: str, severity: Severity) -> None:
    assert CATALOGUE[code].severity is severity
    assert CATALOGUE[code].area == "storage"


def test_healthy_storage_has_no_findings() -> None:
    # bound claims, one default class, healthy Longhorn volumes, and a WaitForFirstConsumer
    # claim that no pod uses yet (Pending by design)
    assert analyze(storage, load(*HEALTHY)) == []


def test_pvc_usage_reports_bytes_written_per_claim() -> None:
    assert pvc_usage(load(*HEALTHY)) == {
        ("databases", "data-postgresql-primary-0"): 6_442_450_944,
        ("databases", "data-postgresql-read-0"): 6_390_022_144,
        ("dev-tools", "codeserver-data"): 9_663_676_416,
        ("logging", "storage-loki-0"): 3_221_225_472,
        ("monitoring", "alertmanager-db"): 268_435_456,
        ("monitoring", "grafana"): 536_870_912,
        ("monitoring", "prometheus-db"): 7_516_192_768,
        ("redis", "redis-pvc"): 134_217_728,
    }


def test_problem_storage_findings() -> None:
    found = analyze(storage, load(*PROBLEMS))
    assert summary(found) == {
        ("PVC-PENDING", "warning", "databases/pg-archive"),
        ("PVC-PENDING", "warning", "apps/uploads"),
        ("PVC-PENDING", "warning", "apps/cache"),
        ("PVC-LOST", "critical", "velero/data-minio-0"),
        ("PV-RELEASED", "info", f"/{RELEASED_PV}"),
        ("PV-FAILED", "warning", f"/{FAILED_PV}"),
        ("STORAGECLASS-MULTIPLE-DEFAULT", "warning", "/local-path"),
        ("LONGHORN-VOLUME-DEGRADED", "warning", f"longhorn-system/{POSTGRES_VOLUME}"),
        ("LONGHORN-VOLUME-FAULTED", "critical", f"longhorn-system/{REDIS_VOLUME}"),
        ("PVC-USAGE-HIGH", "warning", "monitoring/prometheus-db"),
        ("PVC-USAGE-HIGH", "critical", "dev-tools/codeserver-data"),
        ("PVC-USAGE-HIGH", "critical", "monitoring/grafana"),
    }
    assert_well_formed(found)


# -- claims --------------------------------------------------------------------------------

def test_pending_claim_with_a_missing_class_quotes_provisioning_failed() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PVC-PENDING", "pg-archive")
    assert f.reason == "Pending"
    assert f.cause == ('databases/pg-archive is Pending since 3h: StorageClass "longhorn-ssd" '
                       "does not exist.")
    assert f.evidence == ("storageClassName longhorn-ssd",
                          'ProvisioningFailed ×214: storageclass.storage.k8s.io "longhorn-ssd" '
                          "not found")
    assert "`kubectl -n databases describe pvc pg-archive`" in f.recommendation
    assert "`kubectl get storageclass`" in f.recommendation


def test_pending_claim_names_the_provisioner_error_and_waiting_pods() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PVC-PENDING", "uploads")
    assert "the provisioner reports: failed to provision volume with StorageClass " \
           "\"longhorn\": rpc error: code = DeadlineExceeded" in f.cause
    assert f.pods == ("uploader-6b7c9d5f4-p8q2r",)
    assert f.evidence[1].startswith("ProvisioningFailed ×9:")  # the latest events
    assert "`kubectl -n longhorn-system logs -l app=csi-provisioner --tail=50`" \
           in f.recommendation


def test_pending_claim_without_events_still_names_its_provisioner() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PVC-PENDING", "cache")
    assert "no volume was created for it (provisioner driver.longhorn.io)" in f.cause
    assert f.evidence == ("storageClassName longhorn", "no events recorded for it")


@pytest.mark.parametrize(("after", "reported"), [(299, False), (300, True)])
def test_a_young_pending_claim_is_given_pending_seconds(after: int, reported: bool) -> None:
    created = INFRA_NOW - timedelta(seconds=30)  # "fresh" was created 30s before the dump
    now = created + timedelta(seconds=after)
    found = analyze(storage, load(*PROBLEMS), now=now)
    assert any(f.subject.name == "fresh" for f in found) is reported


def test_wait_for_first_consumer_claim_used_by_a_pod_is_reported() -> None:
    snapshot = load(*HEALTHY)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "ide-0", "namespace": "dev-tools"},
           "spec": {"volumes": [{"name": "scratch",
                                 "persistentVolumeClaim": {"claimName": "scratch"}}]},
           "status": {"phase": "Pending"}}
    f = only(analyze(storage, rebuild(snapshot, pods=[pod])), "PVC-PENDING", "scratch")
    assert f.pods == ("ide-0",)
    assert "`kubectl -n kube-system logs deploy/local-path-provisioner --tail=50`" \
           in f.recommendation


def test_lost_claim() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PVC-LOST")
    assert f.reason == "Lost"
    assert "PersistentVolume pvc-0b7d3c1e-9f2a-4b8e-a6d1-5c3e7f9a2b4d, which no longer " \
           "exists" in f.cause
    assert f.pods == ("minio-0",)
    assert f.evidence[1] == ("ClaimLost ×1: Bound claim has lost its PersistentVolume. Data "
                             "on the volume is lost!")
    assert "`kubectl -n velero describe pvc data-minio-0`" in f.recommendation


# -- volumes ---------------------------------------------------------------------------------

def test_released_retain_volume_suggests_cleanup_or_rebind() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PV-RELEASED")
    assert f.reason == "Released"
    assert f.cause.startswith("Released since 11d: default/old-nextcloud-data was deleted; "
                              "reclaimPolicy Retain keeps the 20Gi of data")
    assert f"`kubectl delete pv {RELEASED_PV}`" in f.recommendation
    assert "/spec/claimRef" in f.recommendation and f"volumeName: {RELEASED_PV}" \
        in f.recommendation


def test_released_delete_volume_is_left_to_its_provisioner() -> None:
    found = analyze(storage, load(*PROBLEMS))
    assert not [f for f in found if f.code == "PV-RELEASED" and f.subject.name != RELEASED_PV]


def test_failed_volume_quotes_its_message() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "PV-FAILED")
    assert "no deletable volume plugin matched" in f.cause
    assert "NFS 192.168.1.50:/volume1/k8s/media-jellyfin-cache" in f.evidence


# -- storage classes ---------------------------------------------------------------------------

def test_multiple_defaults_blame_k3s_local_path_with_the_exact_patch() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "STORAGECLASS-MULTIPLE-DEFAULT")
    assert f.title == "2 StorageClasses are marked default: local-path, longhorn"
    assert f.recommendation.startswith(f"Keep longhorn as the default and unmark {NO_EXPANSION}")
    assert "`--disable=local-storage`" in f.recommendation
    assert "longhorn: default, used by 6 claims" in f.evidence


def test_no_default_class_is_info_when_every_claim_names_one() -> None:
    found = analyze(storage, load("storage/no-default.json"))
    f = only(found, "STORAGECLASS-NO-DEFAULT")
    assert (f.severity, f.subject.kind) == (Severity.INFO, "Cluster")
    assert "`kubectl patch storageclass longhorn -p" in f.recommendation
    assert len(found) == 1


def test_no_default_class_is_a_warning_when_a_claim_names_none() -> None:
    found = analyze(storage, load("storage/no-default.json", "storage/classless-claim.json"))
    f = only(found, "STORAGECLASS-NO-DEFAULT")
    assert f.severity is Severity.WARNING
    assert "apps/wiki-data names no class" in f.cause
    pending = only(found, "PVC-PENDING", "wiki-data")
    assert "it names no StorageClass and none is marked default" in pending.cause
    assert "is-default-class\\\":\\\"true" not in pending.recommendation
    assert "is-default-class\":\"true\"" in pending.recommendation


def test_no_storage_classes_means_no_class_findings() -> None:
    snapshot = rebuild(load("storage/no-default.json"), storageclasses=[])
    assert analyze(storage, snapshot) == []


# -- Longhorn --------------------------------------------------------------------------------

def test_degraded_longhorn_volume_names_its_claim_and_why() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "LONGHORN-VOLUME-DEGRADED")
    assert f.title == (f"Longhorn volume {POSTGRES_VOLUME} (databases/data-postgresql-primary-0)"
                       " is degraded")
    assert "Fewer than its 3 replicas are healthy" in f.cause
    assert "ReplicaSchedulingFailure: precheck new replica failed: insufficient storage" \
           in f.cause
    assert f.pods == ("postgresql-primary-0",)
    assert f"-l longhornvolume={POSTGRES_VOLUME}" in f.recommendation
    # conditions that are normal when False are not listed as evidence
    assert not [e for e in f.evidence if e.startswith("Restore")]


def test_faulted_longhorn_volume() -> None:
    f = only(analyze(storage, load(*PROBLEMS)), "LONGHORN-VOLUME-FAULTED")
    assert f.reason == "Faulted"
    assert "(redis/redis-pvc) is faulted" in f.title
    assert "Salvage" in f.recommendation


def test_usage_names_the_claim_and_proposes_an_expansion() -> None:
    found = analyze(storage, load(*PROBLEMS))
    warning = only(found, "PVC-USAGE-HIGH", "prometheus-db")
    assert warning.title == "PVC monitoring/prometheus-db is 85% full"
    assert "holds 8.5Gi of 10Gi (85%)" in warning.cause
    assert "`kubectl -n monitoring exec prometheus-0 -- df -h`" in warning.recommendation
    critical = only(found, "PVC-USAGE-HIGH", "codeserver-data")
    assert ("`kubectl -n dev-tools patch pvc codeserver-data -p '{\"spec\":{\"resources\":"
            "{\"requests\":{\"storage\":\"45Gi\"}}}}'`") in critical.recommendation
    fixed_size = only(found, "PVC-USAGE-HIGH", "grafana")
    assert "StorageClass longhorn-static does not allow expansion" in fixed_size.recommendation


@pytest.mark.parametrize(("used", "severity"), [
    (9 * GI, "critical"),  # exactly 90%
    (9 * GI - 1, "warning"),
    (8 * GI, "warning"),  # exactly 80%
    (8 * GI - 1, None),
])
def test_usage_thresholds_at_their_boundaries(used: int, severity: str | None) -> None:
    snapshot = load(*HEALTHY)
    volumes, volume = edited(snapshot, "longhornvolumes", "pvc-531e4949-46e6-57e8-8538-"
                                                          "109c483530b0")  # prometheus-db, 10Gi
    volume["status"]["actualSize"] = used
    found = analyze(storage, rebuild(snapshot, longhornvolumes=volumes))
    assert [f.severity.value for f in found] == ([severity] if severity else [])


def test_without_longhorn_there_are_no_longhorn_findings() -> None:
    snapshot = load("storage/problems.json")
    assert snapshot.absent["longhornvolumes"] == "not installed"
    found = analyze(storage, snapshot)
    assert not [f for f in found if f.code.startswith("LONGHORN") or f.code == "PVC-USAGE-HIGH"]
    assert len(found) == 7
    assert pvc_usage(snapshot) == {}


# -- malformed objects -------------------------------------------------------------------------

def test_malformed_storage_objects_never_raise_and_other_findings_survive() -> None:
    found = analyze(storage, load("storage/malformed.json", "storage/malformed-longhorn.json"))
    assert summary(found) == {
        ("PVC-LOST", "critical", "apps/still-lost"),  # the well-formed control
        ("ANALYZER-ERROR", "info", "/?"),  # a Released volume with metadata null
        # spec null, but status says Failed: that much is readable
        ("PV-FAILED", "warning", "/pvc-ce314f7e-27a6-5f0e-802a-76199c7330ab"),
        # robustness is readable; conditions (a dict) and kubernetesStatus (a string) are not
        ("LONGHORN-VOLUME-DEGRADED", "warning",
         "longhorn-system/pvc-7ce2d55d-1cb5-5de7-9733-873992c7158e"),
    }
    assert_well_formed(found)


def test_pvc_usage_skips_unreadable_volumes() -> None:
    assert pvc_usage(load("storage/malformed-longhorn.json")) == {}
