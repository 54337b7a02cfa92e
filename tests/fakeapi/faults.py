"""Fault injection: slow, failing and throttled responses, dropped watches, compaction, and
the whole server going away and coming back on the same port.

Request faults are rules matched by path prefix (None matches every path) and consumed in the
order they were added; `times=None` means until `clear()`. The server asks `check(path)`
before answering each request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .status import ApiError, server_error, too_many_requests


@dataclass(slots=True)
class _Rule:
    error: Callable[[], ApiError] | None  # None: a latency rule
    delay: float = 0.0
    path_prefix: str | None = None
    times: int | None = None

    def applies(self, path: str) -> bool:
        return (self.times is None or self.times > 0) and (
            self.path_prefix is None or path.startswith(self.path_prefix))


class Faults:
    """What can go wrong; reached as `FakeKubeAPI.faults`."""

    def __init__(self, *, drop_watches: Callable[[], None], compact: Callable[[int], None],
                 refuse: Callable[[], None], accept: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._drop_watches = drop_watches
        self._compact = compact
        self._refuse = refuse
        self._accept = accept

    def latency(self, seconds: float, path_prefix: str | None = None) -> None:
        """Delay every matching request by `seconds` (before any other fault)."""
        self._add(_Rule(None, seconds, path_prefix))

    def fail(self, status: int = 500, times: int | None = 1,
             path_prefix: str | None = None) -> None:
        """Answer the next `times` matching requests with `status` (500, 503, 504, ...)."""
        self._add(_Rule(lambda: server_error(status), 0.0, path_prefix, times))

    def throttle(self, times: int | None = 1, retry_after: int = 1,
                 path_prefix: str | None = None) -> None:
        """Answer with 429 TooManyRequests and `Retry-After: retry_after`."""
        self._add(_Rule(lambda: too_many_requests(retry_after), 0.0, path_prefix, times))

    def drop_watches(self) -> None:
        """Cut every open watch connection mid-stream."""
        self._drop_watches()

    def compact(self, resource_version: int | str) -> None:
        """Forget events up to `resource_version`: older watches and continue tokens get 410."""
        self._compact(int(resource_version))

    def refuse(self) -> None:
        """Stop listening and cut every connection: the API server is down."""
        self._refuse()

    def accept(self) -> None:
        """Listen again on the same port."""
        self._accept()

    def clear(self) -> None:
        """Remove every request fault and listen again if refused."""
        with self._lock:
            self._rules.clear()
        self._accept()

    def check(self, path: str) -> ApiError | None:
        """Sleep for matching latency, then consume and return the first matching error."""
        with self._lock:
            rules = [r for r in self._rules if r.applies(path)]
            delay = max((r.delay for r in rules if r.error is None), default=0.0)
            failing = next((r for r in rules if r.error is not None), None)
            if failing is not None and failing.times is not None:
                failing.times -= 1
        if delay:
            time.sleep(delay)
        return failing.error() if failing is not None and failing.error else None

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)
