"""The Report view model: everything any answer or the weekly report shows, computed once.

Like Alertmanager's template data, one model feeds every renderer (text, Markdown, HTML,
Block Kit, JSON). Builders here turn a Snapshot, its findings and score into rows and facts;
the renderers never reach back into raw API dicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot import scoring
from bot.analyzers import analyze
from bot.analyzers.base import CATALOGUE, Thresholds
from bot.cluster.fields import as_dict, meta, status, text
from bot.cluster.snapshot import Snapshot
from bot.cluster.units import format_age, parse_time
from bot.models import Finding, Score, Severity
from bot.report.inventory import (
    CertificateRow,
    IngressRow,
    NamespaceRow,
    NodeRow,
    StorageClassGroup,
    WorkloadRow,
    certificate_rows,
    ingress_rows,
    namespace_rows,
    node_rows,
    storage_groups,
    workload_rows,
)
from bot.report.resources import Capacity, Utilisation, capacity, utilisation
from bot.scoring import AREA_TITLES, area_of

PRIORITY = {Severity.CRITICAL: "Critical", Severity.WARNING: "High", Severity.INFO: "Low"}


@dataclass(frozen=True)
class ClusterFacts:
    nodes: int
    control_plane: tuple[str, ...]
    workers: tuple[str, ...]
    os_images: tuple[str, ...]
    kubelet_versions: tuple[str, ...]
    runtimes: tuple[str, ...]
    architectures: tuple[str, ...]
    age: str
    namespaces: int
    pods: int


@dataclass(frozen=True)
class Issue:
    number: int
    priority: str
    area: str
    finding: Finding


@dataclass(frozen=True)
class RecentChange:
    kind: str
    namespace: str
    name: str
    age: str
    created: datetime


@dataclass(frozen=True)
class RecentGroup:
    """What appeared in one namespace lately; `new_namespace` when the namespace itself did."""

    namespace: str
    new_namespace: bool
    age: str
    changes: tuple[RecentChange, ...]


@dataclass(frozen=True)
class ScoreChange:
    """One score now and at the previous report; `area` is "Overall" for the total."""

    area: str
    before: int | None
    after: int | None

    @property
    def delta(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class ProblemChange:
    """A problem that appeared or went away since the previous report."""

    code: str
    severity: Severity
    subject: str  # "Deployment apps/link-checker"
    title: str


@dataclass(frozen=True)
class PVCGrowth:
    name: str  # "monitoring/prometheus-db"
    size_before: str
    size_after: str
    used_before: str  # "" when usage is unknown
    used_after: str
    grown: str  # "+4.5Gi": used growth, else size growth


@dataclass(frozen=True)
class NodeGrowth:
    name: str
    cpu_before: int | None  # percent of allocatable
    cpu_after: int | None
    memory_before: int | None
    memory_after: int | None


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    score: int


@dataclass(frozen=True)
class Changes:
    """What changed since the previous weekly report; `since` is None on the first one."""

    since: datetime | None
    score: ScoreChange
    areas: tuple[ScoreChange, ...] = ()  # only the areas whose score moved
    new_problems: tuple[ProblemChange, ...] = ()
    resolved_problems: tuple[ProblemChange, ...] = ()
    deployed: tuple[RecentGroup, ...] = ()  # created since the previous report
    removed: tuple[RecentGroup, ...] = ()  # gone since; `age` is ""
    growing_pvcs: tuple[PVCGrowth, ...] = ()
    growing_nodes: tuple[NodeGrowth, ...] = ()
    expiring_certificates: tuple[CertificateRow, ...] = ()  # before the next report
    trend: tuple[TrendPoint, ...] = ()  # the score at each stored report, oldest first

    @property
    def quiet(self) -> bool:
        """Nothing to say beyond the score."""
        return not (self.areas or self.new_problems or self.resolved_problems or self.deployed
                    or self.removed or self.growing_pvcs or self.growing_nodes
                    or self.expiring_certificates)


@dataclass(frozen=True)
class Report:
    cluster: str
    source: str
    generated_at: datetime
    data_age: str  # "" when the data is fresh
    score: Score
    facts: ClusterFacts
    nodes: tuple[NodeRow, ...]
    namespaces: tuple[NamespaceRow, ...]
    workloads: tuple[WorkloadRow, ...]
    storage: tuple[StorageClassGroup, ...]
    ingresses: tuple[IngressRow, ...]
    certificates: tuple[CertificateRow, ...]
    issues: tuple[Issue, ...]
    recent: tuple[RecentGroup, ...]
    utilisation: Utilisation
    capacity: Capacity
    notes: tuple[str, ...] = ()
    severity_counts: dict[str, int] = field(default_factory=dict)
    created: tuple[RecentChange, ...] = ()  # every namespace and workload, newest first
    changes: Changes | None = None  # set on the weekly report: what changed since the last
    next_review: datetime | None = None  # the next scheduled report, when one is scheduled

    def issues_in(self, namespace: str | None) -> tuple[Issue, ...]:
        if not namespace:
            return self.issues
        return tuple(i for i in self.issues if i.finding.subject.namespace == namespace)


def build_report(
    snapshot: Snapshot, findings: list[Finding], score: Score, *, now: datetime | None = None
) -> Report:
    now = now or snapshot.taken_at
    created = _created(snapshot, now)
    nodes = node_rows(snapshot, now)
    return Report(
        cluster=snapshot.cluster,
        source=snapshot.source,
        generated_at=now,
        data_age=_data_age(snapshot, now),
        score=score,
        facts=_facts(snapshot, now, nodes),
        nodes=nodes,
        namespaces=namespace_rows(snapshot, findings),
        workloads=workload_rows(snapshot),
        storage=storage_groups(snapshot),
        ingresses=ingress_rows(snapshot, findings),
        certificates=certificate_rows(snapshot, now),
        issues=_issues(findings),
        recent=group_by_namespace(c for c in created
                                  if (now - c.created).days < RECENT_WINDOW_DAYS),
        utilisation=utilisation(snapshot),
        capacity=capacity(snapshot),
        notes=_notes(snapshot),
        severity_counts=dict(Counter(f.severity.value for f in findings)),
        created=created,
    )


_SPOKEN_UNITS = {"s": "s", "m": "min", "h": "h", "d": "days"}


def _data_age(snapshot: Snapshot, now: datetime) -> str:
    """"data is 4 min old: API server unreachable since 10:42 UTC", or "" when under a minute."""
    seconds = snapshot.data_age(now)
    if seconds < 60:
        return ""
    age = format_age(seconds)
    said = f"data is {age[:-1]} {_SPOKEN_UNITS[age[-1]]} old"
    return f"{said}: {snapshot.stale}" if snapshot.stale else said


def _facts(snapshot: Snapshot, now: datetime, rows: tuple[NodeRow, ...]) -> ClusterFacts:
    nodes = snapshot.items("nodes")
    infos = [as_dict(status(n).get("nodeInfo")) for n in nodes]
    control = tuple(r.name for r in rows if r.control_plane)
    workers = tuple(r.name for r in rows if not r.control_plane)
    created = [parse_time(meta(n).get("creationTimestamp")) for n in nodes]
    oldest = min((c for c in created if c), default=None)
    return ClusterFacts(
        nodes=len(nodes),
        control_plane=control,
        workers=workers,
        os_images=_distinct(i.get("osImage") for i in infos),
        kubelet_versions=_distinct(i.get("kubeletVersion") for i in infos),
        runtimes=_distinct(i.get("containerRuntimeVersion") for i in infos),
        architectures=_distinct(i.get("architecture") for i in infos),
        age=format_age((now - oldest).total_seconds()) if oldest else "unknown",
        namespaces=len(snapshot.items("namespaces")),
        pods=len(snapshot.items("pods")),
    )


def _distinct(values: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))  # type: ignore[attr-defined]


def _issues(findings: list[Finding]) -> tuple[Issue, ...]:
    def impact(f: Finding) -> tuple[int, int, str]:
        return (-f.severity.rank, -len(f.pods), f.key)

    ordered = sorted(findings, key=impact)
    return tuple(
        Issue(n, PRIORITY[f.severity], AREA_TITLES[area_of(f)], f)
        for n, f in enumerate(ordered, start=1)
    )


RECENT_WINDOW_DAYS = 14


def group_by_namespace(changes: Iterable[RecentChange]) -> tuple[RecentGroup, ...]:
    """Creations grouped by namespace, newest first; a namespace's own creation marks it new."""
    ordered = sorted(changes, key=lambda c: c.created, reverse=True)
    groups = []
    for namespace in dict.fromkeys(c.namespace or c.name for c in ordered):
        own = [c for c in ordered if c.kind == "Namespace" and c.name == namespace]
        items = tuple(c for c in ordered if c.kind != "Namespace" and c.namespace == namespace)
        newest = own[0] if own else items[0]
        groups.append(RecentGroup(namespace, bool(own), newest.age, items))
    return tuple(groups)


