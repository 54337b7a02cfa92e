"""Plain values shared by every layer: severities, object references, findings and scores.

Nothing here knows about Kubernetes clients, chat platforms or rendering; these are the
nouns the rest of clusterbot passes between its layers as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How urgent a finding is; `rank` orders them (info < warning < critical)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @property
    def emoji(self) -> str:
        return _SEVERITY_EMOJI[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_SEVERITY_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "❗"}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Names one Kubernetes object; `uid` pins the exact instance when known."""

    kind: str
    name: str
    namespace: str = ""
    uid: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A remediation a finding suggests; the action layer turns it into a signed request."""

    action: str
    label: str
    targets: tuple[ObjectRef, ...]
    mutating: bool = True


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """What a confirm button will do: the action, the exact objects (uids pin the instances),
    who proposed it, until when it may be confirmed, and a random nonce that names the plan.

    It travels signed (bot/actions/tokens.py), so any replica can verify and run it; `subject`
    is the finding's subject, which the audit Event is about.
    """

    action: str
    targets: tuple[ObjectRef, ...]
    requester: str
    expires_at: int  # Unix seconds
    nonce: str
    subject: ObjectRef | None = None
    finding: str = ""  # the finding's check code, for the audit trail


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosed problem, grouped by the object that owns it.

    `reason` is Kubernetes' own word where one exists (CrashLoopBackOff, OOMKilled, ...);
    `pods` lists the affected pods when the subject is a controller; `cause` is the diagnosis
    drawn from `evidence`, and `recommendation` says what to do, with the exact command.
    """

    code: str
    severity: Severity
    reason: str
    subject: ObjectRef
    title: str
    cause: str = ""
    evidence: tuple[str, ...] = ()
    recommendation: str = ""
    pods: tuple[str, ...] = ()
    proposals: tuple[Proposal, ...] = ()

    @property
    def headline(self) -> str:
        """The title, qualified by namespace when it starts with the subject's bare name."""
        s = self.subject
        if s.namespace and self.title.startswith(f"{s.name}:"):
            return f"{s.namespace}/{self.title}"
        return self.title

    @property
    def key(self) -> str:
        """Stable identity across snapshots: the same problem on the same object."""
        s = self.subject
        return f"{self.code}:{s.kind}:{s.namespace}/{s.name}"


@dataclass(frozen=True, slots=True)
class AreaScore:
    """The health of one area (core infrastructure, storage, ...) from 0 to 100."""

    name: str
    score: int | None  # None: nothing in this area to judge
    findings: int = 0
    summary: str = ""
    worst: Severity | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Overall health with its per-area breakdown; `grade` is A..F, `label` its words."""

    total: int
    grade: str
    label: str
    areas: tuple[AreaScore, ...] = field(default_factory=tuple)
