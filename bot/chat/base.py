"""The platform-neutral conversation: what a user asked and what the bot answers.

Commands return a `Reply`; each chat adapter (Slack, Matrix, console) renders it in its own
format from the same view model, so no command knows which chat it serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.report.model import Report


@dataclass(frozen=True)
class Request:
    """One command invocation: the verb's arguments and who asked, where."""

    args: tuple[str, ...] = ()
    user: str = ""
    channel: str = ""
    platform: str = ""  # "slack", "matrix", "console": recorded in the remediation audit
    prefix: str = "/cluster"  # how commands are typed here (`!cluster` in Matrix), for help


@dataclass(frozen=True)
class Image:
    """A picture sent with a reply (the weekly report's usage and score chart)."""

    filename: str  # "clusterbot-week.png"
    title: str
    png: bytes


@dataclass(frozen=True)
class Reply:
    """An answer: a report view to render, or a plain message (help, errors, checks)."""

    view: str | None = None
    report: Report | None = None
    text: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    error: bool = False  # the request could not be served; `text` says why
    ephemeral: bool = False  # only the asker should see it (denials, usage errors)
    images: tuple[Image, ...] = ()  # to show with the reply (uploaded beside it)

    @property
    def title(self) -> str:
        if self.report is None:
            return self.text.splitlines()[0] if self.text else ""
        score = self.report.score
        return f"{self.report.cluster}: {score.total}/100 ({score.grade}, {score.label})"


def loggable(text: str) -> str:
    """A command as logs may show it: a confirmation's signed token (a grant to act, until it
    expires) is left out."""
    verb, _, rest = text.strip().partition(" ")
    return f"{verb} <token>" if verb.lower() == "confirm" and rest else text


class ChatAdapter(Protocol):
    """A chat platform the bot serves (Slack, Matrix, console).

    `start()` begins receiving commands in the background and returns; `post()` sends an
    unprompted message (the weekly report) to a channel or room; `stop()` disconnects.
    `error` says why an adapter gave up for good after starting (a wrong password found at
    login); None while it serves or retries.
    """

    name: str
    error: str | None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def post(self, destination: str, reply: Reply) -> None: ...
