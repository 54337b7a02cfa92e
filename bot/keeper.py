"""Keep the chat bot's diagnosis current in the background.

A command that finds the cluster changed would otherwise analyse it while the user waits: a
quarter of a second at 5,000 pods on this machine, several on a Pi, and a busy cluster changes
every few seconds. The keeper re-diagnoses every `every` seconds (a no-op when nothing
changed), and the shared Context answers from the newest diagnosis as long as it trails the
cache by at most `max_lag` (twice `every`: a diagnosis in progress does not push a command onto
the slow path).
"""

from __future__ import annotations

import logging
import threading

from bot.cluster.source import SourceError
from commands.base import Context

log = logging.getLogger(__name__)


class DiagnosisKeeper:
    def __init__(self, ctx: Context, every: float) -> None:
        self._ctx = ctx
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="diagnosis-keeper")
        ctx.max_lag = 2 * every

    def start(self) -> DiagnosisKeeper:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                self._ctx.refresh()
            except SourceError:
                pass  # not synced yet, or unreachable: commands say so themselves
            except Exception:  # noqa: BLE001 - the keeper must outlive a bad snapshot
                log.exception("background diagnosis failed")
            if self._stopping.wait(self._every):
                return
