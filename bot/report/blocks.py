"""Block Kit rendering of the Report view model: every view as Slack blocks, within Slack's limits.

Slack refuses a message with more than 50 blocks, a section text over 3,000 characters, more
than 10 fields or a field over 2,000, a header over 150. Every view is built through
`_Blocks`, which keeps to those limits by cutting lists short with "…and N more nodes" and
marks the message incomplete, so the chat adapter attaches the full Markdown as a file.
Text is Slack mrkdwn with cluster data escaped (`&`, `<`, `>`); every message carries a
plain `text` fallback for notifications and clients that cannot show blocks.

Remediation buttons are not drawn here: `render_blocks(..., actions=...)` takes a function
that turns one issue into extra blocks, so the actions layer can add them later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.report.change_phrases import (
    DATE_FORMAT,
    FIRST_REPORT,
    QUIET,
    certificate_phrase,
    group_phrase,
    node_phrase,
    pvc_phrase,
    score_phrase,
    trend_phrase,
)
from bot.report.icons import area_icon, score_icon
from bot.report.model import Changes, Issue, ProblemChange, RecentGroup, Report

MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
MAX_FIELDS = 10
HEADER_CHARS = 150
CONTEXT_ELEMENTS = 10
FALLBACK_CHARS = 3000  # Slack shows up to 40,000, but a notification needs a line, not a page
TOP_PROBLEMS = 5
TOP_CHANGES = 5  # per list of changes in the message; the attached report lists them all
# An issue's section shares its 3,000 characters so that a long cause never pushes out the fix.
PODS_CHARS, CAUSE_CHARS, FIX_CHARS = 300, 1200, 1200

Block = dict[str, Any]
T = TypeVar("T")
IssueActions = Callable[[Issue], list[Block]]


@dataclass(frozen=True)
class Message:
    """One Slack message: blocks, the plain fallback, and whether the blocks show everything."""

    text: str
    blocks: tuple[Block, ...]
    complete: bool = True  # False: something was cut; send the full answer along as a file


def escape(text: object) -> str:
    """Slack's three control characters, escaped as its docs require."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class _Blocks:
    """Blocks of one message, kept within Slack's limits; the last slot is kept for a note."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.complete = True

    def _room(self) -> int:
        return MAX_BLOCKS - 1 - len(self.blocks)

    def _add(self, block: Block) -> None:
        if self._room() > 0:
            self.blocks.append(block)
        else:
            self.complete = False

    def header(self, text: str) -> None:
        self._add({"type": "header",
                   "text": {"type": "plain_text", "text": _cut(text, HEADER_CHARS), "emoji": True}})

    def section(self, text: str) -> None:
        self._add(_section_block(text))

    def fields(self, texts: Sequence[str]) -> None:
        for start in range(0, len(texts), MAX_FIELDS):
            self._add({"type": "section", "fields": [
                {"type": "mrkdwn", "text": _cut(t, FIELD_CHARS)}
                for t in texts[start:start + MAX_FIELDS]]})

    def context(self, *texts: str) -> None:
        shown = [t for t in texts if t][:CONTEXT_ELEMENTS]
        if shown:
            self._add({"type": "context", "elements": [
                {"type": "mrkdwn", "text": _cut(t, SECTION_CHARS)} for t in shown]})

    def divider(self) -> None:
        self._add({"type": "divider"})

    def lines(self, lines: Sequence[str], noun: str) -> None:
        """Lines packed into as few sections as fit; what does not fit becomes "…and N more"."""
        chunks = _pack([_cut(line, SECTION_CHARS) for line in lines])
        room = self._room()
        if len(chunks) > room:
            chunks = chunks[: max(room - 1, 0)]
            self.complete = False
        shown = sum(len(chunk) for chunk in chunks)
        for chunk in chunks:
            self.section("\n".join(chunk))
        if shown < len(lines):
            self.context(f"…and {len(lines) - shown} more {noun}")

    def items(self, drawn: Sequence[list[Block]], noun: str) -> None:
        """Items drawn as a few blocks each, until the message is full; then "…and N more"."""
        shown = 0
        for blocks in drawn:
            if len(blocks) > self._room() - 1:
                self.complete = False
                break
            self.blocks.extend(blocks)
            shown += 1
        if shown < len(drawn):
            self.context(f"…and {len(drawn) - shown} more {noun}")

    def message(self, fallback: str, *, full_answer_attached: bool = True) -> Message:
        if not self.complete and full_answer_attached:
            self.blocks.append(_context_block("The full answer is in the attached file."))
        return Message(_cut(fallback, FALLBACK_CHARS), tuple(self.blocks), self.complete)


def _section_block(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}}


def _context_block(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _pack(lines: Iterable[str], limit: int = SECTION_CHARS) -> list[list[str]]:
    """Group lines into chunks whose joined text fits one section (`limit` characters)."""
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if chunks and size + 1 + len(line) <= limit:
            chunks[-1].append(line)
            size += 1 + len(line)
        else:
            chunks.append([line])
            size = len(line)
    return chunks


# -- shared parts ------------------------------------------------------------------------------

def _about(report: Report) -> str:
    versions = ", ".join(report.facts.kubelet_versions)
    parts = [f"*{escape(report.cluster)}* ({_plural(report.facts.nodes, 'node')}"
             + (f", {escape(versions)})" if versions else ")"),
             report.generated_at.strftime("%B %-d, %Y %H:%M %Z"),
             f"source: {escape(report.source)}"]
    if report.data_age:
        parts.append(f"⏳ {escape(report.data_age)}")
    return " · ".join(parts)


def _opening(out: _Blocks, title: str, report: Report) -> None:
    out.header(title)
    out.context(_about(report))


def _overall(out: _Blocks, report: Report) -> None:
    score = report.score
    out.section(f"*Overall health:* {score_icon(score.total)} *{escape(score.label.upper())}* "
                f"({score.total}/100, grade {score.grade})")
    out.fields([f"{area_icon(a)} *{escape(a.name)}*\n"
                + (f"{a.score}/100 · {_plural(a.findings, 'problem')}: {escape(a.summary)}"
                   if a.findings else f"{a.score}/100 · no problems found")
                for a in score.areas if a.score is not None])


def _top_problems(out: _Blocks, report: Report, prefix: str) -> None:
    if not report.issues:
        out.section("No problems found. ✅")
        return
    out.section("*Top problems*")
    out.lines([f"{i.number}. {i.finding.severity.emoji} *{escape(i.finding.headline)}* "
               f"(`{i.finding.code}`)" + (f": {escape(i.finding.cause)}" if i.finding.cause
                                          else "")
               for i in report.issues[:TOP_PROBLEMS]], "problems")
    rest = len(report.issues) - TOP_PROBLEMS
    if rest > 0:
        out.context(f"…and {rest} more: run `{prefix} issues`")


def _notes(out: _Blocks, report: Report) -> None:
    if report.notes:
        out.context("*Not checked:* " + "; ".join(escape(n) for n in report.notes))


def _issue_blocks(issue: Issue, actions: IssueActions | None) -> list[Block]:
    f = issue.finding
    lines = [f"*{issue.number}. {f.severity.emoji} {escape(f.headline)}*",
             f"`{f.code}` · {escape(f.reason)} · {escape(issue.area)} · {escape(f.subject)}"]
    if f.pods:
        lines.append(_cut(f"*Pods:* {escape(', '.join(f.pods))}", PODS_CHARS))
    if f.cause:
        lines.append(_cut(f"*Cause:* {escape(f.cause)}", CAUSE_CHARS))
    if f.recommendation:
        lines.append(_cut(f"*Fix:* {escape(f.recommendation)}", FIX_CHARS))
    blocks = [_section_block("\n".join(lines))]
    if f.evidence:
        blocks.append(_context_block(_cut("\n".join(f"› {escape(e)}" for e in f.evidence),
                                          SECTION_CHARS)))
    return blocks + (actions(issue) if actions else [])


# -- the views ---------------------------------------------------------------------------------

def _health(out: _Blocks, report: Report, options: dict[str, Any]) -> str:
    score = report.score
    _opening(out, f"Cluster health: {score.total}/100 ({score.grade})", report)
    _overall(out, report)
    out.divider()
    _top_problems(out, report, options.get("prefix", "/cluster"))
    _notes(out, report)
    return f"{report.cluster}: health {score.total}/100 ({score.grade}, {score.label})"


def _node_line(n: Any) -> str:
    def pct(value: int | None) -> str:
        return "" if value is None else f" ({value}%)"

    pressure = ", ".join(n.pressure) or "no pressure"
    return (f"{'✅' if n.ready else '❌'} *{escape(n.name)}* · {escape(n.status)} · "
            f"{escape(n.roles)} · CPU {n.cpu}{pct(n.cpu_pct)} · mem {n.memory}{pct(n.memory_pct)}"
            f" · {escape(pressure)} · {escape(n.kubelet)} · {n.age}")


def _utilisation(out: _Blocks, report: Report) -> None:
    u = report.utilisation
    if not u.metrics:
        out.context("Live usage unknown: metrics-server is not available.")
        return
    out.section(f"*CPU:* {u.cpu_used} of {u.cpu_total} cores ({u.cpu_pct}%), peak "
                f"{escape(u.peak_cpu_node)} ({u.peak_cpu})\n"
                f"*Memory:* {u.memory_used} of {u.memory_total} ({u.memory_pct}%), peak "
                f"{escape(u.peak_memory_node)} ({u.peak_memory}, {u.peak_memory_pct}%)")


def _nodes(out: _Blocks, report: Report, options: dict[str, Any]) -> str:
    facts = report.facts
    _opening(out, f"Nodes ({facts.nodes})", report)
    out.fields([f"*{label}*\n{escape(', '.join(values) or 'unknown')}" for label, values in (
        ("Control plane", facts.control_plane), ("Workers", facts.workers),
        ("OS", facts.os_images), ("Kubernetes", facts.kubelet_versions),
        ("Runtime", facts.runtimes), ("Architecture", facts.architectures),
        ("Age", (facts.age,)))])
    out.lines([_node_line(n) for n in report.nodes], "nodes")
    _utilisation(out, report)
    ready = sum(1 for n in report.nodes if n.ready)
    return f"{report.cluster}: {ready}/{facts.nodes} nodes ready"


def _pvc_line(p: Any) -> str:
    used = f"used {p.used} ({p.used_pct}%)" if p.used else "usage unknown"
    return f"`{escape(p.namespace)}/{escape(p.name)}` · {p.size} · {used} · {escape(p.phase)}"


def _storage(out: _Blocks, report: Report, options: dict[str, Any]) -> str:
    _opening(out, "Storage", report)
    if not report.storage:
        out.section("No storage classes or PVCs.")
    for group in report.storage:
        title = f"*{escape(group.name)}*" + (" (default)" if group.default else "") + (
            f" · `{escape(group.provisioner)}`" if group.provisioner else "")
        out.section(title + (f"\nBackend: {escape(group.backend)}" if group.backend else ""))
        if group.pvcs:
            out.lines([_pvc_line(p) for p in group.pvcs], "PVCs")
            out.context(f"Total allocated: {group.allocated} in {_plural(len(group.pvcs), 'PVC')}")
        else:
            out.context("No PVCs use this class.")
    _notes(out, report)
    claims = sum(len(g.pvcs) for g in report.storage)
    return f"{report.cluster}: {_plural(claims, 'PVC')} in {len(report.storage)} storage classes"


_PRIORITIES = (("Critical", "Critical issues"), ("High", "Warnings"),
               ("Low", "Low priority / informational"))


def _issues(out: _Blocks, report: Report, options: dict[str, Any],
            actions: IssueActions | None) -> str:
    namespace = options.get("namespace")
    items = report.issues_in(namespace)
    where = f" in {namespace}" if namespace else ""
    _opening(out, f"Issues{where} ({len(items)})", report)
    if not items:
        out.section(f"No problems found{escape(where)}. ✅")
        return f"{report.cluster}: no problems found{where}"
    limit = options.get("limit")
    shown = items if limit is None else items[:limit]
    drawn = []
    for priority, heading in _PRIORITIES:
        group = [i for i in shown if i.priority == priority]
        for issue in group:  # the group's heading travels with its first issue
            heading_block = [_section_block(f"*{heading}*")] if issue is group[0] else []
            drawn.append(heading_block + _issue_blocks(issue, actions))
    out.items(drawn, "issues")
    if len(shown) < len(items):
        flags = " ".join(filter(None, ("issues", namespace, "--all")))
        out.context(f"…and {len(items) - len(shown)} more: run "
                    f"`{options.get('prefix', '/cluster')} {escape(flags)}`")
    return f"{report.cluster}: {_plural(len(items), 'issue')}{where}"


# -- the weekly report's opening: what changed since the last ------------------------------

def _listed(title: str, items: Sequence[T], line: Callable[[T], str], *,
            counted: bool = False) -> list[str]:
    """A titled list of changes, its first TOP_CHANGES items; the attached report has all."""
    if not items:
        return []
    rest = len(items) - TOP_CHANGES
    return ([f"*{title} ({len(items)}):*" if counted else f"*{title}:*"]
            + [f"    • {line(item)}" for item in items[:TOP_CHANGES]]
            + ([f"    …and {rest} more in the attached report"] if rest > 0 else []))


def _problem_line(mark: str) -> Callable[[ProblemChange], str]:
    return lambda p: f"{mark or p.severity.emoji} {escape(p.title)} (`{escape(p.code)}`)"


def _group_line(whole_namespace: str) -> Callable[[RecentGroup], str]:
    return lambda g: f"*{escape(g.namespace)}*{escape(group_phrase(g, whole_namespace))}"


def _change_lines(c: Changes) -> list[str]:
    """The lines of the Markdown report's "What changed since last week", in mrkdwn."""
    if c.since is None:
        lines = [escape(FIRST_REPORT)]
    else:
        lines = [f"Compared with the report of {c.since.strftime(DATE_FORMAT)}.",
                 f"*Score:* {escape(score_phrase(c))}",
                 *_listed("New problems", c.new_problems, _problem_line(""), counted=True),
                 *_listed("Resolved", c.resolved_problems, _problem_line("✅"), counted=True),
                 *_listed("Deployed", c.deployed, _group_line("new namespace")),
                 *_listed("Removed", c.removed, _group_line("whole namespace")),
                 *_listed("Storage growing fastest", c.growing_pvcs,
                          lambda p: f"{escape(p.name)}: {escape(pvc_phrase(p))}"),
                 *_listed("Nodes growing fastest", c.growing_nodes,
                          lambda n: f"{escape(n.name)}: {escape(node_phrase(n))}"),
                 *([escape(QUIET)] if c.quiet else [])]
    lines += _listed("Certificates expiring before the next report", c.expiring_certificates,
                     lambda cert: escape(certificate_phrase(cert)))
    if trend := trend_phrase(c.trend):
        lines.append(f"*Score trend:* {trend}")
    return lines


