"""Pods analyzer: each check against realistic dumps, grouping by owner, and malformed input.

The fixtures are `kubectl get -o json` Lists: financial-screener.json is the seed report's
cluster (6/7 celery workers in ErrImageNeverPull, flower killed by its liveness probe, hand-run
test pods left over), containers.json holds containers that cannot start or keep dying, and
lifecycle.json pods that are pending, evicted, stuck terminating, unready or restarting.
"""

from __future__ import annotations

import json
import re

import pytest

from bot.analyzers import pod_crashes, pod_creation, pods, readers
from bot.analyzers.base import ANALYZER_ERROR, Context, Thresholds
from bot.analyzers.pod_crashes import CRASH_MIN_RESTARTS
from bot.cluster.demo import demo_snapshot
from bot.cluster.snapshot import Snapshot
from bot.models import Severity

from .fixtures_util import FIXTURES, assert_well_formed
from .fixtures_util import load as load_fixture

NS = "financial-screener"
MY_FIXTURES = ("pods/financial-screener.json", "pods/containers.json", "pods/lifecycle.json",
               "pods/malformed.json", "workloads/workloads.json", "jobs/jobs.json")


@pytest.fixture(scope="module")
def screener(load, run):
    return run(load("pods/financial-screener.json"))


@pytest.fixture(scope="module")
def containers(load, run):
    return run(load("pods/containers.json"))


@pytest.fixture(scope="module")
def lifecycle(load, run):
    return run(load("pods/lifecycle.json"))


def json_patch(recommendation: str) -> list[dict]:
    """The JSON patch inside a `kubectl patch --type=json -p '[...]'` command."""
    found = re.search(r"--type=json -p '(\[.*?\])'", recommendation)
    assert found, recommendation
    return json.loads(found.group(1))


@pytest.mark.parametrize("fixture", MY_FIXTURES)
def test_every_finding_is_well_formed(load, run, fixture):
    """A registered code, one finding per key, a title, cause, evidence and a command."""
    assert_well_formed(run(load(fixture)))


# -- the seed report's cluster ------------------------------------------------------------


def test_seed_cluster_yields_one_finding_per_problem(screener):
    assert sorted(f.code for f in screener) == sorted([
        pods.IMAGE_NEVER_PULL, pods.CRASHLOOP, pods.LEFTOVER_FAILED, pods.LEFTOVER_COMPLETED])


def test_never_pull_is_one_finding_for_the_deployment(screener, only):
    f = only(screener, pods.IMAGE_NEVER_PULL, "celery-worker")
    assert f.severity is Severity.WARNING
    assert f.reason == "ErrImageNeverPull"
    assert (f.subject.kind, f.subject.namespace) == ("Deployment", NS)
    assert f.subject.uid
    assert f.title == "celery-worker: 6/7 pods ErrImageNeverPull (1/7 available)"
    assert len(f.pods) == 6 and all(p.startswith("celery-worker-") for p in f.pods)
    assert f.cause == ("imagePullPolicy is Never and image financial-screener/celery-worker:latest "
                       "is not present on pi-worker-02, pi-worker-05 (it is on pi-worker-01)")
    assert any("ErrImageNeverPull ×" in e and "(6 pods)" in e for e in f.evidence)
    assert "sudo k3s ctr images import celery-worker.tar" in f.recommendation
    assert "kubectl -n financial-screener set image deployment/celery-worker worker=" \
        in f.recommendation
    assert json_patch(f.recommendation) == [{
        "op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy",
        "value": "IfNotPresent"}]
    assert [(p.action, p.mutating) for p in f.proposals] == [("describe", False)]
    assert f.proposals[0].targets == (f.subject,)


