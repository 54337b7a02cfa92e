"""The weekly report, posted by itself: on a cron schedule, once, whatever the replicas do.

APScheduler (3.x, a BackgroundScheduler) fires the job at `CLUSTERBOT_REPORT_CRON` in
`CLUSTERBOT_REPORT_TZ`, daylight saving included. Every replica schedules it and answers
commands; the job only works on the replica that holds the leader Lease (bot/cluster/lease.py).
Exactly once comes from the history ConfigMap: before posting, the leader claims the scheduled
time there with an optimistic-concurrency write, so neither a second replica, nor a leader
handing over mid-run, nor a restart can post the same week twice. A run missed while no replica
led (the bot was down at 09:00, or a leader died just before) is caught up when one leads again,
within `CLUSTERBOT_REPORT_GRACE_HOURS` (APScheduler's misfire grace and coalescing cover a
process that was alive but late). A report no chat took (Slack down at 09:00) gives its claim
back and is tried again every few minutes within the same grace. `clusterbot report --post`
reuses the same `WeeklyReporter` for a CronJob-style deployment without the long-running bot.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.chat.base import ChatAdapter, Image, Reply
from bot.cluster.client import KubeClient, KubeError
from bot.cluster.history_store import (
    ConfigMapHistory,
    HistoryError,
    HistoryStore,
    MemoryHistory,
    append_entry,
    claim_run,
    release_run,
)
from bot.cluster.lease import Clock, LeaderElector, LeaseConfig, utc_now
from bot.cluster.source import SourceError
from bot.config import Settings
from bot.report.chart import render_chart_apart
from bot.report.history import summaries, summarize, weekly_report
from bot.report.model import Report

log = logging.getLogger(__name__)

LEASE_NAME = "clusterbot-scheduler"
JOB_ID, CATCH_UP_ID, RETRY_ID = "weekly-report", "weekly-report-catch-up", "weekly-report-retry"
POSTED, NOT_LEADER, NOTHING_DUE, ALREADY_POSTED, FAILED, UNDELIVERED = (
    "posted", "not leader", "nothing due", "already posted", "failed",
    "no chat took it, trying again later")
RETRY_DELAY = timedelta(minutes=5)  # a report no chat took is tried again, within the grace
# !id (room version 12 ids have no :server, older ones do) or #alias:server; else a Slack channel
MATRIX_ROOM = re.compile(r"![^\s]+|#[^:\s]+:\S+")
READY_TIMEOUT = 30.0  # seconds a one-shot post waits for an adapter to connect


class ScheduleError(ValueError):
    """The schedule or the report's destinations cannot be used; the message says why."""


# -- when -------------------------------------------------------------------------------------

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_ITEM = re.compile(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?")


def _crontab_weekdays(field: str) -> str:
    """Crontab's day-of-week numbers (0 or 7 = Sunday) as names, which APScheduler 3 reads
    right: it takes 0 as Monday, so "* * * * 1" would otherwise fire on Tuesdays."""
    items: list[str] = []
    for item in field.lower().split(","):
        match = _DAY_ITEM.fullmatch(item)
        if match is None or item == "*":
            items.append(item)  # names and name ranges (mon-fri) mean the same to both
            continue
        start, end, step = match.groups()
        first = 0 if start == "*" else int(start)
        last = int(end) if end else (6 if start == "*" or step else first)
        days = range(first, last + 1, int(step or 1))
        if not days or last > 7:
            raise ScheduleError(f"day of week {item!r} is not a day or range of days (0-7)")
        items.extend(_DAY_NAMES[day % 7] for day in days)
    return ",".join(dict.fromkeys(items))


def report_trigger(settings: Settings) -> CronTrigger:
    """The cron schedule of the weekly report, in its time zone."""
    fields = settings.report_cron.split()
    if len(fields) != 5:
        raise ScheduleError(f"CLUSTERBOT_REPORT_CRON {settings.report_cron!r}: expected 5 "
                            "fields (minute hour day-of-month month day-of-week)")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_crontab_weekdays(weekday),
                           timezone=ZoneInfo(settings.report_tz))
    except ValueError as error:
        raise ScheduleError(f"CLUSTERBOT_REPORT_CRON {settings.report_cron!r}: {error}") \
            from None


