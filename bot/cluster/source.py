"""Where a Snapshot comes from: the interface every source implements.

The demo cluster and a kubectl dump are static; the live source (bot/cluster/live.py) keeps a
watch cache and hands out a fresh Snapshot per command without calling the API.
"""

from __future__ import annotations

from typing import Protocol

from bot.cluster.snapshot import Snapshot


class SourceError(Exception):
    """The cluster could not be read (unreachable API, broken dump); the message says why."""


class ClusterSource(Protocol):
    def snapshot(self) -> Snapshot:
        """The cluster as currently known; raises SourceError when nothing can be read."""
        ...


class StaticSource:
    """A source that always answers with the same snapshot (demo cluster, dump file)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> Snapshot:
        return self._snapshot