def test_liveness_probe_kills_are_recognised(screener, only):
    f = only(screener, pods.CRASHLOOP, "flower")
    assert (f.reason, f.subject.kind, f.severity) == ("CrashLoopBackOff", "Deployment",
                                                      Severity.WARNING)
    assert f.title == "flower: 1/1 pods CrashLoopBackOff (0/1 available)"
    assert ("the liveness probe (httpGet /healthcheck:5555, initialDelaySeconds 30, "
            "periodSeconds 10, timeoutSeconds 1, failureThreshold 3) failed 214 times and the "
            "kubelet killed the container (exit code 137)") in f.cause
    assert "longer than the probe allows" in f.cause
    assert any(e.startswith("Killing ×71: Container flower failed liveness probe") for e in
               f.evidence)
    assert any("restarted 122 times" in e for e in f.evidence)
    assert "kubectl -n financial-screener patch deployment flower --type=json" in f.recommendation
    patch = json_patch(f.recommendation)
    assert patch[0] == {"op": "add", "path": "/spec/template/spec/containers/0/startupProbe",
                        "value": {"httpGet": {"path": "/healthcheck", "port": 5555,
                                              "scheme": "HTTP"},
                                  "periodSeconds": 10, "failureThreshold": 30}}
    assert patch[1]["path"].endswith("/livenessProbe/timeoutSeconds") and patch[1]["value"] == 5
    assert [p.action for p in f.proposals] == ["logs", "describe", "rollout-restart"]
    logs = f.proposals[0]
    assert not logs.mutating and logs.targets[0].kind == "Pod" and logs.targets[0].uid
    assert f.proposals[2].targets == (f.subject,) and f.proposals[2].mutating


def test_bare_failed_pods_are_one_leftover_finding_per_namespace(screener, only):
    f = only(screener, pods.LEFTOVER_FAILED, NS)
    assert (f.severity, f.reason, f.subject.kind) == (Severity.INFO, "Failed", "Namespace")
    assert f.title == "financial-screener: 4 failed pods left over"
    assert f.pods == ("test-eodhd-complete", "test-eodhd-direct", "test-eodhd-final",
                      "test-fundamentals")
    assert ("`kubectl delete pod -n financial-screener test-eodhd-complete test-eodhd-direct "
            "test-eodhd-final test-fundamentals`") in f.recommendation
    assert "test-eodhd-final: Error, exit code 1" in f.evidence
    (proposal,) = f.proposals
    assert proposal.action == "delete-pods" and proposal.mutating
    assert sorted(t.name for t in proposal.targets) == list(f.pods)
    assert all(t.kind == "Pod" and t.namespace == NS and t.uid for t in proposal.targets)


def test_bare_completed_pods_are_leftovers_but_job_pods_are_not(screener, only, about):
    f = only(screener, pods.LEFTOVER_COMPLETED, NS)
    assert (f.severity, f.pods) == (Severity.INFO, ("test-redis-connection",))
    assert "kubectl delete pod -n financial-screener test-redis-connection" in f.recommendation
    assert not [x for x in screener if any(p.startswith("data-collector") for p in x.pods)]


def test_healthy_pods_give_nothing(screener):
    assert not [f for f in screener if f.subject.namespace == "redis"]


def test_workloads_stay_quiet_when_the_pods_explain_them(screener):
    assert not [f for f in screener if f.code.startswith("WORKLOAD-")]


# -- containers that cannot start or keep dying -------------------------------------------


def test_oomkilled_names_the_limit_and_a_higher_one(containers, only):
    f = only(containers, pods.OOMKILLED, "api")
    assert (f.reason, f.subject.kind, f.severity) == ("OOMKilled", "Deployment", Severity.WARNING)
    assert f.title == "api: 2/2 pods OOMKilled (0/2 available)"
    assert len(f.pods) == 2
    assert "limit of 256Mi" in f.cause and "exit code 137" in f.cause
    assert "CrashLoopBackOff" in f.cause
    assert "`kubectl -n apps set resources deployment/api -c api --limits=memory=512Mi`" \
        in f.recommendation
    assert [p.action for p in f.proposals] == ["logs", "describe", "rollout-restart"]


def test_old_oom_kill_of_a_stable_pod_is_history(containers, about):
    assert not about(containers, "frontend")


