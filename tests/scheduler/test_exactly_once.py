"""One weekly report, however many replicas: leader election, the claim in the history
ConfigMap, a leader dying, a run missed while the bot was down, and restarts. Every replica
talks to one fake API server over HTTP; the clock is the test's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from bot.chat.base import Reply
from bot.cluster.demo import demo_snapshot
from bot.cluster.history_store import CONFIGMAP, DATA_KEY, ConfigMapHistory
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.scheduler import (
    ALREADY_POSTED,
    JOB_ID,
    NOT_LEADER,
    NOTHING_DUE,
    POSTED,
    RETRY_DELAY,
    UNDELIVERED,
    ReportScheduler,
    Route,
    SoleReplica,
    WeeklyReporter,
    report_trigger,
)
from commands import Context
from tests.cluster.live_helpers import connect
from tests.fakeclock import FakeClock, drive_apscheduler
from tests.scheduler.harness import (
    CHANNEL,
    NS,
    RecordingChat,
    Replica,
    settings,
    start_replica,
    watch,
)

SUNDAY_NOON = datetime(2025, 10, 19, 12, 0, tzinfo=UTC)
MONDAY_9 = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)  # the default schedule, in UTC
WEEK = timedelta(days=7)


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return demo_snapshot()


@pytest.fixture
def clock(mocker) -> FakeClock:
    made = FakeClock(SUNDAY_NOON)
    drive_apscheduler(mocker, made)
    return made


@pytest.fixture
def replicas():
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()


def stored(api) -> dict:
    return orjson.loads(api.get("configmaps", NS, CONFIGMAP)["data"][DATA_KEY])


def run_until_leader(replica: Replica, clock: FakeClock, limit: int = 20) -> datetime:
    """Step the elector every retry period until it leads; returns when it did."""
    for _ in range(limit):
        clock.advance(seconds=replica.elector.config.retry_period)
        if replica.elector.step():
            return clock()
    raise AssertionError(f"no leadership within {limit} retry periods")


def test_two_replicas_started_together_post_one_report(fake_api, tmp_path, clock, chat,
                                                       snapshot, replicas):
    a = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    b = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    replicas += [a, b]
    assert a.elector.step() and not b.elector.step()
    assert a.outcome() == NOTHING_DUE  # elected on Sunday: nothing missed
    clock.set(MONDAY_9 - timedelta(seconds=2))
    assert a.elector.step() and not b.elector.step()
    assert a.outcome() == NOTHING_DUE  # the clock jumped past a's renew deadline: re-elected
    clock.set(MONDAY_9)
    a.wake()
    b.wake()
    assert sorted([a.outcome(), b.outcome()]) == sorted([POSTED, NOT_LEADER])
    [(destination, reply)] = chat.posts
    assert destination == CHANNEL and reply.view == "report"
    assert reply.report is not None and reply.report.changes is not None
    assert reply.report.next_review == MONDAY_9 + WEEK
    assert reply.images and reply.images[0].png.startswith(b"\x89PNG")
    history = stored(fake_api)
    assert history["lastRun"] == MONDAY_9.isoformat() and len(history["entries"]) == 1


def test_even_two_replicas_that_both_think_they_lead_post_once(fake_api, tmp_path, clock,
                                                              chat, snapshot, replicas):
    """The claim in the ConfigMap is the last guard: a split brain still posts one report."""
    for _ in range(2):
        client = connect(fake_api, tmp_path)
        reporter = WeeklyReporter(Context(StaticSource(snapshot)), ConfigMapHistory(client, NS),
                                  [Route(chat, CHANNEL)])
        scheduler = ReportScheduler(report_trigger(settings()), timedelta(hours=12), reporter,
                                    SoleReplica(), clock=clock)
        replicas.append(watch(Replica(client, scheduler)))
    assert [r.outcome() for r in replicas] == [NOTHING_DUE, NOTHING_DUE]
    clock.set(MONDAY_9)
    for replica in replicas:
        replica.wake()
    assert sorted(r.outcome() for r in replicas) == sorted([POSTED, ALREADY_POSTED])
    assert len(chat.posts) == 1


def test_killing_the_leader_hands_over_within_the_lease_and_posts_once(
        fake_api, tmp_path, clock, chat, snapshot, replicas):
    a = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    b = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    replicas += [a, b]
    assert a.elector.step() and a.outcome() == NOTHING_DUE
    clock.set(MONDAY_9 - timedelta(seconds=2))
    assert a.elector.step() and not b.elector.step()
    assert a.outcome() == NOTHING_DUE  # re-elected after the clock jump
    last_renewal = clock()
    a.kill()  # 2 s before the report: no release, no more renewals

    clock.set(MONDAY_9)
    b.wake()
    assert b.outcome() == NOT_LEADER  # the Lease is still a's
    taken_over = run_until_leader(b, clock)
    lease = b.elector.config
    assert (taken_over - last_renewal).total_seconds() <= lease.duration + lease.retry_period
    assert b.outcome() == POSTED  # the catch-up on election: 09:00's report
    [(_, first)] = chat.posts
    assert fake_api.get("leases", NS, "clusterbot-scheduler")["spec"]["leaseTransitions"] == 1

    clock.set(MONDAY_9 + WEEK - timedelta(seconds=2))
    assert b.elector.step()
    assert b.outcome() == NOTHING_DUE  # re-elected after the clock jump
    clock.set(MONDAY_9 + WEEK)
    b.wake()
    assert b.outcome() == POSTED
    assert len(chat.posts) == 2
    second = chat.posts[1][1]
    assert second.report.changes.since == first.report.generated_at  # compared with last week
    assert stored(fake_api)["lastRun"] == (MONDAY_9 + WEEK).isoformat()


def test_a_missed_report_is_caught_up_once_and_not_again_after_a_restart(
        fake_api, tmp_path, clock, chat, snapshot, replicas):
    clock.set(MONDAY_9 + timedelta(hours=1))  # the bot was down at 09:00
    first = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    replicas.append(first)
    assert first.elector.step()
    assert first.outcome() == POSTED
    assert chat.posts[0][1].report.next_review == MONDAY_9 + WEEK
    first.stop()  # a graceful restart: the Lease is released
    replicas.remove(first)

    clock.advance(minutes=30)
    again = start_replica(fake_api, tmp_path, clock, chat, snapshot, settings())
    replicas.append(again)
    assert again.elector.step()  # released: taken at once
    assert again.outcome() == ALREADY_POSTED
    assert len(chat.posts) == 1
    assert len(stored(fake_api)["entries"]) == 1


def test_a_report_missed_beyond_the_grace_period_is_skipped(fake_api, tmp_path, clock, chat,
                                                            snapshot, replicas):
    clock.set(MONDAY_9 + timedelta(hours=3))
    late = start_replica(fake_api, tmp_path, clock, chat, snapshot,
                         settings(report_grace_hours=2))
    replicas.append(late)
    assert late.elector.step()
    assert late.outcome() == NOTHING_DUE
    assert chat.posts == []
    next_time = late.scheduler.scheduler.get_job(JOB_ID).next_run_time
    assert next_time == MONDAY_9 + WEEK


class DownUntilToldChat(RecordingChat):
    """Slack refusing every post (an injected fault) until the test says it is back."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def post(self, destination: str, reply: Reply) -> None:
        if self.down:
            raise ConnectionError("slack is down")
        super().post(destination, reply)


