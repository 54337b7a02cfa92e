"""What the Matrix adapter sends and reads, as plain data: no network, no `nio`.

A reply becomes one or more `m.notice` contents: the plain `body` and the
`org.matrix.custom.html` `formatted_body` rendered from the same Report view model. A Matrix event
may not exceed 65,536 bytes of JSON, so an answer above `limit` bytes is split into several
notices at section boundaries (headings, then paragraphs, then lines; a table or code block
split across notices repeats its header or fences). The parts of a split answer carry the
Markdown of their sections as `body`, because the plain-text rendering has no marked
boundaries to split it along.

Pictures that come with a reply (the weekly chart) follow as `m.image` messages. The plans a
reply offers (`fix`) follow as one short notice each, carrying the plan's id and signed token
in custom content fields: a ✅ on that notice, or `!cluster confirm <id>`, runs that token.
Incoming text is parsed here too: `!cluster <verb> ...` commands (with a quoted reply fallback
removed) and the ✅ reaction key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bot.actions.models import ActionPlan
from bot.chat.base import Image, Reply
from bot.report.render import markdown_to_html, render

PREFIX = "!cluster"
CONFIRM_VERB = "confirm"
CONFIRM_KEY = "✅"
PLAN_KEY = "clusterbot.plan_id"  # custom content field: the plan a ✅ on this notice confirms
TOKEN_KEY = "clusterbot.plan_token"  # ...and its signed token, which confirming runs
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Body + formatted body; leaves room under the 65,536-byte event limit for JSON escaping.
DEFAULT_LIMIT = 48_000

_COMMAND = re.compile(rf"{re.escape(PREFIX)}(\s|$)")
_HEADING = re.compile(r"#{1,6} ")
_FENCE = re.compile(r"(```|~~~)")
_TABLE_RULE = re.compile(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?")

Sizer = Callable[[str], int]


def command_text(body: str) -> str | None:
    """`"health"` for `"!cluster health"`; `""` for a bare `!cluster`; None for other talk."""
    text = _strip_reply_fallback(body).strip()
    if not _COMMAND.match(text):
        return None
    return text[len(PREFIX):].strip()


def _strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted message` lines older clients put before a reply."""
    lines = body.splitlines()
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines)


def is_confirm_key(key: str) -> bool:
    """✅, with or without the emoji variation selector some clients append."""
    return key.replace("\ufe0f", "") == CONFIRM_KEY


def notices(reply: Reply, limit: int = DEFAULT_LIMIT, prefix: str = PREFIX
            ) -> list[dict[str, Any]]:
    """The `m.notice` contents that carry `reply`, each within `limit` bytes."""
    if reply.view is None or reply.report is None:
        contents = [_notice(part) for part in split(reply.text.rstrip(), limit, _utf8_size)]
    else:
        contents = _report_notices(reply, limit, prefix)
    plans = reply.options.get("plans") or ()
    return contents + [plan_notice(plan, number, prefix)
                       for number, plan in enumerate(plans, start=1)]


def plan_notice(plan: ActionPlan, number: int, prefix: str = PREFIX) -> dict[str, Any]:
    """One plan on its own notice, so that a ✅ on it names exactly that plan."""
    does = "run it" if plan.mutating else "see it"
    refused = f" It will be refused: {plan.blocked}." if plan.blocked else ""
    body = (f"{number}. {plan.label} (plan {plan.id}): react {CONFIRM_KEY} to this message or "
            f"say `{prefix} {CONFIRM_VERB} {plan.id}` to {does}.{refused}")
    return _notice(body) | {PLAN_KEY: plan.id, TOKEN_KEY: plan.token}


def posted_token(contents: Iterable[dict[str, Any]], plan_id: str) -> str | None:
    """The token of plan `plan_id` among message contents the bot posted, newest first."""
    return next((str(c[TOKEN_KEY]) for c in contents
                 if c.get(PLAN_KEY) == plan_id and c.get(TOKEN_KEY)), None)


def _report_notices(reply: Reply, limit: int, prefix: str) -> list[dict[str, Any]]:
    assert reply.view is not None and reply.report is not None
    options = {"prefix": prefix, **reply.options}
    text = render(reply.view, reply.report, "text", **options)
    html = render(reply.view, reply.report, "html", **options)
    if _utf8_size(text) + _utf8_size(html) <= limit:
        return [_notice(text, html)]
    markdown = render(reply.view, reply.report, "markdown", **options)
    return [_notice(part, markdown_to_html(part)) for part in split(markdown, limit, markdown_size)]