@pytest.mark.parametrize(("name", "kind", "needles", "hint"), [
    ("migrate", "Pod", ["exit code 1 (application error)", "could not translate host name"],
     "kubectl -n apps logs migrate -c migrate --previous"),
    ("indexer", "StatefulSet", ["exit code 127", "command not found", "288 times"],
     "command does not exist in the image"),
    ("flappy", "Pod", ["exit code 143", "SIGTERM", "9 times"], "probe kills"),
])
def test_crash_loops_explain_the_exit_code(containers, only, name, kind, needles, hint):
    f = only(containers, pods.CRASHLOOP, name)
    assert (f.reason, f.subject.kind) == ("CrashLoopBackOff", kind)
    for needle in needles:
        assert needle in f.cause
    assert hint in f.recommendation
    assert "--previous" in f.recommendation
    actions = [p.action for p in f.proposals]
    assert actions == (["logs", "describe", "rollout-restart"] if kind != "Pod" else
                       ["logs", "describe"])


@pytest.mark.parametrize(("name", "reason", "cause", "fixes"), [
    ("web", "ImagePullBackOff", "does not exist in the registry",
     ["docker manifest inspect nginx:1.27-alpinee",
      "kubectl -n apps set image deployment/web nginx=<image>:<tag>"]),
    ("private-tool", "ErrImagePull", "refused access",
     ["kubectl -n apps create secret docker-registry regcred --docker-server=ghcr.io",
      "kubectl -n apps patch serviceaccount default"]),
    ("metrics-proxy", "ImagePullBackOff", "cannot reach the registry",
     ["sudo k3s crictl pull registry.home.lan:5000/metrics-proxy:0.3", "pi-worker-04"]),
    ("legacy-exporter", "ErrImagePull", "CPU architecture (arm64 on pi-worker-05)",
     ["docker buildx build --platform linux/arm64,linux/amd64"]),
])
def test_image_pull_errors_tell_the_cause_apart(containers, only, name, reason, cause, fixes):
    f = only(containers, pods.IMAGE_PULL, name)
    assert (f.reason, f.severity) == (reason, Severity.WARNING)
    assert cause in f.cause
    for fix in fixes:
        assert fix in f.recommendation
    assert [p.action for p in f.proposals] == ["describe"]


def test_image_pull_quotes_the_registry(containers, only):
    f = only(containers, pods.IMAGE_PULL, "web")
    assert f.cause.endswith("docker.io/library/nginx:1.27-alpinee: not found")
    assert any(e.startswith("Failed ×37: Failed to pull image") for e in f.evidence)
    assert any(e.startswith("BackOff ×790") for e in f.evidence)


def test_invalid_image_name_suggests_a_valid_reference(containers, only):
    f = only(containers, pods.INVALID_IMAGE, "bad-image")
    assert (f.reason, f.subject.kind) == ("InvalidImageName", "Deployment")
    assert "must be lowercase" in f.cause
    assert "`kubectl -n apps set image deployment/bad-image app=registry.local/myapp:1.0`" \
        in f.recommendation


def test_missing_secret_is_named_with_the_keys_the_pod_reads(containers, only):
    f = only(containers, pods.CONFIG_ERROR, "billing")
    assert (f.reason, f.subject.kind, len(f.pods)) == ("CreateContainerConfigError",
                                                       "Deployment", 2)
    assert "Secret billing-db does not exist in apps" in f.cause
    assert ("`kubectl -n apps create secret generic billing-db --from-literal=username=<value> "
            "--from-literal=password=<value>`") in f.recommendation
    assert any('secret "billing-db" not found' in e and "(2 pods)" in e for e in f.evidence)


def test_missing_configmap_key_is_named(containers, only):
    f = only(containers, pods.CONFIG_ERROR, "reporter")
    assert f.subject.kind == "Pod"
    assert "ConfigMap reporter-config exists but has no key REPORT_URL" in f.cause
    assert ("kubectl -n apps patch configmap reporter-config --type=merge -p "
            "'{\"data\":{\"REPORT_URL\":\"<value>\"}}'") in f.recommendation


# -- pending, evicted, terminating, unready, restarting ------------------------------------


