"""Network health: Ingresses that route nowhere or lack their TLS secret, and Services with no
ready endpoint, told as the URL a user sees fail.

The question a homelab owner asks is "why is https://flower.stratdata.org down?". The answer is
usually a Service whose pods are not ready, an Ingress pointing at a Service that was renamed,
or a TLS secret that cert-manager has not issued yet. A Service gets one finding however many
Ingresses route to it, naming every URL that is down and the pods that keep it down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.analyzers.base import Context, check, finding, guarded, named, per_run, ref
from bot.analyzers.pods import pod_problem
from bot.analyzers.readers import Obj, condition, describe, finished, restart_count, unique
from bot.cluster.fields import as_dict, as_list, strings, text
from bot.cluster.snapshot import Snapshot
from bot.models import Finding, ObjectRef, Severity

AREA = "network"

INGRESS_BACKEND_MISSING = check(
    "INGRESS-BACKEND-MISSING", Severity.WARNING, AREA,
    "An Ingress routes to a Service, or a Service port, that does not exist",
)
INGRESS_TLS_SECRET_MISSING = check(
    "INGRESS-TLS-SECRET-MISSING", Severity.WARNING, AREA,
    "An Ingress names a TLS Secret that does not exist: a default certificate is served",
)
SERVICE_NO_ENDPOINTS = check(
    "SERVICE-NO-ENDPOINTS", Severity.WARNING, AREA,
    "A Service with a selector has no ready endpoint: every request to it fails",
)


@dataclass(frozen=True, slots=True)
class _Route:
    """One URL an Ingress serves and the Service port behind it."""

    url: str
    ingress: ObjectRef
    service: str
    port: Obj  # the Ingress's backend port: {"number": 80} or {"name": "http"}


def tls_entries(ingress: Obj) -> list[tuple[str, list[str]]]:
    """(secretName, hosts) per `spec.tls` entry; secretName is "" when the default is used."""
    return [(text(entry.get("secretName")), strings(entry.get("hosts")))
            for entry in as_list(as_dict(ingress.get("spec")).get("tls"))]


def _selector_text(selector: Obj) -> str:
    """A Service selector as `kubectl -l` takes it: app=flower,component=ui."""
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _selects(selector: Obj, pod: Obj) -> bool:
    labels = as_dict(as_dict(pod.get("metadata")).get("labels"))
    return all(labels.get(k) == v for k, v in selector.items())


def _covered(host: str, tls_hosts: list[str]) -> bool:
    """Whether a TLS entry covers a host, wildcards matching one label as browsers do."""
    return any(host == pattern or (pattern.startswith("*.") and host.count(".") ==
                                   pattern.count(".") and host.endswith(pattern[1:]))
               for pattern in tls_hosts)


def _url(host: str, path: object, tls_hosts: list[str]) -> str:
    if not host:
        return "(any host)"
    scheme = "https" if _covered(host, tls_hosts) else "http"
    suffix = path if isinstance(path, str) and path not in ("", "/") else ""
    return f"{scheme}://{host}{suffix}"


def _routes(ingress: Obj) -> list[_Route]:
    """Every (URL, Service) pair an Ingress declares, its default backend included."""
    spec, subject = as_dict(ingress.get("spec")), ref("Ingress", ingress)
    tls_hosts = [h for _, hosts in tls_entries(ingress) for h in hosts]
    backends = [("", None, as_dict(spec.get("defaultBackend")))]
    for rule in as_list(spec.get("rules")):
        backends += [(text(rule.get("host")), path.get("path"), as_dict(path.get("backend")))
                     for path in as_list(as_dict(rule.get("http")).get("paths"))]
    routes = []
    for host, path, backend in backends:
        service = as_dict(backend.get("service"))
        if isinstance(service.get("name"), str):
            routes.append(_Route(_url(host, path, tls_hosts), subject, service["name"],
                                 as_dict(service.get("port"))))
    return routes


def _routes_by_service(snapshot: Snapshot) -> dict[tuple[str, str], list[_Route]]:
    by_service: dict[tuple[str, str], list[_Route]] = defaultdict(list)
    for ingress in snapshot.items("ingresses"):
        for route in _routes(ingress):
            by_service[(route.ingress.namespace, route.service)].append(route)
    return by_service


@per_run
def _pods_by_namespace(ctx: Context) -> dict[str, dict[str, Obj]]:
    return _by_namespace(ctx.snapshot.items("pods"), "Pod")


@per_run
def _services_by_namespace(ctx: Context) -> dict[str, dict[str, Obj]]:
    return _by_namespace(ctx.snapshot.items("services"), "Service")


def _by_namespace(objects: Iterable[Obj], kind: str) -> dict[str, dict[str, Obj]]:
    """Objects by namespace, then by name, in snapshot order."""
    index: dict[str, dict[str, Obj]] = {}
    for obj in objects:
        subject = ref(kind, obj)
        index.setdefault(subject.namespace, {})[subject.name] = obj
    return index


# -- the analyzer ---------------------------------------------------------------------------

def analyze(ctx: Context) -> Iterable[Finding]:
    snapshot = ctx.snapshot
    yield from guarded("Ingress", snapshot.items("ingresses"), lambda ing: _ingress(ctx, ing))
    if snapshot.has("endpoints"):
        routes = _routes_by_service(snapshot)
        yield from guarded("Service", snapshot.items("services"),
                           lambda svc: _service(ctx, svc, routes))


def _ingress(ctx: Context, ingress: Obj) -> Iterator[Finding]:
    yield from _backends(ctx, ingress)
    if ctx.snapshot.has("secrets"):
        yield from _tls(ctx, ingress)


# -- Ingress backends -----------------------------------------------------------------------

def _port_problem(service: Obj, port: Obj) -> str:
    """Why a Service cannot serve the port an Ingress asks for; "" when it can."""
    ports = as_list(as_dict(service.get("spec")).get("ports"))
    wanted = port.get("number") or port.get("name")
    if wanted is None or any(wanted in (p.get("port"), p.get("name")) for p in ports):
        return ""
    offered = ", ".join(str(p.get("name") or p.get("port")) for p in ports) or "none"
    return f"Service {ref('Service', service).name} has no port {wanted} (it offers {offered})"


def _backends(ctx: Context, ingress: Obj) -> Iterator[Finding]:
    subject = named("Ingress", ingress)
    ns, name = subject.namespace, subject.name
    problems: dict[str, str] = {}  # url -> what is wrong behind it
    for route in _routes(ingress):
        service = ctx.snapshot.get("services", ns, route.service)
        problem = (f'Service "{route.service}" does not exist' if service is None
                   else _port_problem(service, route.port))
        if problem:
            problems.setdefault(route.url, problem)
    if not problems:
        return
    missing_service = any("does not exist" in p for p in problems.values())
    existing = sorted(name for name in _services_by_namespace(ctx).get(ns, {})
                      if name != "?")
    yield finding(
        INGRESS_BACKEND_MISSING, subject,
        reason="ServiceNotFound" if missing_service else "PortNotFound",
        title=f"Ingress {ns}/{name} routes to a missing "
              + ("Service" if missing_service else "Service port"),
        cause="; ".join(f"{url} → {problem}" for url, problem in problems.items())
              + ": the ingress controller answers 404 or 503 there.",
        evidence=(f"Services in {ns}: {', '.join(existing) or 'none'}",),
        recommendation=(f"Find the right name with `kubectl -n {ns} get svc`, then fix the "
                        f"backend: `kubectl -n {ns} edit ingress {name}`."),
        proposals=(describe(subject),),
    )


# -- Ingress TLS ----------------------------------------------------------------------------

def _tls(ctx: Context, ingress: Obj) -> Iterator[Finding]:
    subject = ref("Ingress", ingress)
    ns = subject.namespace
    missing: dict[str, list[str]] = {}  # secret name -> the hosts it should serve
    for secret, names in tls_entries(ingress):
        if secret and ctx.snapshot.get("secrets", ns, secret) is None:
            missing.setdefault(secret, []).extend(names)
    if not missing:
        return
    secrets, hosts = ", ".join(missing), ", ".join(unique(h for v in missing.values() for h in v))
    diagnoses = [_tls_diagnosis(ctx, ingress, secret) for secret in missing]
    yield finding(
        INGRESS_TLS_SECRET_MISSING, subject, reason="SecretNotFound",
        title=f"Ingress {ns}/{subject.name}: TLS secret {secrets} is missing",
        cause=" ".join([f"Secret {secrets} does not exist in {ns}: the ingress controller "
                        f"serves its default self-signed certificate for {hosts or 'its hosts'}, "
                        "which browsers reject.", *(cause for cause, _ in diagnoses if cause)]),
        evidence=(f"spec.tls secretName {secrets}", f"hosts {hosts}" if hosts else ""),
        recommendation=" ".join(unique(advice for _, advice in diagnoses)),
        proposals=(describe(subject),),
    )


def _tls_diagnosis(ctx: Context, ingress: Obj, secret: str) -> tuple[str, str]:
    """Who should create the secret (a Certificate, cert-manager's annotation, or a human)."""
    ns = ref("Ingress", ingress).namespace
    certificate = next((c for c in ctx.snapshot.items("certificates")
                        if ref("Certificate", c).namespace == ns
                        and as_dict(c.get("spec")).get("secretName") == secret), None)
    if certificate is not None:
        name = ref("Certificate", certificate).name
        ready = condition(certificate, "Ready")
        state = f"Ready={ready.get('status', 'Unknown')}" + (
            f" ({ready.get('reason')}: {ready.get('message')})" if ready.get("reason") else "")
        return (f"cert-manager Certificate {name} should write it; it is {state}.",
                f"`kubectl -n {ns} describe certificate {name}` and `kubectl -n {ns} get "
                "certificaterequests,orders,challenges` show where issuance stopped.")
    annotations = as_dict(as_dict(ingress.get("metadata")).get("annotations"))
    issuer = annotations.get("cert-manager.io/cluster-issuer") or \
        annotations.get("cert-manager.io/issuer")
    if issuer:
        return (f"cert-manager should create it from the Ingress annotation (issuer {issuer}).",
                f"`kubectl -n {ns} get certificate,certificaterequest` and "
                "`kubectl -n cert-manager logs deploy/cert-manager --tail=50`.")
    return ("", f"Create it: `kubectl -n {ns} create secret tls {secret} --cert=fullchain.pem "
                "--key=privkey.pem`, or copy your wildcard certificate's secret into "
                f"namespace {ns} (Ingress TLS secrets must be in the Ingress's namespace).")


# -- Services -------------------------------------------------------------------------------

def _addresses(endpoints: Obj | None) -> tuple[int, list[str]]:
    """Ready address count and the names of not-ready pods, from an Endpoints object."""
    subsets = (endpoints or {}).get("subsets")
    if subsets is not None and not isinstance(subsets, list):
        raise ValueError("Endpoints subsets is not a list")
    ready = sum(len(as_list(s.get("addresses"))) for s in as_list(subsets))
    not_ready = [str(as_dict(a.get("targetRef")).get("name") or a.get("ip"))
                 for s in as_list(subsets) for a in as_list(s.get("notReadyAddresses"))]
    return ready, unique(not_ready)


def _pod_state(pod: Obj) -> str:
    """Why a pod is not ready, in Kubernetes' words: "CrashLoopBackOff, 14 restarts"."""
    state = pod_problem(pod) or "NotReady"
    restarts = restart_count(pod)
    return f"{state}, {restarts} restarts" if restarts else state


@dataclass(frozen=True)
class _Backing:
    """The pods behind a Service with no ready endpoint, and what the Ingresses say of it."""

    selector: Obj
    failing: list[str]  # not-ready pods, from the Endpoints and the selector
    pods: dict[str, Obj]  # running or pending pods the selector matches, by name
    finished: list[str]  # Succeeded or Failed pods the selector matches
    urls: list[str]
    ingresses: list[str]


def _service(ctx: Context, service: Obj, routes: dict[tuple[str, str], list[_Route]]
             ) -> Iterator[Finding]:
    spec = as_dict(service.get("spec"))
    selector = spec.get("selector")
    if spec.get("type") == "ExternalName" or not isinstance(selector, dict) or not selector:
        return
    subject = named("Service", service)
    ns, name = subject.namespace, subject.name
    ready, not_ready = _addresses(ctx.snapshot.get("endpoints", ns, name))
    if ready:
        return
    backing = _backing(ctx, subject, selector, not_ready, routes.get((ns, name), []))
    down = backing.urls
    yield finding(
        SERVICE_NO_ENDPOINTS, subject, reason="NoReadyEndpoints",
        severity=Severity.INFO if backing.finished and not backing.failing and not down
        else None,
        title=(f"{' and '.join(down)} {'is' if len(down) == 1 else 'are'} down: " if down else "")
        + f"Service {ns}/{name} has no ready endpoint",
        cause=_no_endpoint_cause(ctx, backing)
        + (f" Routed by {', '.join(backing.ingresses)}." if backing.ingresses else ""),
        evidence=(f"Endpoints {ns}/{name}: 0 ready, {len(not_ready)} not ready",
                  f"selector {_selector_text(selector)}"),
        pods=backing.failing,
        recommendation=_no_endpoint_advice(subject, backing),
        proposals=(describe(subject),),
    )


def _backing(ctx: Context, service: ObjectRef, selector: Obj, not_ready: list[str],
             routes: list[_Route]) -> _Backing:
    matching = {name: pod for name, pod in _pods_by_namespace(ctx).get(
        service.namespace, {}).items() if _selects(selector, pod)}
    live = {name: pod for name, pod in matching.items() if not finished(pod)}
    return _Backing(
        selector, unique([*not_ready, *live]), live,
        [name for name in matching if name not in live],
        unique(r.url for r in routes), unique(str(r.ingress) for r in routes))


def _no_endpoint_cause(ctx: Context, backing: _Backing) -> str:
    text = _selector_text(backing.selector)
    if backing.failing:
        states = [f"{p} ({_pod_state(backing.pods[p])})" if p in backing.pods else p
                  for p in backing.failing]
        return f"Its pods ({text}) are not ready: {', '.join(states)}."
    if backing.finished:
        return (f"Only finished pods match its selector {text} "
                f"({', '.join(backing.finished)}): nothing serves it any more.")
    if ctx.snapshot.has("pods"):
        return (f"No pod matches its selector {text}: the workload is scaled to zero, was "
                "never created, or its labels differ.")
    return f"Its Endpoints list no ready address for selector {text}."


def _no_endpoint_advice(subject: ObjectRef, backing: _Backing) -> str:
    ns, text = subject.namespace, _selector_text(backing.selector)
    steps = [f"`kubectl -n {ns} get endpoints {subject.name}`",
             f"`kubectl -n {ns} get pods -l {text}`"]
    if backing.failing:
        pod = backing.failing[0]
        steps.append(f"see why {pod} is not ready: `kubectl -n {ns} describe pod {pod}`")
        if "restarts" in _pod_state(backing.pods.get(pod, {})):
            steps.append(f"`kubectl -n {ns} logs {pod} --previous`")
    elif backing.finished:
        steps.append("if the Job behind it is done, the Service is a leftover: "
                     f"`kubectl -n {ns} delete service {subject.name}`")
    else:
        steps.append(f"compare with the pods' labels: `kubectl -n {ns} get pods --show-labels`")
    return "; ".join(steps) + "."
