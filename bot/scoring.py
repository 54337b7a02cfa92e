"""The health score: 0-100 per area and overall, with a grade. The formula is in docs/scoring.md.

Each finding belongs to one area (by its code, else by its namespace). An area starts at 100
and every finding multiplies it by a severity factor, so a second warning costs less than the
first and a score never goes below zero. The overall score is the weighted mean of the areas
that have something in them (an empty area is not penalised, nor rewarded), capped below
"mostly healthy" while anything is critical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.cluster.fields import meta, spec, text
from bot.cluster.snapshot import Snapshot
from bot.models import AreaScore, Finding, Score, Severity


@dataclass(frozen=True, slots=True)
class Area:
    key: str
    title: str
    weight: float


AREAS: tuple[Area, ...] = (
    Area("core", "Core Infrastructure", 0.20),
    Area("storage", "Storage Systems", 0.15),
    Area("monitoring", "Monitoring", 0.10),
    Area("networking", "Networking", 0.10),
    Area("applications", "Applications", 0.20),
    Area("resources", "Resource Utilization", 0.10),
    Area("security", "Security", 0.15),
)
AREA_TITLES = {a.key: a.title for a in AREAS}

# Share of an area's score that one finding keeps: 100 * 0.94 * 0.94 after two warnings.
KEEP_FACTOR = {Severity.CRITICAL: 0.65, Severity.WARNING: 0.94, Severity.INFO: 0.98}
CRITICAL_CAP = 79  # while anything is critical, the cluster is at best "degraded"

GRADES = ((95, "A", "healthy"), (85, "B", "mostly healthy"), (70, "C", "degraded"),
          (50, "D", "unhealthy"), (0, "F", "critical"))

NAMESPACE_AREAS: Mapping[str, str] = {
    **dict.fromkeys(("kube-system", "kube-public", "kube-node-lease", "default", "traefik",
                     "ingress-nginx", "metallb-system", "cert-manager", "kubernetes-dashboard",
                     "calico-system", "tigera-operator", "flux-system", "argocd"), "core"),
    **dict.fromkeys(("longhorn-system", "nfs-provisioner", "velero", "local-path-storage",
                     "rook-ceph", "openebs", "minio"), "storage"),
    **dict.fromkeys(("monitoring", "logging", "observability", "prometheus", "grafana",
                     "loki", "kube-prometheus-stack"), "monitoring"),
}

_CODE_AREAS = (
    (("NODE-CPU-HIGH", "NODE-MEMORY-HIGH", "NODE-METRICS-ABSENT"), "resources"),
    (("NODE-",), "core"),
    (("CERT-",), "security"),
    (("INGRESS-", "SERVICE-"), "networking"),
    (("PVC-", "PV-", "STORAGECLASS-", "LONGHORN-"), "storage"),
)


def area_of(finding: Finding) -> str:
    for prefixes, area in _CODE_AREAS:
        if finding.code.startswith(prefixes):
            return area
    return NAMESPACE_AREAS.get(finding.subject.namespace, "applications")


def populated_areas(snapshot: Snapshot) -> set[str]:
    """Areas with something in them to judge; the others score "n/a"."""
    namespaces = {text(meta(o).get("name")) for o in snapshot.items("namespaces")}
    namespaces |= {text(meta(p).get("namespace")) for p in snapshot.items("pods")}
    by_area = {NAMESPACE_AREAS.get(ns, "applications") for ns in namespaces if ns}
    found = set()
    if snapshot.items("nodes"):
        found |= {"core", "resources"}
    if by_area & {"storage"} or snapshot.items("persistentvolumeclaims"):
        found.add("storage")
    if "monitoring" in by_area:
        found.add("monitoring")
    if snapshot.items("ingresses") or snapshot.items("services"):
        found.add("networking")
    app_pods = [p for p in snapshot.items("pods")
                if NAMESPACE_AREAS.get(text(meta(p).get("namespace")),
                                       "applications") == "applications"]
    if app_pods:
        found.add("applications")
    if snapshot.items("certificates") or any(
            spec(i).get("tls") for i in snapshot.items("ingresses")):
        found.add("security")
    return found


def score(snapshot: Snapshot, findings: Iterable[Finding]) -> Score:
    findings = list(findings)
    populated = populated_areas(snapshot) | {area_of(f) for f in findings}
    areas = tuple(_area_score(area, populated, findings) for area in AREAS)
    judged = [(a, s) for a, s in zip(AREAS, areas, strict=True) if s.score is not None]
    total_weight = sum(a.weight for a, _ in judged)
    total = round(sum(a.weight * (s.score or 0) for a, s in judged) / total_weight) \
        if judged else 100
    if any(f.severity is Severity.CRITICAL for f in findings):
        total = min(total, CRITICAL_CAP)
    grade, label = grade_of(total)
    return Score(total=total, grade=grade, label=label, areas=areas)


SYMPTOM_CODES = ("SERVICE-", "WORKLOAD-")  # consequences of pod problems
ROOT_CAUSE_CODES = ("POD-", "JOB-")


def symptoms(findings: list[Finding]) -> set[str]:
    """Keys of findings whose pods are all diagnosed by a pod or job finding (a Service with
    no ready endpoint because its pods crash-loop): one problem should cost once."""
    diagnosed = {f"{f.subject.namespace}/{pod}" for f in findings
                 if f.code.startswith(ROOT_CAUSE_CODES) for pod in f.pods}
    return {f.key for f in findings if f.code.startswith(SYMPTOM_CODES) and f.pods and all(
        f"{f.subject.namespace}/{pod}" in diagnosed for pod in f.pods)}


def _area_score(area: Area, populated: set[str], findings: list[Finding]) -> AreaScore:
    if area.key not in populated:
        return AreaScore(area.title, None, 0, "nothing to check")
    mine = [f for f in findings if area_of(f) == area.key]
    secondary = symptoms(findings)
    value = 100.0
    for f in mine:
        value *= KEEP_FACTOR[Severity.INFO if f.key in secondary else f.severity]
    summary = "; ".join(dict.fromkeys(f.headline for f in mine[:3])) or "no problems found"
    worst = max((f.severity for f in mine), key=lambda s: s.rank, default=None)
    return AreaScore(area.title, round(value), len(mine), summary, worst)


def grade_of(total: int) -> tuple[str, str]:
    for floor, grade, label in GRADES:
        if total >= floor:
            return grade, label
    return "F", "critical"