def _changes(out: _Blocks, report: Report) -> None:
    """The weekly report opens with what changed; an on-demand report has no such section."""
    if report.changes is None:
        return
    out.lines(["*What changed since last week*", *_change_lines(report.changes)], "changes")
    out.divider()


def _next_review(out: _Blocks, report: Report) -> None:
    if report.next_review is not None:
        out.context(f"*Next review:* {report.next_review.strftime(DATE_FORMAT)}")


def _report(out: _Blocks, report: Report, options: dict[str, Any]) -> str:
    _opening(out, "Infrastructure Analysis Report", report)
    _changes(out, report)
    _overall(out, report)
    facts = report.facts
    ready = sum(1 for n in report.nodes if n.ready)
    out.section(f"*Nodes:* {ready}/{facts.nodes} ready · *Namespaces:* {facts.namespaces} · "
                f"*Pods:* {facts.pods}")
    _utilisation(out, report)
    c = report.capacity
    out.section(f"*Capacity:* CPU requested {c.cpu_requested} ({c.cpu_requested_pct}%), "
                f"memory requested {c.memory_requested} ({c.memory_requested_pct}%); headroom "
                f"CPU {c.cpu_headroom_pct}%, memory {c.memory_headroom_pct}%")
    out.divider()
    _top_problems(out, report, options.get("prefix", "/cluster"))
    _next_review(out, report)
    out.complete = False  # the blocks summarise; the whole report travels as the file
    return f"{report.cluster}: weekly report, health {report.score.total}/100"


