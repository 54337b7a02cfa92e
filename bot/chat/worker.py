"""Answer chat commands off the transport's thread, each within a deadline.

A chat platform wants its command acknowledged at once (Slack: 3 s) and the answer after the
work. `AnswerPool` runs the work on a few threads and hands each reply to a delivery
function; a command whose answer is not ready by the deadline (a cluster that hangs) is
answered "cluster API unreachable: ..." instead, and its late reply is dropped, so the
user always hears back, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TypeVar

from bot.chat.base import Reply, loggable

log = logging.getLogger(__name__)

Answer = Callable[[str, str, str], Reply]  # (text, user, channel) -> the command's reply
Refused = Callable[[str, str, str, str], None]  # (text, user, channel, why) of a turned-away one
WAITERS_PER_WORKER = 4  # waiting is cheap: threads that wait for an answer, per worker


@dataclass(frozen=True)
class Job:
    """One command to answer: what was typed, by whom, where, and when it arrived."""

    text: str
    user: str
    channel: str
    received: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.received


J = TypeVar("J", bound=Job)
Deliver = Callable[[J, Reply, str], None]


class AnswerPool:
    def __init__(self, answer: Answer, *, workers: int, deadline: float) -> None:
        self._answer = answer
        self._deadline = deadline
        self._work = ThreadPoolExecutor(workers, thread_name_prefix="clusterbot-answer")
        self._wait = ThreadPoolExecutor(workers * WAITERS_PER_WORKER,
                                        thread_name_prefix="clusterbot-deliver")

    def submit(self, job: J, deliver: Deliver[J]) -> Future[None]:
        """Answer `job` and call `deliver(job, reply, outcome)` exactly once.

        `outcome` is "ok", "error" (the reply explains a problem) or "timeout".
        """
        answer = self._work.submit(self._answer, job.text, job.user, job.channel)
        return self._wait.submit(self._deliver_when_ready, job, answer, deliver)

    def _deliver_when_ready(self, job: J, answer: Future[Reply], deliver: Deliver[J]) -> None:
        try:
            reply = answer.result(timeout=max(self._deadline - job.elapsed(), 0.0))
            outcome = "error" if reply.error else "ok"
        except FutureTimeout:
            answer.cancel()
            log.warning("command %r not answered within %.0f s", loggable(job.text),
                        self._deadline)
            reply = Reply(text="cluster API unreachable: no answer from the cluster within "
                               f"{self._deadline:g} s", error=True)
            outcome = "timeout"
        except CancelledError:
            reply = Reply(text="clusterbot is restarting; ask again in a minute.", error=True)
            outcome = "error"
        except Exception:
            log.exception("command %r failed", loggable(job.text))
            reply = Reply(text="the command failed with an internal error; it has been logged.",
                          error=True)
            outcome = "error"
        try:
            deliver(job, reply, outcome)
        except Exception:
            log.exception("answer to %r could not be delivered", loggable(job.text))

    def later(self, task: Callable[[], None]) -> None:
        """Run `task` on a worker (it may call the API): the transport's thread only acks."""
        def run() -> None:
            try:
                task()
            except Exception:
                log.exception("background task %r failed", task)

        self._work.submit(run)

    def stop(self) -> None:
        """Finish the answers under way (each bounded by the deadline), take no new ones."""
        self._work.shutdown(wait=False, cancel_futures=True)
        self._wait.shutdown(wait=True)
