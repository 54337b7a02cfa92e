"""Leader election on a `coordination.k8s.io/v1` Lease, so that one replica of several runs
the scheduled jobs (the weekly report) while every replica answers commands.

It follows client-go's leaderelection: a candidate takes the Lease when it is absent, released
(no holderIdentity) or expired, the leader renews it every `retry_period`, and a leader that
could not renew within `renew_deadline` stops leading before anyone else may take over. Expiry
is judged on the local clock from when this replica last *saw the Lease change*, never from
the timestamps another replica wrote, so clock skew between nodes cannot cut a lease short.
Every write is a PUT carrying the `metadata.resourceVersion` that was read: when two replicas
race, the API server accepts one and answers 409 Conflict to the other, which lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cluster.client import KubeClient, KubeError
from bot.cluster.source import SourceError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
CONFLICT = 409  # the resourceVersion moved on, or the Lease was created meanwhile


def utc_now() -> datetime:
    return datetime.now(UTC)


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 in UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseConfig:
    namespace: str
    name: str
    identity: str  # unique per process: a restarted replica is a new candidate
    duration: float = 15.0  # seconds a Lease lasts without renewal
    renew_deadline: float = 10.0  # a leader that could not renew for this long steps down
    retry_period: float = 2.0  # how often to try to acquire or renew

    @classmethod
    def scaled(cls, namespace: str, name: str, identity: str, duration: float) -> LeaseConfig:
        """client-go's proportions (15 s / 10 s / 2 s) for another Lease duration."""
        return cls(namespace, name, identity, duration, duration * 2 / 3, duration / 7.5)


class LeaderElector:
    """Campaigns for one Lease; `step()` is one attempt, `start()` repeats it in a thread."""

    def __init__(self, client: KubeClient, config: LeaseConfig, *, clock: Clock = utc_now,
                 on_elected: Callable[[], None] | None = None) -> None:
        self._client = client
        self.config = config
        self._clock = clock
        self.on_elected = on_elected
        self._renewed_at: datetime | None = None  # last successful acquire or renew
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, resourceVersion)
        self._observed_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return LEASES.format(namespace=self.config.namespace)

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the Lease, renewed within the renew deadline."""
        if self._renewed_at is None:
            return False
        held_for = (self._clock() - self._renewed_at).total_seconds()
        return held_for < self.config.renew_deadline

    # -- one attempt ------------------------------------------------------------------------

    def step(self) -> bool:
        """Acquire or renew the Lease once; returns whether this replica now leads."""
        was_leader = self.is_leader
        try:
            self._try_acquire_or_renew()
        except KubeError as error:
            if error.status != CONFLICT:
                log.warning("leader election: %s", error)
            else:
                self._renewed_at = None  # another replica wrote first: it leads
        except SourceError as error:
            log.warning("leader election: %s", error)  # keep leading until the deadline
        leader = self.is_leader
        if leader and not was_leader:
            log.info("%s leads (Lease %s/%s)", self.config.identity, self.config.namespace,
                     self.config.name)
            if self.on_elected is not None:
                self.on_elected()
        elif was_leader and not leader:
            log.warning("%s lost the Lease %s/%s", self.config.identity, self.config.namespace,
                        self.config.name)
        return leader

    def _try_acquire_or_renew(self) -> None:
        now = self._clock()
        lease = self._get()
        if lease is None:
            self._write("POST", self.path, self._lease_body(None, now))
            return
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        self._observe(lease, now)
        if holder and holder != self.config.identity and not self._expired(spec, now):
            self._renewed_at = None
            return
        self._write("PUT", f"{self.path}/{self.config.name}", self._lease_body(lease, now))

    def _get(self) -> dict[str, Any] | None:
        try:
            found = self._client.request("GET", f"{self.path}/{self.config.name}")
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def _write(self, method: str, path: str, body: dict[str, Any]) -> None:
        sent_at = self._clock()
        stored = self._client.request(method, path, body=body)
        self._renewed_at = sent_at
        if isinstance(stored, dict):
            self._observe(stored, sent_at)

    def _observe(self, lease: dict[str, Any], now: datetime) -> None:
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"),
                  (lease.get("metadata") or {}).get("resourceVersion"))
        if record != self._observed:
            self._observed, self._observed_at = record, now

    def _expired(self, spec: dict[str, Any], now: datetime) -> bool:
        duration = spec.get("leaseDurationSeconds") or self.config.duration
        seen = self._observed_at or now
        return now >= seen + timedelta(seconds=float(duration))

    def _lease_body(self, current: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
        """The Lease as this replica holds it: renewed, or taken over (transitions + 1)."""
        spec = dict((current or {}).get("spec") or {})
        taking_over = spec.get("holderIdentity") != self.config.identity
        stamp = micro_time(now)
        spec.update(holderIdentity=self.config.identity,
                    leaseDurationSeconds=int(self.config.duration), renewTime=stamp)
        if taking_over:
            spec["acquireTime"] = stamp
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (
                1 if current is not None else 0)
        metadata = dict((current or {}).get("metadata") or {"name": self.config.name,
                                                            "namespace": self.config.namespace})
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
                "spec": spec}

    # -- release and background loop ----------------------------------------------------------

    def release(self) -> None:
        """Give the Lease up (clear holderIdentity) so another replica can lead at once."""
        if self._renewed_at is None:
            return
        self._renewed_at = None
        try:
            lease = self._get()
            spec = dict((lease or {}).get("spec") or {})
            if lease is None or spec.get("holderIdentity") != self.config.identity:
                return
            spec.update(holderIdentity="", leaseDurationSeconds=1,
                        renewTime=micro_time(self._clock()))
            self._client.request("PUT", f"{self.path}/{self.config.name}",
                                 body={**lease, "spec": spec})
            log.info("%s released the Lease %s/%s", self.config.identity,
                     self.config.namespace, self.config.name)
        except (KubeError, SourceError) as error:
            log.warning("could not release the Lease: %s (it expires by itself)", error)

    def start(self) -> None:
        """Campaign in a daemon thread until `stop()`."""
        self._thread = threading.Thread(target=self._run, name="lease-elector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.config.retry_period)

    def stop(self, *, release: bool = True) -> None:
        """Stop campaigning; `release` hands the Lease over at once instead of letting it
        expire."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._client.timeout + self.config.retry_period)
        if release:
            self.release()