def _notice(body: str, html: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.notice", "body": body}
    if html is not None:
        content |= {"format": "org.matrix.custom.html", "formatted_body": html}
    return content


def image_content(image: Image, url: str) -> dict[str, Any]:
    """The `m.image` message that shows an uploaded picture (`url`: its mxc:// URI)."""
    info: dict[str, Any] = {"mimetype": "image/png", "size": len(image.png)}
    if image.png.startswith(PNG_SIGNATURE):  # width and height let clients reserve the space
        info |= {"w": int.from_bytes(image.png[16:20]), "h": int.from_bytes(image.png[20:24])}
    return {"msgtype": "m.image", "body": image.title, "filename": image.filename, "url": url,
            "info": info}


def _utf8_size(text: str) -> int:
    return len(text.encode())


def markdown_size(markdown: str) -> int:
    """Bytes a Markdown part costs in a notice: itself as `body` plus its HTML."""
    return _utf8_size(markdown) + _utf8_size(markdown_to_html(markdown))


def split(text: str, limit: int, size: Sizer) -> list[str]:
    """`text` cut into consecutive parts of at most `limit` bytes (by `size`), joined losslessly.

    Cuts fall on headings where possible, then on blank lines, then on lines; only a single
    line longer than the limit is cut inside.
    """
    if size(text) <= limit:
        return [text]
    groups = _pack(list(_atoms(text, limit, size)), limit, lambda atoms: size("".join(atoms)))
    return ["".join(text for text, _, _ in group) for group in groups]


Unit = tuple[str, int, bool]  # text, its size alone, whether a part must begin with it


def _pack(units: list[Unit], limit: int, measure: Callable[[list[str]], int],
          base: int = 0) -> list[list[Unit]]:
    """Consecutive units grouped greedily so that each group measures at most `limit`.
    Sizes almost add up (HTML joins a line after a list item into the item, and merges lines
    into one paragraph), so a group filled by its units' sum (plus `base`) is measured once,
    and gives its last units to the next group until it fits. A single unit always makes a
    group."""
    groups: list[list[Unit]] = []
    start = 0
    while start < len(units):
        end, estimate = start + 1, base + units[start][1]
        while end < len(units) and not units[end][2] and estimate + units[end][1] <= limit:
            estimate += units[end][1]
            end += 1
        while end - start > 1 and measure([u[0] for u in units[start:end]]) > limit:
            end -= 1
        groups.append(units[start:end])
        start = end
    return groups


def _atoms(text: str, limit: int, size: Sizer) -> Iterable[Unit]:
    """Pieces no larger than `limit`, from the coarsest cut that fits; a section too long
    for one part begins a part of its own."""
    for section in _sections(text):
        section_size = size(section)
        if section_size <= limit:
            yield section, section_size, False
            continue
        fresh = True
        for paragraph in _paragraphs(section):
            paragraph_size = size(paragraph)
            pieces = [(paragraph, paragraph_size)] if paragraph_size <= limit else \
                _line_pieces(paragraph, limit, size)
            for piece, piece_size in pieces:
                yield piece, piece_size, fresh
                fresh = False


def _blocks(text: str, starts_block: Callable[[str, str], bool]) -> list[str]:
    """`text` cut before each line for which `starts_block(line, previous)` holds, outside
    code fences; the pieces keep their line ends, so joining them gives `text` back."""
    blocks: list[str] = []
    fenced = False
    previous = ""
    for line in text.splitlines(keepends=True):
        if not fenced and blocks and starts_block(line, previous):
            blocks.append("")
        if not blocks:
            blocks.append("")
        blocks[-1] += line
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        previous = line
    return blocks


def _sections(markdown: str) -> list[str]:
    return _blocks(markdown, lambda line, _: bool(_HEADING.match(line)))


def _paragraphs(section: str) -> list[str]:
    return _blocks(section, lambda line, previous: not previous.strip() and bool(line.strip()))


def _line_pieces(paragraph: str, limit: int, size: Sizer) -> Iterable[tuple[str, int]]:
    """A paragraph cut at lines. A table repeats its header in every piece and a code block
    its fences, so that each piece still renders as what it is a part of."""
    opening, lines, closing = _frame(paragraph.splitlines(keepends=True))
    frame_size = size(opening + closing)

    def framed(run: list[str]) -> str:
        return opening + "".join(run) + closing

    def packed(run: list[Unit]) -> Iterable[tuple[str, int]]:
        """The run's lines in framed pieces, each with its estimated size (split() measures
        the parts it makes of them anyway)."""
        for group in _pack(run, limit, lambda lines: size(framed(lines)), frame_size):
            yield framed([line for line, _, _ in group]), frame_size + sum(n for _, n, _ in group)

    run: list[Unit] = []
    for line in lines:
        line_size = size(framed([line])) - frame_size
        if frame_size + line_size <= limit:
            run.append((line, line_size, False))
            continue
        yield from packed(run)  # then a line too long for any piece, cut inside
        run = []
        yield from ((cut, size(cut)) for cut in _cut_line(line, limit, size))
    yield from packed(run)


def _frame(lines: list[str]) -> tuple[str, list[str], str]:
    """(what each piece opens with, the lines to share out, what each piece closes with)."""
    if len(lines) > 2 and lines[0].lstrip().startswith("|") and _TABLE_RULE.fullmatch(
            lines[1].strip()):
        return "".join(lines[:2]), lines[2:], ""
    if len(lines) > 2 and _FENCE.match(lines[0].lstrip()) and _FENCE.match(lines[-1].lstrip()):
        return lines[0], lines[1:-1], lines[-1]
    return "", lines, ""


def _cut_line(line: str, limit: int, size: Sizer) -> list[str]:
    """A single over-long line in character slices that fit (the last resort)."""
    cuts: list[str] = []
    while line:
        length = len(line)
        while length > 1 and size(line[:length]) > limit:
            length //= 2
        cuts.append(line[:length])
        line = line[length:]
    return cuts
