"""The values remediation hands to the chat layer: plans to offer, outcomes to show.

`ActionPlan` is what a button or `fix` shows before anything happens; `Outcome` is what a
confirmation did, worded for updating the chat message in place (`headline`) and for a thread
reply (`details`). Both are plain data, so every chat adapter renders them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.models import ObjectRef


@dataclass(frozen=True, slots=True)
class Actor:
    """Who clicked or typed: a platform user ID (Slack U..., Matrix @a:b, console:login)."""

    user: str
    platform: str = ""

    def __str__(self) -> str:
        return f"{self.user} ({self.platform})" if self.platform else self.user


class Effect(StrEnum):
    """What happened to one object."""

    DONE = "done"  # deleted or restarted
    WOULD = "would"  # dry run: it would be done
    GONE = "gone"  # already gone (404)
    RECREATED = "recreated"  # same name, another uid: left alone
    FORBIDDEN = "forbidden"  # 403 from the API (RBAC)
    FAILED = "failed"  # any other error


@dataclass(frozen=True, slots=True)
class ObjectResult:
    target: ObjectRef
    effect: Effect
    message: str


class Result(StrEnum):
    """What a confirmation came to, as a whole."""

    DONE = "done"
    PARTIAL = "partial"  # some objects changed, some not
    NO_CHANGE = "no-change"  # nothing left to change: gone or recreated
    FAILED = "failed"  # API errors; nothing changed
    DENIED = "denied"  # the policy refused: user, action, namespace, or remediation off
    EXPIRED = "expired"
    INVALID = "invalid"  # tampered, malformed, or not a plan this clusterbot can run
    ALREADY_DONE = "already-done"  # replayed or double-clicked
    DRY_RUN = "dry-run"
    SHOWN = "shown"  # a read-only helper answered

    @property
    def refused(self) -> bool:
        return self in (Result.DENIED, Result.EXPIRED, Result.INVALID, Result.ALREADY_DONE)

    @property
    def warning(self) -> bool:
        return self in (Result.PARTIAL, Result.FAILED, Result.DENIED, Result.EXPIRED,
                        Result.INVALID)


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """A proposal made concrete: what confirming `token` will do, to exactly which objects."""

    id: str  # short and public: names the plan in `confirm <id>`, claims and audit
    action: str
    label: str
    mutating: bool
    targets: tuple[ObjectRef, ...]
    subject: ObjectRef | None
    requester: str
    expires_at: datetime
    token: str
    description: str  # the dry run: what will happen, in words
    command: str  # the kubectl equivalent
    title: str  # a confirm dialog's title
    blocked: str = ""  # why confirming will be refused whoever clicks (policy), if it will


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    headline: str  # one line: replaces the message that offered the action
    details: tuple[str, ...] = ()  # the thread reply: one line per object, or the logs
    plan_id: str = ""
    action: str = ""
    actor: Actor | None = None
    objects: tuple[ObjectResult, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join([self.headline, *self.details])
