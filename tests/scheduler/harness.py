"""Bot replicas for the scheduler tests: each with its own KubeClient to the shared fake API
server, its own APScheduler and Lease elector, posting into one recording chat. The clock is
the test's; electors are stepped by the test (as their thread would, every retry period)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent

from bot.chat.base import Reply
from bot.cluster.client import KubeClient
from bot.cluster.lease import LeaderElector
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.config import Settings
from bot.scheduler import ReportScheduler, build_scheduler
from commands import Context
from tests.cluster.live_helpers import connect
from tests.fakeapi import FakeKubeAPI
from tests.fakeclock import FakeClock

NS = "clusterbot"
CHANNEL = "C0HOMELAB"
WAIT = 20.0  # seconds to wait for a job's outcome before the test fails


class RecordingChat:
    """A chat adapter (the ChatAdapter protocol) that keeps what is posted to it."""

    def __init__(self, name: str = "slack") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._posts: list[tuple[str, Reply]] = []

    def start(self) -> None:
        """Nothing to connect."""

    def stop(self) -> None:
        """Nothing to disconnect."""

    def post(self, destination: str, reply: Reply) -> None:
        with self._lock:
            self._posts.append((destination, reply))

    @property
    def posts(self) -> list[tuple[str, Reply]]:
        with self._lock:
            return list(self._posts)


def settings(**overrides: Any) -> Settings:
    return Settings(**{"report_channel": CHANNEL, "namespace": NS, **overrides})


@dataclass
class Replica:
    client: KubeClient | None
    scheduler: ReportScheduler
    outcomes: queue.Queue = field(default_factory=queue.Queue)

    @property
    def elector(self) -> LeaderElector:
        assert isinstance(self.scheduler.leadership, LeaderElector)
        return self.scheduler.leadership

    def outcome(self) -> object:
        """The next job's return value (or its exception, or "missed"), waiting for it."""
        return self.outcomes.get(timeout=WAIT)

    def wake(self) -> None:
        """The clock moved: let APScheduler look at its jobs again."""
        self.scheduler.scheduler.wakeup()

    def kill(self) -> None:
        """Die without a word: no more jobs, no renewals, no release of the Lease."""
        self.scheduler.scheduler.shutdown(wait=False)

    def stop(self) -> None:
        self.scheduler.shutdown()
        if self.client is not None:
            self.client.close()


def start_replica(api: FakeKubeAPI | None, tmp_path: Path, clock: FakeClock, chat: RecordingChat,
                  snapshot: Snapshot, config: Settings) -> Replica:
    """A replica as `serve` builds it (with a Lease when there is an API), started."""
    client = connect(api, tmp_path) if api is not None else None
    scheduler = build_scheduler(config, Context(StaticSource(snapshot)), [chat], client,
                                clock=clock)
    assert scheduler is not None
    return watch(Replica(client, scheduler))


def watch(replica: Replica) -> Replica:
    """Start the replica's scheduler, recording each job's outcome."""
    def record(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            replica.outcomes.put("missed")
        else:
            replica.outcomes.put(getattr(event, "exception", None) or event.retval)

    replica.scheduler.scheduler.add_listener(record, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR |
                                             EVENT_JOB_MISSED)
    replica.scheduler.start()
    return replica
