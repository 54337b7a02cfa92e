"""The status icons every view draws (Markdown, text, HTML and Block Kit alike).

One definition, so a score looks the same in the weekly report file and in Slack.
"""

from __future__ import annotations

from bot.models import AreaScore, Severity


def score_icon(score: int | None) -> str:
    """The overall score's icon: ✅ from 95, 🟡 from 85, 🟠 from 70, 🔴 below."""
    if score is None:
        return "➖"
    return "✅" if score >= 95 else "🟡" if score >= 85 else "🟠" if score >= 70 else "🔴"


def area_icon(area: AreaScore) -> str:
    """An area's icon, from its worst finding: informational findings do not make it yellow."""
    if area.score is None:
        return "➖"
    if not area.findings:
        return "✅"
    if area.worst == Severity.INFO:
        return "ℹ️"
    if area.worst == Severity.CRITICAL:
        return "🔴"
    return "🟡" if area.score >= 70 else "🟠"
