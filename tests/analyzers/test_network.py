"""Network analyzer: Ingress backends and TLS secrets, Services without ready endpoints."""

from __future__ import annotations

import pytest

from bot.analyzers import network
from bot.analyzers.base import CATALOGUE
from bot.models import Severity

from .fixtures_util import analyze, assert_well_formed, edited, load, only, rebuild, summary

HEALTHY = ("network/healthy.json", "network/secrets.json")
PROBLEMS = ("network/problems.json", "network/problems-secrets.json")


@pytest.mark.parametrize("code", ["INGRESS-BACKEND-MISSING", "INGRESS-TLS-SECRET-MISSING",
                                  "SERVICE-NO-ENDPOINTS"])
def test_checks_are_registered(code: str) -> None:
    assert CATALOGUE[code].severity is Severity.WARNING
    assert CATALOGUE[code].area == "network"


def test_healthy_network_has_no_findings() -> None:
    # ingresses with existing backends and secrets, services with ready endpoints, a headless
    # Service, an ExternalName Service and a LoadBalancer
    assert analyze(network, load(*HEALTHY)) == []


def test_problem_network_findings() -> None:
    found = analyze(network, load(*PROBLEMS))
    assert summary(found) == {
        ("INGRESS-BACKEND-MISSING", "warning", "apps/wiki"),
        ("INGRESS-TLS-SECRET-MISSING", "warning", "monitoring/grafana"),
        ("INGRESS-TLS-SECRET-MISSING", "warning", "dev-tools/code-server"),
        ("SERVICE-NO-ENDPOINTS", "warning", "celery/flower"),
        ("SERVICE-NO-ENDPOINTS", "warning", "apps/wiki"),
        ("SERVICE-NO-ENDPOINTS", "info", "apps/exporter"),
    }
    # not reported: grafana (one ready endpoint of two), code-server (ready), an ExternalName
    # Service, and a selector-less Service whose Endpoints are managed by hand
    assert_well_formed(found)


# -- Services ----------------------------------------------------------------------------------

def test_a_down_service_is_one_finding_naming_every_url_and_the_failing_pod() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "SERVICE-NO-ENDPOINTS", "flower")
    assert f.title == ("https://flower.stratdata.org and http://flower.home.lan are down: "
                       "Service celery/flower has no ready endpoint")
    assert f.cause == ("Its pods (app=celery,component=flower) are not ready: "
                       "flower-7d9f8c6b5-x2kqp (CrashLoopBackOff, 14 restarts). "
                       "Routed by Ingress celery/flower, Ingress celery/flower-lan.")
    assert f.pods == ("flower-7d9f8c6b5-x2kqp",)
    assert f.evidence == ("Endpoints celery/flower: 0 ready, 1 not ready",
                          "selector app=celery,component=flower")
    assert "`kubectl -n celery get endpoints flower`" in f.recommendation
    assert "`kubectl -n celery logs flower-7d9f8c6b5-x2kqp --previous`" in f.recommendation


def test_a_selector_matching_no_pod_says_so() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "SERVICE-NO-ENDPOINTS", "wiki")
    assert f.title.startswith("https://wiki.stratdata.org/graphql is down:")
    assert "No pod matches its selector app=wiki" in f.cause
    assert "`kubectl -n apps get pods --show-labels`" in f.recommendation


def test_a_service_whose_pods_all_finished_is_a_leftover() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "SERVICE-NO-ENDPOINTS", "exporter")
    assert f.severity is Severity.INFO
    assert "Only finished pods match its selector app=exporter (exporter-run-8xk2p)" in f.cause
    assert "`kubectl -n apps delete service exporter`" in f.recommendation


def test_a_wildcard_tls_host_is_https() -> None:
    snapshot = load(*PROBLEMS)
    items, lan = edited(snapshot, "ingresses", "flower-lan")
    lan["spec"]["tls"] = [{"hosts": ["*.home.lan"], "secretName": "flower-tls"}]
    found = analyze(network, rebuild(snapshot, ingresses=items))
    assert "https://flower.home.lan" in only(found, "SERVICE-NO-ENDPOINTS", "flower").title


def test_without_endpoints_services_are_not_judged() -> None:
    snapshot = rebuild(load(*PROBLEMS), drop=["endpoints"])
    assert not [f for f in analyze(network, snapshot) if f.code == "SERVICE-NO-ENDPOINTS"]


