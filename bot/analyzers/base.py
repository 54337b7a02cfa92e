"""What every analyzer shares: the check catalogue, the analysis context and a crash guard.

Like Popeye, every problem clusterbot can report has a stable code registered here with its
severity and a one-line description (`clusterbot checks` prints the catalogue). Analyzers are
pure functions `analyze(ctx) -> Iterable[Finding]`; `guarded()` runs one object at a time so a
malformed object yields a "could not analyze" finding instead of losing every other finding,
and `per_run` builds an index (or a diagnosis several analyzers read) once per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from bot.cluster.fields import as_dict, text
from bot.cluster.snapshot import Obj, Snapshot
from bot.config import Settings
from bot.models import Finding, ObjectRef, Proposal, Severity

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    severity: Severity
    area: str  # the analyzer file that owns it: pods, nodes, storage, ...
    summary: str


CATALOGUE: dict[str, Check] = {}


def check(code: str, severity: Severity, area: str, summary: str) -> str:
    """Register a check in the catalogue and return its code (for use as a constant)."""
    if code in CATALOGUE and CATALOGUE[code] != Check(code, severity, area, summary):
        raise ValueError(f"check {code} registered twice with different details")
    CATALOGUE[code] = Check(code, severity, area, summary)
    return code


ANALYZER_ERROR = check(
    "ANALYZER-ERROR", Severity.INFO, "base",
    "An object could not be analyzed (malformed or partial); other findings are unaffected",
)


@dataclass(frozen=True)
class Thresholds:
    """Tunable limits; the defaults suit a small homelab cluster."""

    node_usage_warning: float = 80.0  # percent of allocatable CPU or memory
    node_usage_critical: float = 90.0
    node_usage_highest_info: float = 50.0  # the busiest node above this gets a "watch it" note
    restarts_warning: int = 10  # restarts of a running container worth reporting
    terminating_stuck_seconds: int = 600
    pending_seconds: int = 300
    certificate_expiry_days: int = 14

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            node_usage_warning=settings.node_usage_warning,
            node_usage_critical=settings.node_usage_critical,
            restarts_warning=settings.restarts_warning,
            certificate_expiry_days=settings.certificate_expiry_days,
        )


@dataclass(frozen=True)
class Context:
    """One analysis run: the snapshot, the instant ages are measured from, the limits, and
    what the run has already worked out (see `per_run`)."""

    snapshot: Snapshot
    now: datetime
    thresholds: Thresholds = field(default_factory=Thresholds)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def per_run(build: Callable[[Context], T]) -> Callable[[Context], T]:
    """Compute `build(ctx)` once per analysis run, for indexes and diagnoses that several
    checks (or analyzers) read: scanning every pod once per finding is what made analysis
    slow on big clusters."""
    key = f"{build.__module__}.{build.__qualname__}"

    @wraps(build)
    def once(ctx: Context) -> T:
        if key not in ctx.memo:
            ctx.memo[key] = build(ctx)
        return ctx.memo[key]

    return once


def finding(
    code: str,
    subject: ObjectRef,
    *,
    reason: str,
    title: str,
    cause: str = "",
    evidence: Iterable[str] = (),
    recommendation: str = "",
    pods: Iterable[str] = (),
    proposals: Iterable[Proposal] = (),
    severity: Severity | None = None,
) -> Finding:
    """Build a Finding whose severity defaults to the catalogue's for its code."""
    return Finding(
        code=code,
        severity=severity or CATALOGUE[code].severity,
        reason=reason,
        subject=subject,
        title=title,
        cause=cause,
        evidence=tuple(e for e in evidence if e),
        recommendation=recommendation,
        pods=tuple(sorted(pods)),
        proposals=tuple(proposals),
    )


def ref(kind: str, obj: Any) -> ObjectRef:
    """The object's reference; a missing or malformed name reads "?", never an error."""
    meta = as_dict(obj.get("metadata")) if isinstance(obj, dict) else {}
    return ObjectRef(kind, text(meta.get("name")) or "?", text(meta.get("namespace")),
                     text(meta.get("uid")))


def named(kind: str, obj: Obj) -> ObjectRef:
    """The object's reference; an object without a name is malformed (ANALYZER-ERROR)."""
    subject = ref(kind, obj)
    if subject.name == "?":
        raise ValueError(f"{kind} without metadata.name")
    return subject


def guarded(
    kind: str, objects: Iterable[Obj], analyze_one: Callable[[Obj], Iterable[Finding]]
) -> Iterator[Finding]:
    """Run `analyze_one` per object; an exception becomes one ANALYZER-ERROR finding."""
    for obj in objects:
        try:
            yield from analyze_one(obj)
        except Exception as error:  # noqa: BLE001 - one bad object must not hide the rest
            subject = ref(kind, obj)
            yield finding(
                ANALYZER_ERROR, subject, reason="AnalyzerError",
                title=f"Could not analyze {subject}",
                cause=f"{type(error).__name__}: {error}",
                recommendation=f"Check the object with `kubectl get {kind.lower()} "
                               f"{subject.name} -o yaml`; the rest of the analysis is complete.",
            )
