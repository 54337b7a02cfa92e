"""Health, readiness and Prometheus metrics over HTTP, for `clusterbot serve` in a cluster.

Kubernetes probes `/healthz` (the process answers) and `/readyz` (the cluster source has
data, so commands can be answered); Prometheus scrapes `/metrics`: commands served by verb
and outcome, the time to a delivered answer, and the source's API errors and cache age, read
from `ClusterSource.status()` at scrape time. prometheus_client provides the exposition
format, thread-safe counters and, for free, the process's memory and CPU, which is what a
Raspberry Pi owner watches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.background_http import BackgroundHTTPServer, send
from bot.cluster.source import ClusterSource

log = logging.getLogger(__name__)

UNKNOWN_VERB = "unknown"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Metrics:
    """The bot's counters; `verbs` bounds the `verb` label (anything else counts as unknown)."""

    def __init__(self, verbs: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self._verbs = frozenset(verbs)
        self._commands = Counter(
            "clusterbot_commands", "Chat commands answered, by verb and outcome "
            "(ok, error, timeout, denied, undelivered)", ["verb", "outcome"],
            registry=self.registry)
        self._latency = Histogram(
            "clusterbot_command_seconds", "Time from receiving a command to its answer "
            "being delivered", ["verb"], buckets=LATENCY_BUCKETS, registry=self.registry)
        ProcessCollector(registry=self.registry)

    def verb(self, text: str) -> str:
        words = text.split()
        verb = words[0].lower() if words else "help"
        return verb if verb in self._verbs else UNKNOWN_VERB

    def served(self, text: str, outcome: str, seconds: float) -> None:
        """Count one answered command; `text` is what the user typed after the command."""
        verb = self.verb(text)
        self._commands.labels(verb, outcome).inc()
        self._latency.labels(verb).observe(seconds)

    def watch(self, source: ClusterSource) -> None:
        """Export the source's health (synced, cache age, API errors) on every scrape."""
        self.registry.register(_SourceCollector(source))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _SourceCollector(Collector):
    def __init__(self, source: ClusterSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        status = self._source.status()
        yield GaugeMetricFamily("clusterbot_source_synced",
                                "1 when the cluster source has data to answer from",
                                value=int(status.synced))
        yield GaugeMetricFamily("clusterbot_cache_age_seconds",
                                "How far behind the cluster the cached data may be",
                                value=status.age_seconds)
        yield CounterMetricFamily("clusterbot_api_errors",
                                  "Failed Kubernetes API calls since the source started",
                                  value=status.api_errors)


class HealthServer(BackgroundHTTPServer):
    """`/healthz`, `/readyz` and `/metrics` on their own port, served from threads."""

    def __init__(self, host: str, port: int, source: ClusterSource, metrics: Metrics) -> None:
        super().__init__(_handler(source, metrics), host, port, name="clusterbot-health")


def _handler(source: ClusterSource, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.partition("?")[0]
            if path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                status = source.status()
                if status.synced:
                    self._send(200, b"ready\n")
                else:
                    why = status.last_error or "the cluster source has not synced yet"
                    self._send(503, f"not ready: {why}\n".encode())
            elif path == "/metrics":
                self._send(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            else:
                self._send(404, b"not found\n")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            send(self, status, body, [("Content-Type", content_type)])

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("health %s", format % args)

    return Handler
