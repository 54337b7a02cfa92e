"""Where a Snapshot comes from: the interface every source implements.

The demo cluster and a kubectl dump are static; the live source (bot/cluster/live.py) keeps a
watch cache and hands out a fresh Snapshot per command without calling the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.cluster.snapshot import Snapshot


class SourceError(Exception):
    """The cluster could not be read (unreachable API, broken dump); the message says why."""


@dataclass(frozen=True)
class SourceStatus:
    """How a source is doing, for readiness probes and metrics."""

    synced: bool  # every kind has been read at least once: commands can be answered
    age_seconds: float = 0.0  # how far behind the cluster the data may be (0: current)
    last_error: str = ""  # what is failing now ("" when nothing is)
    api_errors: int = 0  # failed API calls since the source started


class ClusterSource(Protocol):
    def snapshot(self) -> Snapshot:
        """The cluster as currently known; raises SourceError when nothing can be read."""
        ...

    def status(self) -> SourceStatus:
        """Whether the source has data and how fresh it is; never calls the API."""
        ...


class StaticSource:
    """A source that always answers with the same snapshot (demo cluster, dump file)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def status(self) -> SourceStatus:
        return SourceStatus(synced=True)  # as fresh as it will ever be
