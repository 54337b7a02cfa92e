"""When the weekly report runs: crontab semantics, the configured time zone, daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.cluster.demo import demo_snapshot
from bot.config import Settings
from bot.scheduler import (
    JOB_ID,
    NOTHING_DUE,
    POSTED,
    ScheduleError,
    latest_due,
    next_run,
    report_trigger,
)
from tests.fakeclock import FakeClock, drive_apscheduler
from tests.scheduler.harness import CHANNEL, RecordingChat, settings, start_replica

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def in_utc(moment: datetime | None) -> datetime | None:
    """Aware times in a DST fold or gap never compare equal across zones (PEP 495)."""
    return moment.astimezone(UTC) if moment else None


@pytest.mark.parametrize(("cron", "zone", "after", "expected"), [
    ("0 9 * * mon", "UTC", utc(2025, 10, 19, 12), utc(2025, 10, 20, 9)),
    ("0 9 * * 1", "UTC", utc(2025, 10, 19, 12), utc(2025, 10, 20, 9)),  # crontab: 1 = Monday
    ("0 9 * * 0", "UTC", utc(2025, 10, 20, 12), utc(2025, 10, 26, 9)),  # 0 = Sunday
    ("0 9 * * 7", "UTC", utc(2025, 10, 20, 12), utc(2025, 10, 26, 9)),  # so is 7
    ("0 9 * * 1-5", "UTC", utc(2025, 10, 24, 12), utc(2025, 10, 27, 9)),  # Fri -> Mon
    # 09:00 in Berlin: 07:00 UTC in summer time, 08:00 after the clocks go back (Oct 26) ...
    ("0 9 * * sun", "Europe/Berlin", utc(2025, 10, 19, 7), utc(2025, 10, 26, 8)),
    # ... and 07:00 UTC again once they go forward (Mar 29).
    ("0 9 * * sun", "Europe/Berlin", utc(2026, 3, 22, 8), utc(2026, 3, 29, 7)),
])
def test_next_report_time(cron, zone, after, expected):
    trigger = report_trigger(Settings(report_cron=cron, report_tz=zone))
    assert in_utc(next_run(trigger, after)) == expected


def test_clocks_going_back_do_not_repeat_the_report():
    """02:30 happens twice in Berlin on 2025-10-26; the report runs at the first one only."""
    trigger = report_trigger(Settings(report_cron="30 2 * * sun", report_tz="Europe/Berlin"))
    first = next_run(trigger, utc(2025, 10, 25))
    assert first is not None and in_utc(first) == utc(2025, 10, 26, 0, 30)  # 02:30 CEST
    assert in_utc(next_run(trigger, first)) == utc(2025, 11, 2, 1, 30)  # not 02:30 CET
    # At the repeated 02:30 (CET), the report due is still the one already run.
    due = latest_due(trigger, utc(2025, 10, 26, 1, 30), timedelta(hours=12))
    assert in_utc(due) == in_utc(first)


def test_clocks_going_forward_still_run_the_report_once():
    """02:30 does not exist in Berlin on 2026-03-29; the report runs once, after the gap."""
    trigger = report_trigger(Settings(report_cron="30 2 * * sun", report_tz="Europe/Berlin"))
    first = next_run(trigger, utc(2026, 3, 28))
    assert first is not None and in_utc(first) == utc(2026, 3, 29, 1, 30)
    assert (first.hour, first.minute, first.tzname()) == (3, 30, "CEST")
    assert in_utc(next_run(trigger, first)) == utc(2026, 4, 5, 0, 30)


@pytest.mark.parametrize(("cron", "message"), [
    ("0 9 * *", "expected 5 fields"),
    ("61 9 * * mon", "higher than the maximum value (59)"),
    ("0 9 * * 8", "day of week '8'"),
    ("0 9 * * 5-2", "day of week '5-2'"),
    ("0 9 * * funday", 'Invalid weekday name "funday"'),
])
def test_a_bad_schedule_is_one_clear_error(cron, message):
    with pytest.raises(ScheduleError, match="CLUSTERBOT_REPORT_CRON") as error:
        report_trigger(Settings(report_cron=cron))
    assert message in str(error.value)


def test_an_unknown_time_zone_is_refused_by_the_settings():
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(report_tz="Mars/Olympus")


@pytest.mark.parametrize(("last_week", "this_week"), [
    (utc(2025, 10, 19, 7), utc(2025, 10, 26, 8)),  # clocks went back in between
    (utc(2026, 3, 22, 8), utc(2026, 3, 29, 7)),  # clocks went forward
])
def test_the_job_fires_at_nine_berlin_time_across_a_dst_change(mocker, tmp_path, last_week,
                                                               this_week):
    clock = FakeClock(last_week + timedelta(hours=13))  # past last week's grace period
    drive_apscheduler(mocker, clock)
    chat = RecordingChat()
    replica = start_replica(None, tmp_path, clock, chat, demo_snapshot(),
                            settings(report_cron="0 9 * * sun", report_tz="Europe/Berlin"))
    try:
        assert replica.outcome() == NOTHING_DUE  # the start-up catch-up: nothing missed
        assert in_utc(replica.scheduler.scheduler.get_job(JOB_ID).next_run_time) == this_week
        clock.set(this_week)
        replica.wake()
        assert replica.outcome() == POSTED
        [(destination, reply)] = chat.posts
        assert destination == CHANNEL
        assert reply.report is not None and reply.report.next_review is not None
        next_week = reply.report.next_review.astimezone(BERLIN)
        assert (next_week.date(), next_week.hour) == ((this_week + timedelta(days=7)).date(), 9)
    finally:
        replica.stop()