def test_without_pods_the_endpoints_still_name_the_not_ready_pod() -> None:
    found = analyze(network, rebuild(load(*PROBLEMS), drop=["pods"]))
    flower = only(found, "SERVICE-NO-ENDPOINTS", "flower")
    assert "not ready: flower-7d9f8c6b5-x2kqp." in flower.cause
    wiki = only(found, "SERVICE-NO-ENDPOINTS", "wiki")
    assert "Its Endpoints list no ready address for selector app=wiki." in wiki.cause


# -- Ingresses ---------------------------------------------------------------------------------

def test_an_ingress_with_missing_backends_is_one_finding() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "INGRESS-BACKEND-MISSING")
    assert f.reason == "ServiceNotFound"
    assert f.cause == ('https://wiki.stratdata.org → Service "wikijs" does not exist; '
                       "https://wiki.stratdata.org/graphql → Service wiki has no port 8080 "
                       "(it offers http): the ingress controller answers 404 or 503 there.")
    assert f.evidence == ("Services in apps: exporter, wiki",)
    assert "`kubectl -n apps edit ingress wiki`" in f.recommendation


def test_a_wrong_port_alone_is_port_not_found() -> None:
    snapshot = load(*PROBLEMS)
    items, wiki = edited(snapshot, "ingresses", "wiki")
    wiki["spec"]["rules"][0]["http"]["paths"].pop(0)
    f = only(analyze(network, rebuild(snapshot, ingresses=items)), "INGRESS-BACKEND-MISSING")
    assert f.reason == "PortNotFound"
    assert f.title == "Ingress apps/wiki routes to a missing Service port"


def test_a_port_named_by_the_ingress_matches_the_service_port_name() -> None:
    # celery/flower routes to port {"name": "http"}, which the Service offers
    found = analyze(network, load(*PROBLEMS))
    assert not [f for f in found if f.code == "INGRESS-BACKEND-MISSING"
                and f.subject.namespace == "celery"]


def test_missing_tls_secret_that_cert_manager_should_issue() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "INGRESS-TLS-SECRET-MISSING", "grafana")
    assert f.reason == "SecretNotFound"
    assert "default self-signed certificate for grafana.stratdata.org" in f.cause
    assert "cert-manager should create it from the Ingress annotation (issuer " \
           "letsencrypt-prod)" in f.cause
    assert "`kubectl -n monitoring get certificate,certificaterequest`" in f.recommendation


def test_missing_tls_secret_names_the_certificate_that_should_write_it() -> None:
    snapshot = load(*PROBLEMS, "network/problems-certificates.json")
    f = only(analyze(network, snapshot), "INGRESS-TLS-SECRET-MISSING", "grafana")
    assert "cert-manager Certificate grafana-tls should write it; it is Ready=False " \
           "(DoesNotExist: Issuing certificate as Secret does not exist)." in f.cause
    assert "`kubectl -n monitoring describe certificate grafana-tls`" in f.recommendation


def test_missing_tls_secret_nobody_will_create() -> None:
    f = only(analyze(network, load(*PROBLEMS)), "INGRESS-TLS-SECRET-MISSING", "code-server")
    assert ("`kubectl -n dev-tools create secret tls code-tls --cert=fullchain.pem "
            "--key=privkey.pem`") in f.recommendation


@pytest.mark.parametrize("why", ["not installed", "forbidden"])
def test_tls_secrets_are_not_judged_when_secrets_cannot_be_read(why: str) -> None:
    snapshot = rebuild(load(*PROBLEMS), drop=["secrets"], absent={"secrets": why})
    found = analyze(network, snapshot)
    assert not [f for f in found if f.code == "INGRESS-TLS-SECRET-MISSING"]
    assert len(found) == 4


# -- malformed objects -------------------------------------------------------------------------

def test_malformed_network_objects_never_raise() -> None:
    found = analyze(network, load("network/malformed.json"))
    assert summary(found) == {
        ("ANALYZER-ERROR", "info", "apps/?"),  # a Service without a name
        ("ANALYZER-ERROR", "info", "apps/subsets-dict"),  # its Endpoints' subsets: a dict
        # among unreadable paths, one well-formed route to a missing Service
        ("INGRESS-BACKEND-MISSING", "warning", "apps/paths-bad"),
    }
    assert_well_formed(found)