def scheduled_times(trigger: CronTrigger, after: datetime) -> Iterator[datetime]:
    """The scheduled times strictly after `after`, as wall-clock times in the schedule's zone,
    each once: on the night clocks go back APScheduler fires an ambiguous time (02:30) twice,
    and the repeat is dropped; a time the clocks skip comes out as the hour after (03:30)."""
    fire: datetime | None = after
    while (fire := trigger.get_next_fire_time(fire, fire)) is not None:
        local = fire.astimezone(UTC).astimezone(trigger.timezone)
        if local.replace(fold=0).utcoffset() == local.utcoffset():
            yield local


def next_run(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first scheduled time strictly after `after`, in the schedule's zone."""
    return next(scheduled_times(trigger, after), None)


def latest_due(trigger: CronTrigger, now: datetime, grace: timedelta) -> datetime | None:
    """The latest scheduled time in the last `grace` up to `now`: the report to post now."""
    due = None
    for fire in scheduled_times(trigger, now - grace - timedelta(microseconds=1)):
        if fire > now:
            break
        due = fire
    return due


# -- what and where ---------------------------------------------------------------------------


class ReportSource(Protocol):
    """What the reporter reads: the current report (commands.Context provides it)."""

    def report(self) -> Report: ...


@dataclass(frozen=True)
class Route:
    adapter: ChatAdapter
    destination: str


def report_routes(settings: Settings, adapters: Sequence[ChatAdapter]) -> list[Route]:
    """Each CLUSTERBOT_REPORT_CHANNEL entry on its chat: Matrix rooms (!id:server,
    #alias:server) on Matrix, the rest on Slack; with no Matrix room there, MATRIX_ROOMS."""
    rooms = [d for d in settings.report_channel if MATRIX_ROOM.fullmatch(d)]
    wanted = {"slack": [d for d in settings.report_channel if not MATRIX_ROOM.fullmatch(d)],
              "matrix": rooms or list(settings.matrix_rooms)}
    by_name = {a.name: a for a in adapters}
    for name, destinations in wanted.items():
        if destinations and name not in by_name:
            log.warning("weekly report: %s is not configured; not posting to %s", name,
                        ", ".join(destinations))
    return [Route(by_name[name], d) for name, destinations in wanted.items()
            if name in by_name for d in destinations]


class WeeklyReporter:
    """Makes the weekly report (what changed, the chart), posts it, and records its summary."""

    def __init__(self, source: ReportSource, store: HistoryStore, routes: Sequence[Route]
                 ) -> None:
        self.source = source
        self.store = store
        self.routes = tuple(routes)

    def compose(self, report: Report, next_review: datetime | None, *, picture: bool = True
                ) -> Reply:
        history = summaries(self.store.load().entries)
        weekly = weekly_report(report, history, next_review)
        if not picture:
            return Reply(view="report", report=weekly)
        chart = Image("clusterbot-week.png", "Node usage and health score",
                      render_chart_apart(weekly))
        return Reply(view="report", report=weekly, images=(chart,))

    def deliver(self, reply: Reply) -> int:
        """Post to every route; returns how many took it (one failing chat spares the others)."""
        delivered = 0
        for route in self.routes:
            try:
                route.adapter.post(route.destination, reply)
                delivered += 1
            except Exception as error:  # noqa: BLE001 - each adapter raises its own errors
                log.error("weekly report not delivered to %s %s: %s", route.adapter.name,
                          route.destination, error)
        return delivered

    def record(self, report: Report) -> None:
        append_entry(self.store, summarize(report).to_json())

    def post(self, next_review: datetime | None) -> str:
        """Compose, deliver and record one weekly report; say so in chat if it cannot be made."""
        try:
            reply = self.compose(self.source.report(), next_review)
        except SourceError as error:
            self.deliver(Reply(text=f"The weekly report could not be made: {error}",
                               error=True))
            return FAILED
        if not self.deliver(reply):
            return UNDELIVERED
        assert reply.report is not None
        self.record(reply.report)
        return POSTED


# -- the schedule -----------------------------------------------------------------------------


class Leadership(Protocol):
    """Whether this replica may run the scheduled jobs (LeaderElector, SoleReplica)."""

    @property
    def is_leader(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self, *, release: bool = True) -> None: ...


class SoleReplica:
    """Leadership without a cluster API (`serve --demo`): this process is the only one."""

    is_leader = True

    def start(self) -> None:
        """Nothing to campaign for."""

    def stop(self, *, release: bool = True) -> None:
        """Nothing to release."""


class ReportScheduler:
    """The cron job, on every replica; it posts only where the replica leads."""

    def __init__(self, trigger: CronTrigger, grace: timedelta, reporter: WeeklyReporter,
                 leadership: Leadership, *, clock: Clock = utc_now) -> None:
        self.trigger = trigger
        self.grace = grace
        self.reporter = reporter
        self.leadership = leadership
        self._clock = clock
        self._lock = threading.Lock()  # the cron job and a catch-up never overlap
        self.scheduler = BackgroundScheduler(timezone=trigger.timezone)

    def start(self) -> None:
        grace_seconds = max(1, int(self.grace.total_seconds()))
        self.scheduler.add_job(self.run_due, self.trigger, id=JOB_ID, coalesce=True,
                               misfire_grace_time=grace_seconds, max_instances=1)
        self.scheduler.start()
        if self.leadership.is_leader:
            self.catch_up()
        log.info("weekly report scheduled (%s); next at %s", self.trigger,
                 next_run(self.trigger, self._clock()))

    def catch_up(self) -> None:
        """Run now whatever report is due and not yet posted: on start, and on becoming the
        leader (the previous one may have died just before the scheduled time)."""
        self.scheduler.add_job(self.run_due, DateTrigger(run_date=self._clock()),
                               id=CATCH_UP_ID, replace_existing=True, misfire_grace_time=None)

    def run_due(self) -> str:
        """Post the report due now, if this replica leads and nobody posted it; returns what
        happened (also logged)."""
        with self._lock:
            outcome, due = self._run_due()
        log.info("weekly report %s: %s", due.isoformat() if due else "-", outcome)
        return outcome

    def _run_due(self) -> tuple[str, datetime | None]:
        due = latest_due(self.trigger, self._clock(), self.grace)
        if due is None:
            return NOTHING_DUE, None
        if not self.leadership.is_leader:
            return NOT_LEADER, due
        try:
            claim = claim_run(self.reporter.store, due)
            if claim is None:
                return ALREADY_POSTED, due
            outcome = self.reporter.post(next_run(self.trigger, due))
            if outcome == UNDELIVERED:
                release_run(self.reporter.store, claim)
                self._retry_later()
            return outcome, due
        except (HistoryError, KubeError, SourceError) as error:
            log.error("weekly report %s failed: %s", due.isoformat(), error)
            return FAILED, due

    def _retry_later(self) -> None:
        self.scheduler.add_job(self.run_due, DateTrigger(run_date=self._clock() + RETRY_DELAY),
                               id=RETRY_ID, replace_existing=True, misfire_grace_time=None)

    def shutdown(self, *, release: bool = True) -> None:
        """Stop scheduling (a running report finishes first) and hand the Lease over."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.leadership.stop(release=release)


def report_now(settings: Settings, ctx: ReportSource, store: HistoryStore,
               adapters: Sequence[ChatAdapter], *, post: bool, record: bool) -> Reply:
    """`clusterbot report --since-last|--record|--post`: the weekly report now, opening with
    what changed since the last one in `store`; `post` sends it to the report's destinations
    (and records it), `record` keeps its summary for the next comparison."""
    routes = report_routes(settings, adapters) if post else []
    if post and not routes:
        raise ScheduleError("nowhere to post: set CLUSTERBOT_REPORT_CHANNEL to a Slack channel "
                            "or a Matrix room, with that chat configured")
    reporter = WeeklyReporter(ctx, store, routes)
    report = ctx.report()
    reply = reporter.compose(report, next_run(report_trigger(settings), report.generated_at),
                             picture=post)
    delivered = _deliver_once(reporter, reply) if post else 0
    if (record or delivered) and reply.report is not None:
        reporter.record(reply.report)
    if delivered < len(routes):
        raise ScheduleError(f"the report reached {delivered} of {len(routes)} destinations "
                            "(the log says why)")
    return reply


def _deliver_once(reporter: WeeklyReporter, reply: Reply) -> int:
    """Connect the chats just long enough to post (a one-shot run has no bot running)."""
    adapters = list(dict.fromkeys(route.adapter for route in reporter.routes))
    started = []
    try:
        for adapter in adapters:
            adapter.start()
            started.append(adapter)
            wait = getattr(adapter, "wait_until_ready", None)  # Matrix posts once synced
            if wait is not None and not wait(READY_TIMEOUT):
                log.error("%s did not connect within %.0f s", adapter.name, READY_TIMEOUT)
        return reporter.deliver(reply)
    finally:
        for adapter in reversed(started):
            adapter.stop()


class _Unscheduled:
    """What `start_scheduler` returns when there is nowhere to post."""

    def shutdown(self, *, release: bool = True) -> None:
        """Nothing was started."""


def replica_identity() -> str:
    """Unique per process: the pod name (the hostname in Kubernetes) and a random suffix."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def build_scheduler(settings: Settings, ctx: ReportSource, adapters: Sequence[ChatAdapter],
                    client: KubeClient | None, *, clock: Clock = utc_now
                    ) -> ReportScheduler | None:
    """The weekly report's scheduler, not started; None when there is nowhere to post.

    With a cluster API (`client`), history lives in the ConfigMap and a Lease elects the one
    replica that posts; without one (demo, dump), this process posts and remembers alone."""
    trigger = report_trigger(settings)
    routes = report_routes(settings, adapters)
    if not routes:
        return None
    store: HistoryStore
    leadership: Leadership
    if client is None:
        store, leadership = MemoryHistory(), SoleReplica()
    else:
        store = ConfigMapHistory(client, settings.namespace)
        leadership = LeaderElector(client, LeaseConfig.scaled(
            settings.namespace, LEASE_NAME, replica_identity(),
            settings.lease_duration_seconds), clock=clock)
    reporter = WeeklyReporter(ctx, store, routes)
    grace = timedelta(hours=settings.report_grace_hours)
    scheduler = ReportScheduler(trigger, grace, reporter, leadership, clock=clock)
    if isinstance(leadership, LeaderElector):
        leadership.on_elected = scheduler.catch_up
    return scheduler


def start_scheduler(settings: Settings, ctx: ReportSource, adapters: Sequence[ChatAdapter],
                    client: KubeClient | None) -> ReportScheduler | _Unscheduled:
    """Schedule the weekly report for `serve`; returns a handle whose `shutdown()` stops it
    (and hands the Lease over). Raises ScheduleError for an unusable schedule."""
    scheduler = build_scheduler(settings, ctx, adapters, client)
    if scheduler is None:
        log.warning("no weekly report: set CLUSTERBOT_REPORT_CHANNEL to a Slack channel or a "
                    "Matrix room")
        return _Unscheduled()
    scheduler.start()
    scheduler.leadership.start()
    return scheduler
