"""Render the Report view model as text, Markdown or HTML through one set of Jinja2 templates.

The templates describe *what* a view shows (sections, tables, bullets); a small `Dialect`
object says *how* each format spells a heading, a table or a command. Plain text for the
terminal, Markdown for files and Slack attachments, HTML (via Markdown) for Matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import jinja2

from bot.report import change_phrases
from bot.report.icons import area_icon, score_icon
from bot.report.model import Report

VIEWS = ("health", "nodes", "storage", "issues", "report")
FORMATS = ("text", "markdown", "html")


class Markdown:
    name = "markdown"

    def h1(self, text: str) -> str:
        return f"# {text}\n"

    def h2(self, text: str) -> str:
        return f"## {text}\n"

    def h3(self, text: str) -> str:
        return f"### {text}\n"

    def bold(self, text: object) -> str:
        return f"**{text}**"

    def code(self, text: object) -> str:
        return f"`{text}`"

    def block(self, text: str) -> str:
        return f"```bash\n{text.strip()}\n```"

    def rule(self) -> str:
        return "---"

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
        def line(cells: Sequence[object]) -> str:
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


class Text(Markdown):
    name = "text"

    def h1(self, text: str) -> str:
        return f"{text}\n{'=' * len(text)}\n"

    def h2(self, text: str) -> str:
        return f"{text}\n{'-' * len(text)}\n"

    def h3(self, text: str) -> str:
        return f"{text}\n"

    def bold(self, text: object) -> str:
        return str(text)

    def code(self, text: object) -> str:
        return str(text)

    def block(self, text: str) -> str:
        return "\n".join(f"    {line}" for line in text.strip().splitlines())

    def rule(self) -> str:
        return ""

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
        cells = [list(map(str, headers))] + [list(map(str, r)) for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                         for row in cells)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates in a private temp dir: compiling them is a tenth of a second, paid
    by every CLI run without it. None where no temp dir is writable (read-only pods)."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.report", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # output is Markdown/text; HTML is produced from Markdown below
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["plural"] = _plural
    env.globals.update(score_icon=score_icon, area_icon=area_icon)
    env.filters.update(TABLE_CELLS)
    env.filters.update(change_phrases.FILTERS)
    env.globals.update(first_report=change_phrases.FIRST_REPORT, quiet=change_phrases.QUIET,
                       date_format=change_phrases.DATE_FORMAT)
    return env


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _pct(value: int | None) -> str:
    return "n/a" if value is None else f"{value}%"


_NAMESPACE_STATUS = {"healthy": "✅ Healthy", "degraded": "🟡 Degraded", "failing": "⚠️ Failing",
                     "empty": "Empty"}

# One row of a table per model row; the templates pick them with `map("node_cells")`.
TABLE_CELLS: dict[str, Any] = {
    "node_cells": lambda n: [
        n.name, ("✅ " if n.ready else "❌ ") + n.status, n.roles, n.address, n.cpu, n.memory,
        _pct(n.cpu_pct), _pct(n.memory_pct), ", ".join(n.pressure) or "none", n.kubelet, n.age],
    "namespace_cells": lambda n: [
        n.name, n.workloads or "-", f"{n.pods}" + (f" ({n.failing} not running)" if n.failing
                                                   else ""),
        _NAMESPACE_STATUS[n.status] + (f", {_plural(n.problems, 'problem')}" if n.problems
                                       else "")],
    "pvc_cells": lambda p: [p.namespace, p.name, p.size,
                            f"{p.used} ({p.used_pct}%)" if p.used else "unknown", p.phase],
    "ingress_cells": lambda i: [i.url, i.namespace, i.service,
                                "✅ Active" if i.ok else "⚠️ Backend down"],
    "cert_cells": lambda c: [c.name, c.namespace, c.dns_names, c.issuer,
                             "✅" if c.ready else "❌", c.expires_in],
    "area_cells": lambda a: [a.name, "n/a" if a.score is None else f"{a.score}/100",
                             a.findings],
}


def render(view: str, report: Report, fmt: str = "text", **options: Any) -> str:
    """Render one view (`health`, `nodes`, `storage`, `issues`, `report`) in one format."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    if fmt == "html":
        return markdown_to_html(render(view, report, "markdown", **options))
    dialect = {"text": Text, "markdown": Markdown}[fmt]()
    template = _environment().get_template(f"{view}.j2")
    out = template.render(r=report, d=dialect, options=options)
    return _squeeze_blank_lines(out).strip() + "\n"


def _squeeze_blank_lines(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines)


def markdown_to_html(markdown: str) -> str:
    """HTML for chats that take it (Matrix `formatted_body`), tables included."""
    from markdown_it import MarkdownIt  # only the HTML path needs it

    return MarkdownIt("commonmark").enable("table").render(markdown)
