"""Keep secrets out of chat: log lines that look like they hold one are replaced whole.

A whole line goes, not just the value: a password with a space or quote in it would
otherwise leak its tail. What counts as secret-looking: bearer tokens, key/value pairs whose
key names a password, token, secret or key, AWS access keys, JWTs, Slack and GitHub tokens,
URLs with a password (`postgres://user:pw@host`), and PEM private key blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SECRET_WORD = (r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
                r"private[_-]?key|client[_-]?secret|credentials?|auth(?:orization)?")

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bearer token", re.compile(r"\bbearer\s+[A-Za-z0-9\-._~+/]{8,}", re.IGNORECASE)),
    ("password in a URL", re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:[^\s@/]+@",
                                     re.IGNORECASE)),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Slack or GitHub token", re.compile(r"\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|"
                                         r"gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,})")),
    ("secret value", re.compile(
        rf"(?:{_SECRET_WORD})[\w.-]*[\"']?\s*(?:[:=]|=>)\s*[\"']?[^\s\"',;&]{{3,}}",
        re.IGNORECASE)),
)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")


def secret_kind(line: str) -> str | None:
    """What kind of secret the line seems to hold, or None."""
    return next((label for label, pattern in PATTERNS if pattern.search(line)), None)


def redact_lines(lines: Iterable[str]) -> tuple[list[str], int]:
    """The lines with secret-looking ones replaced, and how many were."""
    out: list[str] = []
    redacted = 0
    in_key = False
    for line in lines:
        if _PEM_BEGIN.search(line):
            in_key = True
        kind = "private key" if in_key else secret_kind(line)
        if in_key and _PEM_END.search(line):
            in_key = False
        if kind:
            redacted += 1
            out.append(f"[redacted: {kind}]")
        else:
            out.append(line)
    return out, redacted
