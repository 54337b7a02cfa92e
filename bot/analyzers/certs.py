"""cert-manager Certificates: not Ready, expiring, expired.

HTTPS for every homelab service usually hangs on one Let's Encrypt certificate that
cert-manager renews weeks before it expires. When renewal fails quietly (a revoked DNS-01
token, a rate limit) the first visible sign is every browser refusing every site; a
Certificate that is not Ready, or already inside the expiry window (so its renewal has failed),
gives days of warning instead. Without the cert-manager CRD there is nothing to check and
nothing is reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator

from bot.analyzers.base import Context, check, finding, guarded, named, ref
from bot.analyzers.network import tls_entries
from bot.analyzers.readers import Obj, condition, describe, shorten, since, words
from bot.cluster.fields import as_dict, text
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import format_age, parse_time
from bot.models import Finding, ObjectRef, Severity

AREA = "certs"

CERT_NOT_READY = check(
    "CERT-NOT-READY", Severity.WARNING, AREA,
    "A cert-manager Certificate is not Ready: it was not issued or not renewed",
)
CERT_EXPIRING = check(
    "CERT-EXPIRING", Severity.WARNING, AREA,
    "A certificate expires within the expiry window (critical within 3 days)",
)
CERT_EXPIRED = check(
    "CERT-EXPIRED", Severity.CRITICAL, AREA,
    "A certificate has expired: clients reject it",
)

CRITICAL_DAYS = 3
_DAY = 86400


def analyze(ctx: Context) -> Iterable[Finding]:
    if not ctx.snapshot.has("certificates"):
        return
    served = _served_urls(ctx.snapshot)
    yield from guarded("Certificate", ctx.snapshot.items("certificates"),
                       lambda cert: _certificate(ctx, cert, served))


def _served_urls(snapshot: Snapshot) -> dict[tuple[str, str], list[str]]:
    """The https:// URLs each (namespace, TLS secret) serves, from the Ingresses."""
    served: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ingress in snapshot.items("ingresses"):
        namespace = ref("Ingress", ingress).namespace
        for secret, hosts in tls_entries(ingress):
            urls = served[(namespace, secret)]
            urls.extend(f"https://{h}" for h in hosts if f"https://{h}" not in urls)
    return served


def _certificate(ctx: Context, cert: Obj, served: dict[tuple[str, str], list[str]]
                 ) -> Iterator[Finding]:
    subject = named("Certificate", cert)
    secret = str(as_dict(cert.get("spec")).get("secretName") or "")
    urls = served.get((subject.namespace, secret), [])
    yield from _readiness(ctx, cert, subject, urls)
    yield from _expiry(ctx, cert, subject, urls)


def _facts(cert: Obj, urls: list[str]) -> list[str]:
    """Evidence every certificate finding carries: names, secret, issuer, expiry, users."""
    spec, status = as_dict(cert.get("spec")), as_dict(cert.get("status"))
    issuer = as_dict(spec.get("issuerRef"))
    listed = spec.get("dnsNames")
    names = [n for n in (listed if isinstance(listed, list) else [spec.get("commonName")])
             if isinstance(n, str)]
    return [f"dnsNames {', '.join(names)}" if names else "",
            f"secret {spec.get('secretName')}" if spec.get("secretName") else "",
            f"issuer {issuer.get('kind', 'Issuer')}/{issuer.get('name')}" if issuer else "",
            f"notAfter {status.get('notAfter')}" if status.get("notAfter") else "",
            f"renewalTime {status.get('renewalTime')}" if status.get("renewalTime") else "",
            f"serves {', '.join(urls)}" if urls else ""]


# Substrings of cert-manager's failure messages, and what they mean.
_ISSUE_HINTS = (
    ("rateLimited", "Let's Encrypt's rate limit was hit: retries fail until its window passes; "
                    "test changes against the letsencrypt-staging issuer"),
    ("DNS problem", "the ACME server cannot resolve the name: check the DNS record"),
    ("propagation check failed", "the challenge record or URL is not reachable from the "
                                 "internet yet: check DNS and port 80 forwarding"),
)


