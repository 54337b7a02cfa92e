"""The words of the weekly "what changed since last week" section, said once for every view.

The Markdown/text templates and Block Kit show the same `Changes`; where a line is more than
a field (a score move, a PVC's growth, a certificate's expiry), the phrase is made here as
plain text, and each renderer only adds its own emphasis and escaping around it. So the chat
message and the attached report never word, round or order a change differently.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.report.inventory import CertificateRow
from bot.report.model import Changes, NodeGrowth, PVCGrowth, RecentGroup, ScoreChange, TrendPoint

FIRST_REPORT = ("This is the first weekly report: from the next one on, this section says what "
                "changed since the last.")
QUIET = ("Nothing else changed: no new or resolved problems, nothing deployed or removed, "
         "no growth worth noting.")
DATE_FORMAT = "%B %-d, %Y %H:%M %Z"  # October 27, 2025 09:00 UTC


def _value(value: int | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def score_move(change: ScoreChange) -> str:
    """"96 → 98 (+2)"; the difference only when there is one."""
    moved = f"{_value(change.before)} → {_value(change.after)}"
    return f"{moved} ({change.delta:+d})" if change.delta else moved


def score_phrase(changes: Changes) -> str:
    """"94/100, unchanged overall; Networking 96 → 98 (+2)": the total, then each area that
    moved."""
    total = changes.score
    said = f"{_value(total.after)}/100, " + (f"{total.delta:+d} from {total.before}"
                                             if total.delta else "unchanged")
    if not changes.areas:
        return said
    overall = "" if total.delta else " overall"
    return f"{said}{overall}; " + "; ".join(f"{a.area} {score_move(a)}" for a in changes.areas)


def group_phrase(group: RecentGroup, whole_namespace: str) -> str:
    """What follows a namespace's name in Deployed/Removed: " (new namespace): Deployment
    redis, 10h ago", where `whole_namespace` says how a namespace that came or went entire is
    marked; no age for removals: when they went is unknown."""
    whole = f" ({whole_namespace})" if group.new_namespace else ""
    what = ", ".join(f"{c.kind} {c.name}" for c in group.changes)
    age = f", {group.age} ago" if group.age else ""
    return f"{whole}{': ' + what if what else ''}{age}"


def pvc_phrase(pvc: PVCGrowth) -> str:
    """"resized 10Gi → 20Gi, used 7.6Gi → 12Gi (+4.4Gi)"; without usage figures, the resize
    carries the growth."""
    resized = pvc.size_before != pvc.size_after
    resize = f"resized {pvc.size_before} → {pvc.size_after}"
    if not pvc.used_after:
        return f"{resize} ({pvc.grown})"
    used = f"used {pvc.used_before} → {pvc.used_after} ({pvc.grown})"
    return f"{resize}, {used}" if resized else f"{used} of {pvc.size_after}"


def node_phrase(node: NodeGrowth) -> str:
    """"CPU 2% → 2%, memory 40% → 54%" (percent of allocatable)."""
    return (f"CPU {_value(node.cpu_before, '%')} → {_value(node.cpu_after, '%')}, "
            f"memory {_value(node.memory_before, '%')} → {_value(node.memory_after, '%')}")


def certificate_phrase(cert: CertificateRow) -> str:
    """"cert-manager/wildcard (*.example.org): expires in 6 days", or "expired 2 days ago"."""
    days = cert.days_left or 0
    when = f"expired {-days} day{'' if days == -1 else 's'} ago" if days < 0 else \
        f"expires in {cert.expires_in}"
    return f"{cert.namespace}/{cert.name} ({cert.dns_names}): {when}"


def trend_phrase(trend: Sequence[TrendPoint]) -> str:
    """"91 → 94 → 94 over the last 3 reports"; "" for two reports or fewer, which the score's
    own line ("+2 from 92") already says."""
    if len(trend) <= 2:
        return ""
    return " → ".join(str(p.score) for p in trend) + f" over the last {len(trend)} reports"


FILTERS = {"score_phrase": score_phrase, "group_phrase": group_phrase,
           "pvc_phrase": pvc_phrase, "node_phrase": node_phrase,
           "certificate_phrase": certificate_phrase, "trend_phrase": trend_phrase}
