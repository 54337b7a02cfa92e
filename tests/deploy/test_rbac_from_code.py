"""The RBAC the manifests grant is exactly what the code uses: proven by running the code.

Every code path of clusterbot that talks to the Kubernetes API runs here once, through the
bot's own public functions, against the fake API server seeded with the demo cluster and
serving every add-on API: the one-shot read (CLI), the watch cache (list + watch of every
kind, metrics polled), the weekly report's history through the CLI, the scheduler (leader
Lease acquired, renewed and released; the week claimed in the history, posted, recorded),
and remediation (every action the catalogue has, planned and confirmed in dry-run mode and
for real, a replayed click, old claims swept, an unverifiable token audited). The requests
the server received become the checks Kubernetes' authorizer makes (tests/deploy/rbac.py)
and are compared with what each install variant grants its ServiceAccount: a variant must
allow every call of what it supports and grant nothing those calls do not use; a variant
that leaves something out (read-only, no Secret names) must refuse exactly those calls.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.actions import workloads
from bot.actions.catalog import ACTIONS
from bot.actions.claims import LABEL, SKEW_MARGIN
from bot.actions.models import ActionPlan, Actor, Result
from bot.actions.remediation import Remediation
from bot.cluster.client import ConnectOptions, KubeClient
from bot.cluster.demo import DEMO_NOW
from bot.cluster.discovery import collection_path, plural
from bot.cluster.history_store import CONFIGMAP, DATA_KEY, decode
from bot.cluster.kinds import KINDS, KindInfo, kind_for
from bot.cluster.lease import LeaderElector
from bot.cluster.live import read_cluster
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import StaticSource
from bot.cluster.watch import CacheTiming, WatchCache
from bot.config import Settings
from bot.models import ObjectRef, Proposal
from bot.report.model import diagnose
from bot.scheduler import LEASE_NAME, POSTED, build_scheduler
from commands import Context
from tests.cluster.live_helpers import FakeClock as CacheClock
from tests.cluster.live_helpers import demo_objects, lists, wait_until
from tests.deploy.conftest import Variant
from tests.deploy.rbac import (
    Access,
    NonResource,
    allows,
    check,
    discovery_allows,
    grants,
    non_resource,
    to_accesses,
)
from tests.deploy.render import DEPLOY, kustomize, one
from tests.fakeapi import RESOURCES, FakeKubeAPI
from tests.fakeclock import FakeClock
from tests.scheduler.harness import RecordingChat

WAIT = 10.0  # seconds any wait on the bot may take before the test fails
SECRET = "rbac-test-secret-" + "x" * 32
ALICE = Actor("U0ALICE", "slack")
MONDAY_0901 = datetime(2025, 10, 20, 9, 1, tzinfo=UTC)  # just after the weekly report's time
ADDON_GROUPS = sorted({k.group for k in KINDS if k.optional and k.group})
# Short retries, and metrics polled often enough to see a second poll; watches stay open.
TIMING = CacheTiming(watch_seconds=300, poll_seconds=0.1, recheck_seconds=0.2,
                     backoff_base=0.02, backoff_cap=0.2, sync_wait=WAIT)
ONE_SHOT, WATCH, HISTORY, SCHEDULER, REMEDIATION = (
    "one-shot read", "watch cache", "report history", "scheduler", "remediation")


def bot_namespace() -> str:
    """The namespace the manifests install the bot's ServiceAccount in."""
    return str(one(kustomize(DEPLOY), "ServiceAccount")["metadata"]["namespace"])


@dataclass
class Calls:
    """What each code path asked the API server for, and what its confirmations came to."""

    home: str
    by_path: dict[str, set[Access]] = field(default_factory=dict)
    discovery: set[NonResource] = field(default_factory=set)
    outcomes: dict[str, set[Result]] = field(default_factory=dict)

    @property
    def every(self) -> set[Access]:
        return set().union(*self.by_path.values())

    def only(self, path: str) -> set[Access]:
        """The accesses no other code path makes."""
        others = set().union(*(a for name, a in self.by_path.items() if name != path))
        return self.by_path[path] - others