def _issuing(cert: Obj) -> str:
    """cert-manager's account of the last failed issuance, with what it means when known."""
    issuing = condition(cert, "Issuing")
    message = text(issuing.get("message"))
    if issuing.get("status") == "True" or not message:
        return ""
    hint = next((f" ({h})" for needle, h in _ISSUE_HINTS if needle in message), "")
    return f" Last issuance: {issuing.get('reason')}: {shorten(message)}{hint}."


def _advice(cert: Obj, subject: ObjectRef, first: str) -> str:
    ns, name = subject.namespace, subject.name
    issuer = as_dict(as_dict(cert.get("spec")).get("issuerRef"))
    kind = str(issuer.get("kind") or "Issuer")
    issuer_cmd = (f"; check the issuer: `kubectl describe {kind.lower()} "
                  + ("" if kind == "ClusterIssuer" else f"-n {ns} ")
                  + f"{issuer.get('name')}`") if issuer.get("name") else ""
    return (f"{first}`kubectl -n {ns} describe certificate {name}` and `kubectl -n {ns} get "
            f"certificaterequests,orders,challenges` show where issuance stops{issuer_cmd}.")


def _readiness(ctx: Context, cert: Obj, subject: ObjectRef, urls: list[str]
               ) -> Iterator[Finding]:
    ready = condition(cert, "Ready")
    if not ready or ready.get("status") == "True" or _left(ctx, cert) <= 0:
        return  # an expired certificate is reported as CERT-EXPIRED, not twice
    reason = str(ready.get("reason") or "NotReady")
    when = since(ctx.now, ready.get("lastTransitionTime"))
    state = words(f"Ready={ready.get('status')}", when)
    yield finding(
        CERT_NOT_READY, subject, reason=reason,
        title=words(f"Certificate {subject.namespace}/{subject.name} is not Ready", when),
        cause=(f"{state}: {reason}: "
               f"{text(ready.get('message')).rstrip('.') or 'no message'}.{_issuing(cert)}"),
        evidence=_facts(cert, urls),
        recommendation=_advice(cert, subject, ""),
        proposals=(describe(subject),),
    )


def _expiry(ctx: Context, cert: Obj, subject: ObjectRef, urls: list[str]) -> Iterator[Finding]:
    status = as_dict(cert.get("status"))
    left = _left(ctx, cert)
    if left > ctx.thresholds.certificate_expiry_days * _DAY:
        return
    label = f"Certificate {subject.namespace}/{subject.name}"
    users = f"{', '.join(urls)} use{'s' if len(urls) == 1 else ''} it." if urls else ""
    renew = f"Force a renewal: `cmctl renew {subject.name} -n {subject.namespace}`; then "
    expired = left <= 0
    yield finding(
        CERT_EXPIRED if expired else CERT_EXPIRING, subject,
        reason="Expired" if expired else "Expiring",
        severity=None if expired or left > CRITICAL_DAYS * _DAY else Severity.CRITICAL,
        title=f"{label} expired {format_age(-left)} ago" if expired else
        f"{label} expires in {format_age(left)}",
        cause=words(f"It expired at {status.get('notAfter')}: clients refuse the connection."
                    if expired else f"It expires at {status.get('notAfter')}.",
                    users, _renewal(ctx, status) + _issuing(cert)),
        evidence=_facts(cert, urls), recommendation=_advice(cert, subject, renew),
        proposals=(describe(subject),),
    )


def _left(ctx: Context, cert: Obj) -> float:
    """Seconds until status.notAfter; infinite when the certificate has no valid notAfter."""
    not_after = parse_time(as_dict(cert.get("status")).get("notAfter"))
    return math.inf if not_after is None else (not_after - ctx.now).total_seconds()


def _renewal(ctx: Context, status: Obj) -> str:
    """Whether cert-manager should already have renewed it: then renewal is failing."""
    renewal = parse_time(status.get("renewalTime"))
    if renewal is None:
        return "cert-manager has not scheduled a renewal."
    gap = format_age(abs((renewal - ctx.now).total_seconds()))
    if renewal <= ctx.now:
        return f"cert-manager should have renewed it {gap} ago: renewal is failing."
    return f"cert-manager plans to renew it in {gap}."