def render_blocks(view: str, report: Report, options: dict[str, Any] | None = None, *,
                  actions: IssueActions | None = None) -> Message:
    """One report view (`health`, `nodes`, `storage`, `issues`, `report`) as a Slack message.

    `actions`, when given, adds blocks after each issue (the remediation buttons' seam).
    """
    options = options or {}
    out = _Blocks()
    if view == "issues":
        fallback = _issues(out, report, options, actions)
    elif view in _VIEWS:
        fallback = _VIEWS[view](out, report, options)
    else:
        raise ValueError(f"unknown view {view!r}")
    return out.message(fallback)


_VIEWS: dict[str, Callable[[_Blocks, Report, dict[str, Any]], str]] = {
    "health": _health, "nodes": _nodes, "storage": _storage, "report": _report}


def text_message(text: str, *, error: bool = False) -> Message:
    """A plain answer (help, checks, an error): its first line as text, the rest monospaced."""
    first, _, rest = text.strip().partition("\n")
    out = _Blocks()
    out.section(("⚠️ " if error else "") + escape(first))
    fence = "```"
    room = SECTION_CHARS - 2 * len(fence) - 2
    body = [_cut(escape(line), room) for line in rest.strip("\n").splitlines()]
    for chunk in _pack(body, room):
        out.section(f"{fence}\n" + "\n".join(chunk) + f"\n{fence}")
    return out.message(text.strip(), full_answer_attached=False)
