"""Certs analyzer: cert-manager Certificates not Ready, expiring and expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.analyzers import certs
from bot.analyzers.base import CATALOGUE, Thresholds
from bot.cluster.units import parse_time
from bot.models import Severity

from .fixtures_util import analyze, assert_well_formed, load, only, rebuild, summary

CERTS = "certs/certificates.json"
WILDCARD_EXPIRES = parse_time("2025-12-28T03:12:44Z")


@pytest.mark.parametrize(("code", "severity"), [
    ("CERT-NOT-READY", Severity.WARNING), ("CERT-EXPIRING", Severity.WARNING),
    ("CERT-EXPIRED", Severity.CRITICAL),
])
def test_checks_are_registered(code: str, severity: Severity) -> None:
    assert CATALOGUE[code].severity is severity
    assert CATALOGUE[code].area == "certs"


def test_certificate_findings() -> None:
    found = analyze(certs, load(CERTS))
    assert summary(found) == {
        ("CERT-EXPIRING", "warning", "monitoring/grafana-tls"),
        ("CERT-EXPIRING", "critical", "velero/minio-tls"),
        ("CERT-EXPIRED", "critical", "logging/loki-tls"),
        ("CERT-NOT-READY", "warning", "dev-tools/code-tls"),
    }  # the wildcard certificate, Ready with 70 days left, says nothing
    assert_well_formed(found)


def test_expiring_certificate_whose_renewal_is_failing() -> None:
    f = only(analyze(certs, load(CERTS)), "CERT-EXPIRING", "grafana-tls")
    assert f.reason == "Expiring"
    assert f.title == "Certificate monitoring/grafana-tls expires in 10d"
    assert "cert-manager should have renewed it 20d ago: renewal is failing." in f.cause
    assert "Let's Encrypt's rate limit was hit" in f.cause
    assert f.recommendation.startswith("Force a renewal: `cmctl renew grafana-tls -n monitoring`")
    assert "`kubectl -n monitoring describe certificate grafana-tls`" in f.recommendation
    assert "`kubectl describe clusterissuer letsencrypt-prod`" in f.recommendation


def test_expiring_certificate_names_the_urls_it_serves() -> None:
    found = analyze(certs, load(CERTS, "certs/ingresses.json"))
    minio = only(found, "CERT-EXPIRING", "minio-tls")
    assert minio.title == "Certificate velero/minio-tls expires in 44h"
    assert "https://minio.stratdata.org, https://minio-console.stratdata.org use it." \
           in minio.cause
    assert "serves https://minio.stratdata.org, https://minio-console.stratdata.org" \
           in minio.evidence


def test_expired_certificate_is_reported_once() -> None:
    found = analyze(certs, load(CERTS))
    f = only(found, "CERT-EXPIRED")
    assert f.reason == "Expired"
    assert f.title == "Certificate logging/loki-tls expired 30h ago"
    assert f.cause.startswith("It expired at 2025-10-18T06:00:00Z: clients refuse the connection.")
    # its Ready=False (Expired) condition would only repeat it
    assert not [x for x in found if x.code == "CERT-NOT-READY" and x.subject.name == "loki-tls"]


def test_not_ready_certificate_quotes_cert_manager() -> None:
    f = only(analyze(certs, load(CERTS)), "CERT-NOT-READY")
    assert f.reason == "DoesNotExist"
    assert f.title == "Certificate dev-tools/code-tls is not Ready since 2h"
    assert f.cause.startswith("Ready=False since 2h: DoesNotExist: Issuing certificate as Secret "
                              "does not exist. Last issuance: Failed:")
    assert "`kubectl -n dev-tools get certificaterequests,orders,challenges`" in f.recommendation


@pytest.mark.parametrize(("before_expiry", "expected"), [
    (timedelta(days=14, seconds=1), None),
    (timedelta(days=14), ("CERT-EXPIRING", "warning")),
    (timedelta(days=3, seconds=1), ("CERT-EXPIRING", "warning")),
    (timedelta(days=3), ("CERT-EXPIRING", "critical")),
    (timedelta(seconds=1), ("CERT-EXPIRING", "critical")),
    (timedelta(0), ("CERT-EXPIRED", "critical")),
])
def test_expiry_thresholds_at_their_boundaries(before_expiry: timedelta,
                                               expected: tuple[str, str] | None) -> None:
    assert WILDCARD_EXPIRES is not None
    found = analyze(certs, load(CERTS), now=WILDCARD_EXPIRES - before_expiry)
    wildcard = {(f.code, f.severity.value) for f in found
                if f.subject.name == "stratdata-wildcard"}
    assert wildcard == ({expected} if expected else set())


def test_the_expiry_window_comes_from_the_thresholds() -> None:
    found = analyze(certs, load(CERTS), thresholds=Thresholds(certificate_expiry_days=70))
    f = only(found, "CERT-EXPIRING", "stratdata-wildcard")
    assert f.severity is Severity.WARNING
    assert "cert-manager plans to renew it in 39d." in f.cause


@pytest.mark.parametrize("why", ["not installed", "forbidden"])
def test_no_certificate_crd_means_no_findings(why: str) -> None:
    snapshot = rebuild(load(CERTS, "certs/ingresses.json"), drop=["certificates"],
                       absent={"certificates": why})
    assert analyze(certs, snapshot) == []


def test_malformed_certificates_never_raise() -> None:
    found = analyze(certs, load("certs/malformed.json"))
    assert summary(found) == {
        ("ANALYZER-ERROR", "info", "apps/?"),  # no name
        ("CERT-EXPIRING", "warning", "apps/still-expiring"),  # the well-formed control
    }  # status null, conditions a dict, notAfter "next tuesday", spec a string: nothing
    assert_well_formed(found)