class Bot:
    """Drives each code path of the bot that talks to the API, as the bot runs it."""

    def __init__(self, api: FakeKubeAPI, kubeconfig: Path, calls: Calls) -> None:
        self.api = api
        self.kubeconfig = kubeconfig
        self.calls = calls
        self.snapshot: Snapshot | None = None  # what the watch cache held

    def record(self, path: str, drive: Callable[[], None]) -> None:
        self.api.reset_requests()
        drive()
        requests = self.api.requests.snapshot()
        self.calls.by_path[path] = to_accesses(requests)
        self.calls.discovery |= non_resource(requests)

    def connect(self) -> KubeClient:
        return KubeClient.connect(ConnectOptions(kubeconfig=str(self.kubeconfig), timeout=5.0))

    def cli(self, *args: str) -> None:
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(out):
            code = main([*args, "--kubeconfig", str(self.kubeconfig)])
        assert code == 0, out.getvalue()

    # -- reading the cluster -------------------------------------------------------------

    def one_shot_read(self) -> None:
        """`clusterbot health` and friends: one paged LIST per kind, add-ons included."""
        snapshot = read_cluster(ConnectOptions(kubeconfig=str(self.kubeconfig), timeout=5.0))
        assert not snapshot.absent, snapshot.absent
        self.cli("health")

    def watch_cache(self) -> None:
        """`clusterbot serve`: LIST then WATCH each kind; what cannot be watched is polled."""
        cache = WatchCache(self.connect(), cluster="pi-k3s", timing=TIMING, clock=CacheClock())
        cache.start()
        try:
            assert cache.wait_synced(WAIT)
            wait_until(lambda: cache.watching() == {k.key for k in KINDS if watchable(k)},
                       "a watch on every kind that can be watched")
            for info in (k for k in KINDS if not watchable(k)):
                path = collection_path(info)
                wait_until(lambda p=path: lists(self.api, p) >= 2, f"a second poll of {path}")
            self.snapshot = cache.snapshot()
        finally:
            cache.stop()
        assert not self.snapshot.absent, self.snapshot.absent

    # -- shared state: report history and the leader Lease --------------------------------

    def report_history(self) -> None:
        """`clusterbot report --since-last --record`, twice: the first run creates the history
        ConfigMap (the manifests ship it, but a user may delete it), the second updates it."""
        for _ in range(2):
            self.cli("report", "--since-last", "--record")
        stored = self.api.get("configmaps", self.calls.home, CONFIGMAP)
        assert stored is not None
        assert len(decode(stored["data"][DATA_KEY], "test").entries) == 2

    def scheduler(self) -> None:
        """The weekly report as `serve` schedules it: elected, renewed, the week claimed,
        posted and recorded, the Lease handed over on shutdown."""
        client = self.connect()
        clock = FakeClock(MONDAY_0901)
        settings = Settings(namespace=self.calls.home, report_channel="C0HOMELAB",
                            report_cron="0 9 * * mon", report_tz="UTC")
        chat = RecordingChat()
        assert self.snapshot is not None
        scheduler = build_scheduler(settings, Context(StaticSource(self.snapshot)), [chat],
                                    client, clock=clock)
        assert scheduler is not None and isinstance(scheduler.leadership, LeaderElector)
        try:
            assert scheduler.leadership.step()  # the Lease is created
            clock.advance(seconds=2)
            assert scheduler.leadership.step()  # and renewed
            assert scheduler.run_due() == POSTED
        finally:
            scheduler.shutdown(release=True)
            client.close()
        assert len(chat.posts) == 1
        lease = self.api.get("leases", self.calls.home, LEASE_NAME)
        assert lease is not None and lease["spec"]["holderIdentity"] == ""

    # -- remediation ----------------------------------------------------------------------

    def remediation(self) -> None:
        """Every action of the catalogue on the demo cluster's findings (and a rollout restart
        of each workload kind), confirmed in dry-run mode, then for real; a replayed click;
        claims swept once expired; an unverifiable token audited."""
        assert self.snapshot is not None
        clock = FakeClock(DEMO_NOW + timedelta(minutes=5))
        client = self.connect()
        try:
            dry_run = self.remediator(client, clock, "dry-run")
            live = self.remediator(client, clock, "on")
            plans = self.plans(live)
            for plan in plans:
                self.confirm(dry_run, plan, Result.SHOWN if not plan.mutating else
                             Result.DENIED if plan.blocked else Result.DRY_RUN)
            for plan in (p for p in plans if p.mutating):
                self.confirm(live, plan, Result.DENIED if plan.blocked else Result.DONE)
            done = next(p for p in plans if p.mutating and not p.blocked)
            self.confirm(live, done, Result.ALREADY_DONE)  # the claim is read to say by whom
            clock.advance(seconds=live.planner.ttl.total_seconds()
                          + SKEW_MARGIN.total_seconds() + 60)
            self.confirm(live, self.restarts(live)[0], Result.DONE)  # sweeps the old claims
            claims = [lease for lease in self.api.list("leases", self.calls.home)
                      if LABEL in (lease["metadata"].get("labels") or {})]
            assert len(claims) == 1  # only the newest claim is left
            outcome = live.executor.confirm("not-a-plan", ALICE)
            assert outcome.result is Result.INVALID, outcome.headline
        finally:
            client.close()

    def remediator(self, client: KubeClient, clock: FakeClock, mode: str) -> Remediation:
        settings = Settings(remediation=mode, action_secret=SECRET, namespace=self.calls.home,
                            remediation_users=(ALICE.user,))
        return Remediation.from_settings(settings, client, clock=clock, instance="replica-a")

    def plans(self, remediation: Remediation) -> list[ActionPlan]:
        """The plans every finding offers, and a restart of every kind a restart acts on."""
        assert self.snapshot is not None
        plans = [plan for issue in diagnose(self.snapshot).issues
                 for plan in remediation.planner.plans_for(issue.finding, ALICE.user)[0]]
        return plans + self.restarts(remediation)

    def restarts(self, remediation: Remediation) -> list[ActionPlan]:
        """A rollout restart of one object of each kind it acts on, where fixes may run."""
        assert self.snapshot is not None
        protected = remediation.executor.policy.protected
        plans = []
        for kind in sorted(workloads.SPEC.kinds or ()):
            info = kind_for(kind)
            assert info is not None
            ref = next(r for r in (reference(kind, o) for o in self.snapshot.items(info.key))
                       if r.namespace not in protected)
            plans.append(remediation.planner.propose(
                Proposal(workloads.SPEC.name, f"Restart {kind}", (ref,)), ALICE.user))
        return plans

    def confirm(self, remediation: Remediation, plan: ActionPlan, expected: Result) -> None:
        outcome = remediation.executor.confirm(plan.token, ALICE, self.snapshot)
        assert outcome.result is expected, (plan.action, plan.targets, outcome.headline,
                                            outcome.details)
        self.calls.outcomes.setdefault(plan.action, set()).add(outcome.result)