def test_unschedulable_quotes_the_scheduler(lifecycle, only):
    f = only(lifecycle, pods.PENDING, "ml-notebook")
    assert (f.reason, f.subject.kind, f.severity) == ("Unschedulable", "Deployment",
                                                      Severity.WARNING)
    assert f.title == "ml-notebook: 1/1 pods Pending: Unschedulable (0/1 available)"
    assert "0/8 nodes are available" in f.cause and "7 Insufficient memory" in f.cause
    assert "It requests cpu 2, memory 12Gi" in f.recommendation
    assert "kubectl -n lab set resources deployment/ml-notebook --requests=" in f.recommendation


def test_unschedulable_from_the_event_when_the_condition_is_missing(lifecycle, only):
    f = only(lifecycle, pods.PENDING, "coral-test")
    assert (f.reason, f.subject.kind) == ("Unschedulable", "Pod")
    assert "didn't match Pod's node affinity/selector" in f.cause
    assert "coral-tpu" in f.recommendation and "kubectl label node" in f.recommendation


def test_pending_below_the_threshold_is_not_reported(lifecycle, about):
    assert not about(lifecycle, "just-created")


def test_pending_container_creation_names_the_failing_mount(lifecycle, only):
    f = only(lifecycle, pods.PENDING, "gitea")
    assert f.reason == "FailedMount"
    assert "ContainerCreating" in f.cause and "wrong fs type" in f.cause
    assert "kubectl -n lab describe pvc gitea-data" in f.recommendation


def test_evicted_pods_of_a_controller_are_clutter(lifecycle, only):
    f = only(lifecycle, pods.EVICTED, "thumbnailer")
    assert (f.severity, f.reason, f.subject.kind) == (Severity.INFO, "Evicted", "Deployment")
    assert f.title == "thumbnailer: 2 pods Evicted"
    assert "The node was low on resource: memory" in f.cause and "pi-worker-03" in f.cause
    command = re.search(r"`kubectl delete pod -n lab ([^`]+)`", f.recommendation)
    assert command and sorted(command.group(1).split()) == list(f.pods)
    (proposal,) = f.proposals
    assert proposal.action == "delete-pods" and len(proposal.targets) == 2


def test_an_evicted_bare_pod_is_gone_for_good(lifecycle, only):
    f = only(lifecycle, pods.EVICTED, "scratch")
    assert f.severity is Severity.WARNING
    assert "ephemeral-storage" in f.cause
    assert "Nothing recreates a bare pod" in f.recommendation


def test_stuck_terminating_on_a_lost_node(lifecycle, only):
    f = only(lifecycle, pods.TERMINATING, "postgresql-read")
    assert (f.subject.kind, f.pods) == ("StatefulSet", ("postgresql-read-0",))
    assert "45m" in f.cause and "pi-worker-06 is NotReady" in f.cause
    assert "kubectl -n databases delete pod postgresql-read-0 --grace-period=0 --force" \
        in f.recommendation
    assert "caution" in f.recommendation


def test_stuck_terminating_names_the_finalizer(lifecycle, only, about):
    f = only(lifecycle, pods.TERMINATING, "stuck-finalizer")
    assert "finalizers example.com/block-deletion" in f.cause
    assert "patch pod stuck-finalizer --type=merge -p '{\"metadata\":{\"finalizers\":null}}'" \
        in f.recommendation
    assert not about(lifecycle, "deleted-recently")


def test_readiness_failures_quote_the_probe(lifecycle, only):
    f = only(lifecycle, pods.NOT_READY, "grafana")
    assert (f.reason, f.subject.kind, f.severity) == ("Unhealthy", "Deployment", Severity.WARNING)
    assert "(httpGet /api/health:3000, initialDelaySeconds 10, periodSeconds 10, " \
           "timeoutSeconds 1, failureThreshold 3) failed 95 times" in f.cause
    assert json_patch(f.recommendation) == [{
        "op": "replace", "value": 5,
        "path": "/spec/template/spec/containers/0/readinessProbe/timeoutSeconds"}]
    assert [p.action for p in f.proposals] == ["logs", "describe"]


def test_many_restarts_of_a_running_container_are_info(lifecycle, only):
    f = only(lifecycle, pods.RESTARTS, "promtail")
    assert (f.severity, f.subject.kind) == (Severity.INFO, "DaemonSet")
    assert "restarted 14 times" in f.cause and "exit code 1" in f.cause
    assert "kubectl -n logging logs promtail-x7k2p -c promtail --previous" in f.recommendation


