"""What every command shares: its declaration, its context, and argument parsing.

A command is a verb (`health`, `nodes`, ...) with a one-line summary and usage, and a pure
`run(ctx, request) -> Reply`. The context hands it the cluster source; the analysis of one
snapshot is computed once and shared by the commands that read it. The chat bot lets answers
trail a changing cluster by a few seconds (`max_lag`) while it re-diagnoses in the background
(bot/keeper.py), so a command answers from memory instead of analysing while the user waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.analyzers.base import Thresholds
from bot.chat.base import Reply, Request
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import ClusterSource, SourceError
from bot.report.model import Report, diagnose

if TYPE_CHECKING:  # built only where fixes are offered (console, bot): not on the CLI's path
    from bot.actions.remediation import Remediation


class UsageError(Exception):
    """The arguments do not fit the command; the message says how to call it."""


@dataclass
class Context:
    source: ClusterSource | None
    clock: Callable[[], datetime] | None = None  # None: the snapshot's own time
    thresholds: Thresholds = field(default_factory=Thresholds)
    remediation: Remediation | None = None  # None: `fix` and `confirm` are not offered here
    # Seconds a report may trail the source's snapshot; 0: every answer is of the latest one.
    max_lag: float = 0.0
    _cached: tuple[Snapshot, Report] | None = field(default=None, repr=False)
    _diagnosing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def report(self) -> Report:
        """The diagnosed report of the current snapshot, or of one at most `max_lag` seconds
        older with the same freshness (a cache gone stale is said at once)."""
        cached, snapshot = self._cached, self._snapshot()
        if cached is not None and (cached[0] is snapshot or self._close_enough(cached[0],
                                                                               snapshot)):
            return cached[1]
        return self.refresh()

    def refresh(self) -> Report:
        """Diagnose the current snapshot unless that is done; one diagnosis at a time, so
        commands arriving together wait for it rather than repeat it."""
        with self._diagnosing:
            snapshot = self._snapshot()
            if self._cached is None or self._cached[0] is not snapshot:
                now = self.clock() if self.clock else None
                self._cached = (snapshot, diagnose(snapshot, now=now,
                                                   thresholds=self.thresholds))
            return self._cached[1]

    def _snapshot(self) -> Snapshot:
        if self.source is None:
            raise SourceError("no cluster source configured")
        return self.source.snapshot()

    def _close_enough(self, diagnosed: Snapshot, latest: Snapshot) -> bool:
        lag = (latest.taken_at - diagnosed.taken_at).total_seconds()
        return self.max_lag > 0 and lag <= self.max_lag and latest.stale == diagnosed.stale

    def actions(self) -> Remediation:
        """The planner and executor of fixes; a usage error where none is set up."""
        if self.remediation is None:
            raise UsageError("fixes are not available here: this clusterbot runs without "
                             "remediation (use `clusterbot console` or the chat bot)")
        return self.remediation


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    run: Callable[[Context, Request], Reply]


@dataclass(frozen=True)
class Arguments:
    positional: tuple[str, ...]
    flags: frozenset[str]


def parse(request: Request, *, flags: frozenset[str] = frozenset(), max_positional: int = 0,
          usage: str) -> Arguments:
    given_flags = {a for a in request.args if a.startswith("-")}
    unknown = given_flags - flags
    positional = tuple(a for a in request.args if not a.startswith("-"))
    if unknown:
        raise UsageError(f"unknown option {sorted(unknown)[0]}; usage: {usage}")
    if len(positional) > max_positional:
        raise UsageError(f"too many arguments; usage: {usage}")
    return Arguments(positional, frozenset(given_flags))


def view_reply(ctx: Context, view: str, request: Request, usage: str) -> Reply:
    """The reply of a command that shows one report view and takes no arguments."""
    parse(request, usage=usage)
    return Reply(view=view, report=ctx.report())