def _created(snapshot: Snapshot, now: datetime) -> tuple[RecentChange, ...]:
    """Every namespace and workload with its creation time, newest first."""
    found = []
    for key, kind in (("namespaces", "Namespace"), ("deployments", "Deployment"),
                      ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet"),
                      ("cronjobs", "CronJob")):
        for obj in snapshot.items(key):
            about = meta(obj)
            created = parse_time(about.get("creationTimestamp"))
            if created:
                found.append(RecentChange(kind, text(about.get("namespace")),
                                          text(about.get("name")),
                                          format_age((now - created).total_seconds()), created))
    return tuple(sorted(found, key=lambda c: c.created, reverse=True))


def _notes(snapshot: Snapshot) -> tuple[str, ...]:
    names = {"nodemetrics": "metrics-server (metrics.k8s.io)", "longhornvolumes": "Longhorn",
             "certificates": "cert-manager", "secrets": "Secrets (names only)"}
    return tuple(f"{names.get(k, k)}: {why}" for k, why in sorted(snapshot.absent.items()))


def check_summary(code: str) -> str:
    check = CATALOGUE.get(code)
    return check.summary if check else ""


def diagnose(
    snapshot: Snapshot, *, now: datetime | None = None, thresholds: Thresholds | None = None
) -> Report:
    """Analyze, score and build the report of one snapshot: the whole pipeline."""
    findings = analyze(snapshot, now=now, thresholds=thresholds)
    return build_report(snapshot, findings, scoring.score(snapshot, findings), now=now)