def reference(kind: str, obj: dict) -> ObjectRef:
    meta = obj["metadata"]
    return ObjectRef(kind, meta["name"], meta.get("namespace", ""), meta.get("uid", ""))


def watchable(info: KindInfo) -> bool:
    """Whether the API serves `watch` on the kind (aggregated metrics do not)."""
    served = next(r for r in RESOURCES if r.group == info.group and r.plural == plural(info))
    return "watch" in served.verbs


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Calls]:
    """Run every code path once against one fake API server (module-scoped: the variants
    below all judge the same calls, so the bot runs once, not once per variant)."""
    recorded = Calls(bot_namespace())
    with FakeKubeAPI(demo_objects()) as api, pytest.MonkeyPatch.context() as env:
        for group in ADDON_GROUPS:
            api.enable_group(group)
        env.setenv("CLUSTERBOT_NAMESPACE", recorded.home)
        bot = Bot(api, api.kubeconfig(tmp_path_factory.mktemp("rbac") / "kubeconfig"),
                  recorded)
        bot.record(ONE_SHOT, bot.one_shot_read)
        bot.record(WATCH, bot.watch_cache)
        bot.record(HISTORY, bot.report_history)
        bot.record(SCHEDULER, bot.scheduler)
        bot.record(REMEDIATION, bot.remediation)
        yield recorded


# -- the code paths ran --------------------------------------------------------------------


def test_every_kind_of_the_snapshot_is_listed_and_watched(calls: Calls) -> None:
    for info in KINDS:
        group, resource = info.group, plural(info)
        assert Access("list", group, resource) in calls.by_path[ONE_SHOT], info.key
        assert Access("list", group, resource) in calls.by_path[WATCH], info.key
        assert (Access("watch", group, resource) in calls.by_path[WATCH]) == watchable(info)


def test_every_action_of_the_catalogue_was_confirmed(calls: Calls) -> None:
    assert set(calls.outcomes) == set(ACTIONS)
    for name, spec in ACTIONS.items():
        wanted = {Result.DRY_RUN, Result.DONE} if spec.mutating else {Result.SHOWN}
        assert wanted <= calls.outcomes[name], name


def test_outside_resources_the_bot_reads_only_discovery(calls: Calls) -> None:
    assert calls.discovery, "the add-on APIs are looked up by discovery"
    assert all(discovery_allows(access) for access in calls.discovery), calls.discovery


# -- what each install grants --------------------------------------------------------------


def left_out(variant: Variant, calls: Calls) -> set[Access]:
    """The calls a variant refuses by design: remediation's in a read-only install, Secret
    names' without them (the bot then says "no permission to read secrets")."""
    refused = set()
    if not variant.recipe.remediation:
        refused |= calls.only(REMEDIATION)
    if not variant.recipe.secret_names:
        refused |= {a for a in calls.every if a.group == "" and a.resource == "secrets"}
    return refused


def test_the_install_allows_every_call_it_supports_and_grants_nothing_else(
        variant: Variant, calls: Calls) -> None:
    verdict = check(calls.every - left_out(variant, calls), variant.manifests,
                    namespace=calls.home)
    assert not verdict.missing and not verdict.unused, verdict.explain()


def test_what_an_install_leaves_out_is_refused_and_nothing_more(
        variant: Variant, calls: Calls) -> None:
    """Every call outside the bot's own namespace that the variant leaves out is forbidden;
    in its own namespace the state Role still lets a claim's Lease be created or read (the
    leader Lease needs that), harmless since a read-only install never confirms a fix."""
    refused = left_out(variant, calls)
    missing = set(check(calls.every, variant.manifests, namespace=calls.home).missing)
    assert missing <= refused
    assert {a for a in refused if a.namespace != calls.home} <= missing


def test_no_grant_repeats_another(variant: Variant, calls: Calls) -> None:
    """Each grant is the only one allowing some call: dropping any would forbid that call."""
    granted = grants(variant.manifests, namespace=calls.home)
    wanted = calls.every - left_out(variant, calls)
    needless = [str(g) for g in sorted(granted) if not any(
        allows(g, a) and not any(allows(other, a) for other in granted - {g}) for a in wanted)]
    assert not needless