def sole_replica(fake_api, tmp_path, clock, chat, snapshot, grace_hours: float) -> Replica:
    """One replica without leader election, its history in the fake cluster."""
    client = connect(fake_api, tmp_path)
    reporter = WeeklyReporter(Context(StaticSource(snapshot)), ConfigMapHistory(client, NS),
                              [Route(chat, CHANNEL)])
    trigger = report_trigger(settings())
    return watch(Replica(client, ReportScheduler(trigger, timedelta(hours=grace_hours),
                                                 reporter, SoleReplica(), clock=clock)))


def test_a_process_that_slept_through_three_reports_posts_one(fake_api, tmp_path, clock, chat,
                                                             snapshot, replicas):
    """APScheduler's coalescing and misfire grace: a late process posts once, not per week."""
    sole = sole_replica(fake_api, tmp_path, clock, chat, snapshot, grace_hours=12)
    replicas.append(sole)
    assert sole.outcome() == NOTHING_DUE
    clock.set(MONDAY_9 + 2 * WEEK + timedelta(hours=1))  # suspended since Sunday
    sole.wake()
    assert sole.outcome() == POSTED
    assert len(chat.posts) == 1
    assert stored(fake_api)["lastRun"] == (MONDAY_9 + 2 * WEEK).isoformat()
    next_time = sole.scheduler.scheduler.get_job(JOB_ID).next_run_time
    assert next_time == MONDAY_9 + 3 * WEEK


def monday_with_slack_down(fake_api, tmp_path, clock, snapshot, replicas,
                           grace_hours: float) -> tuple[DownUntilToldChat, Replica]:
    """A sole replica whose Monday report no chat took."""
    chat = DownUntilToldChat()
    sole = sole_replica(fake_api, tmp_path, clock, chat, snapshot, grace_hours)
    replicas.append(sole)
    assert sole.outcome() == NOTHING_DUE
    clock.set(MONDAY_9)
    sole.wake()
    assert sole.outcome() == UNDELIVERED
    return chat, sole


def test_a_report_no_chat_took_is_tried_again_and_posted_once(fake_api, tmp_path, clock,
                                                               snapshot, replicas):
    chat, sole = monday_with_slack_down(fake_api, tmp_path, clock, snapshot, replicas, 2)
    assert stored(fake_api)["lastRun"] == ""  # the claim is given back
    clock.advance(seconds=RETRY_DELAY.total_seconds())
    sole.wake()
    assert sole.outcome() == UNDELIVERED  # still down: tried again, nothing posted
    chat.down = False
    clock.advance(seconds=RETRY_DELAY.total_seconds())
    sole.wake()
    assert sole.outcome() == POSTED
    assert len(chat.posts) == 1
    history = stored(fake_api)
    assert history["lastRun"] == MONDAY_9.isoformat() and len(history["entries"]) == 1


def test_retries_stop_at_the_end_of_the_grace(fake_api, tmp_path, clock, snapshot, replicas):
    chat, sole = monday_with_slack_down(fake_api, tmp_path, clock, snapshot, replicas, 0.1)
    chat.down = False
    clock.advance(minutes=7)  # past the 6-minute grace when the retry comes
    sole.wake()
    assert sole.outcome() == NOTHING_DUE
    assert chat.posts == []


@pytest.fixture
def chat() -> RecordingChat:
    return RecordingChat()