def test_thresholds_are_honoured(load, run):
    quiet = Thresholds(restarts_warning=50, pending_seconds=86400,
                       terminating_stuck_seconds=86400)
    codes = {f.code for f in run(load("pods/lifecycle.json"), thresholds=quiet)}
    assert not codes & {pods.RESTARTS, pods.PENDING, pods.TERMINATING}


def test_every_pods_check_is_in_the_catalogue():
    from bot.analyzers.base import CATALOGUE

    codes = {c for c in CATALOGUE if CATALOGUE[c].area == "pods"}
    assert codes == {pods.CRASHLOOP, pods.IMAGE_PULL, pods.IMAGE_NEVER_PULL, pods.INVALID_IMAGE,
                     pods.CONFIG_ERROR, pods.OOMKILLED, pods.EVICTED, pods.PENDING,
                     pods.NOT_READY, pods.RESTARTS, pods.TERMINATING, pods.LEFTOVER_FAILED,
                     pods.LEFTOVER_COMPLETED}


# -- pod_problem, for the workloads analyzer ----------------------------------------------


def test_pod_problem_reads_the_state(load):
    snapshot = load("pods/containers.json")
    problems = {p["metadata"]["name"]: pods.pod_problem(p) for p in snapshot.items("pods")}
    assert problems["migrate"] == "CrashLoopBackOff"
    assert problems["private-tool"] == "ErrImagePull"
    assert problems["reporter"] == "CreateContainerConfigError"
    assert sum(1 for n, p in problems.items() if n.startswith("frontend") and p is None) == 2
    assert pods.pod_problem({}) is None and pods.pod_problem({"status": None}) is None


# -- malformed input ----------------------------------------------------------------------

GARBAGE = ("no-status", "null-status", "string-status", "statuses-not-a-list",
           "null-everything", "weird", "weird-ds", "weird-sts", "weird-job-2", "weird-cron")


def test_malformed_objects_never_raise_and_the_rest_survives(load, run, only):
    found = run(load("pods/malformed.json"))
    f = only(found, pods.CRASHLOOP, "survivor")
    assert "exit code 1" in f.cause
    for finding in found:
        if finding.subject.name in GARBAGE:
            assert finding.code == ANALYZER_ERROR, finding


SURVIVOR_NAME = "survivor"


@pytest.mark.parametrize("bad", [
    {"metadata": {"name": "a", "namespace": "broken"}, "status": []},
    {"metadata": {"name": "b", "namespace": "broken"}, "spec": {"containers": {"name": "x"}},
     "status": {"phase": "Running", "containerStatuses": [["nested"]]}},
    {"metadata": {"name": "c", "namespace": "broken", "ownerReferences": ["ReplicaSet"]},
     "status": {"phase": "Failed", "conditions": ["Ready"]}},
    {"metadata": {"name": "d", "namespace": "broken", "deletionTimestamp": "not-a-time"},
     "status": {"phase": "Running", "containerStatuses": [
         {"name": "x", "state": {"waiting": ["CrashLoopBackOff"]}, "restartCount": 2.5,
          "lastState": {"terminated": {"finishedAt": 17, "reason": "OOMKilled"}}}]}},
    {"metadata": {"name": "e", "namespace": "broken", "creationTimestamp": None},
     "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}},
    {"metadata": {"name": "f", "namespace": "broken"},
     "spec": {"containers": [{"name": "x", "resources": "lots", "env": "A=1",
                              "livenessProbe": {"httpGet": "x"}}]},
     "status": {"phase": "Running", "containerStatuses": [
         {"name": "x", "state": {"waiting": {"reason": "CreateContainerConfigError",
                                             "message": 7}}}]}},
])
def test_one_malformed_pod_costs_at_most_an_analyzer_error(load, run, bad):
    fixture = load("pods/malformed.json")
    survivor = fixture.get("pods", "broken", SURVIVOR_NAME)
    snapshot = Snapshot.build({"pods": [bad, survivor], "events": [
        {"involvedObject": {"kind": "Pod", "namespace": "broken", "name": bad["metadata"]["name"]},
         "reason": "Unhealthy", "message": None, "count": "many"}]}, trimmed=False,
        taken_at=fixture.taken_at)
    found = run(snapshot)
    assert pods.CRASHLOOP in {f.code for f in found if f.subject.name == SURVIVOR_NAME}
    for finding in found:
        if finding.subject.name == bad["metadata"]["name"]:
            assert finding.code in (ANALYZER_ERROR, pods.CONFIG_ERROR, pods.PENDING), finding


def test_a_crash_inside_a_check_becomes_an_analyzer_error(load, run, monkeypatch, only):
    real = pod_crashes._oom_killed

    def explode(ctx, container):
        if container.name == "api":
            raise KeyError("limits")
        return real(ctx, container)

    monkeypatch.setattr(pod_crashes, "_oom_killed", explode)
    found = run(load("pods/containers.json"))  # the workloads analyzer asks about them too
    errors = [f for f in found if f.code == ANALYZER_ERROR]
    assert len(errors) == 2 and all(e.subject.name.startswith("api-") for e in errors)
    assert "KeyError" in errors[0].cause
    assert only(found, pods.CONFIG_ERROR, "billing")
    assert not [f for f in found if f.code == pods.OOMKILLED]


def test_quiet_pods_have_no_issue():
    """The screen that skips healthy pods must never skip one a check would report: on every
    fixture pod and the demo cluster's, a quiet pod gets no issue from the full diagnosis."""
    snapshots = [load_fixture(str(path.relative_to(FIXTURES)))
                 for path in sorted(FIXTURES.glob("*/*.json"))]
    snapshots.append(demo_snapshot())
    screened = diagnosed = 0
    for thresholds in (Thresholds(), Thresholds(restarts_warning=1)):
        few = min(CRASH_MIN_RESTARTS, thresholds.restarts_warning)
        for snapshot in snapshots:
            ctx = Context(snapshot, snapshot.taken_at, thresholds)
            for pod in snapshot.items("pods"):
                if pods._quiet(pod, few):
                    screened += 1
                    assert pods._diagnose(ctx, pod) is None, pod
                else:
                    diagnosed += 1
    assert screened > 100 and diagnosed > 100


# -- readers ---------------------------------------------------------------------


@pytest.mark.parametrize(("code", "meaning"), [
    (0, "exited successfully"), (1, "application error"), (127, "command not found"),
    (137, "SIGKILL"), (143, "SIGTERM"), (139, "SIGSEGV"), (130 + 8, "signal 10"),
    (42, "application-defined"), ("137", "unknown exit code"), (None, "unknown exit code"),
])
def test_exit_meanings(code, meaning):
    assert meaning in readers.exit_meaning(code)


def test_probe_text_fills_in_the_api_defaults():
    assert readers.probe_text({"tcpSocket": {"port": 6379}}) == (
        "tcpSocket :6379, initialDelaySeconds 0, periodSeconds 10, timeoutSeconds 1, "
        "failureThreshold 3")
    assert readers.probe_text({"exec": {"command": ["redis-cli", "ping"]}}).startswith(
        "exec redis-cli ping")


def test_shorten_keeps_both_ends():
    text = "Failed to pull image x: " + "detail " * 100 + "401 Unauthorized"
    short = readers.shorten(text, 120)
    assert len(short) == 120 and short.startswith("Failed to pull") and \
        short.endswith("401 Unauthorized")


@pytest.mark.parametrize(("image", "normal"), [
    ("redis", "docker.io/library/redis:latest"),
    ("financial-screener/celery-worker:latest",
     "docker.io/financial-screener/celery-worker:latest"),
    ("ghcr.io/acme/api:1.8.2", "ghcr.io/acme/api:1.8.2"),
    ("registry.home.lan:5000/proxy", "registry.home.lan:5000/proxy:latest"),
])
def test_image_names_are_compared_as_containerd_records_them(image, normal):
    assert pod_creation.normalize_image(image) == normal
