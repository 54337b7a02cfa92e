"""`fix` and `confirm` as every chat runs them: through dispatch, on the demo cluster."""

from __future__ import annotations

import pytest

from bot.actions.models import ActionPlan, Result
from bot.actions.remediation import Remediation
from bot.cluster.demo import demo_snapshot
from bot.cluster.source import StaticSource
from bot.config import Settings
from commands import Context, dispatch


@pytest.fixture(scope="module")
def ctx() -> Context:
    settings = Settings(remediation_users=("console:ada",), namespace="clusterbot")
    return Context(StaticSource(demo_snapshot()),
                   remediation=Remediation.from_settings(settings, None))


def plans(ctx: Context, words: str) -> tuple[ActionPlan, ...]:
    reply = dispatch(ctx, f"fix {words}", user="console:ada", platform="console")
    assert not reply.error, reply.text
    return tuple(reply.options["plans"])


def test_fix_by_number_lists_each_plan_with_its_dry_run_and_id(ctx: Context) -> None:
    reply = dispatch(ctx, "fix 8", user="console:ada")
    [plan] = reply.options["plans"]
    assert reply.text.splitlines()[:2] == [
        "#8 financial-screener: 4 failed pods left over (POD-LEFTOVER-FAILED)",
        f"1. Delete 4 pod(s) · plan {plan.id} · changes the cluster, needs confirmation"]
    assert ("   By hand: kubectl delete pod -n financial-screener test-eodhd-complete "
            "test-eodhd-direct test-eodhd-final test-fundamentals") in reply.text.splitlines()
    assert f"   Run it: confirm {plan.id} (until " in reply.text
    assert reply.text.endswith("confirming a fix is a dry run only.")
    assert plan.requester == "console:ada"


@pytest.mark.parametrize("words", ["JOB-FAILED databases/test-data-load", "test-data-load",
                                   "job/test-data-load", "job-failed Job/databases/test-data-load"])
def test_fix_by_code_and_subject_or_by_subject(ctx: Context, words: str) -> None:
    assert [p.action for p in plans(ctx, words)] == ["logs", "delete-failed-job-pods",
                                                     "delete-jobs"]


@pytest.mark.parametrize(("words", "answer"), [
    ("", "which finding? usage: fix <number | CODE [subject] | subject>"),
    ("99", "there is no finding #99: `issues` lists 10"),
    ("nginx", "no finding matches 'nginx'; `issues` lists them with their numbers"),
    ("flower", "4 findings match 'flower': #3 celery/flower: 1/1 pods CrashLoopBackOff"),
    ("POD-CRASHLOOP a b", "too many words"),
])
def test_fix_says_plainly_what_it_could_not_find(ctx: Context, words: str, answer: str) -> None:
    reply = dispatch(ctx, f"fix {words}")
    assert reply.error and reply.ephemeral
    assert reply.text.startswith(answer)


def test_confirm_a_token_on_the_demo_is_a_dry_run(ctx: Context) -> None:
    [plan] = plans(ctx, "8")
    reply = dispatch(ctx, f"confirm {plan.token}", user="console:ada", platform="console")
    outcome = reply.options["outcome"]
    assert outcome.result is Result.DRY_RUN and not reply.error
    assert reply.text.splitlines()[0] == (
        "🧪 delete-pods 4 Pods in financial-screener: dry run only: there is no cluster to "
        "change here (demo or snapshot data) — by console:ada (console)")
    assert "would delete Pod financial-screener/test-fundamentals" in reply.text


def test_confirm_on_the_demo_says_it_would_be_refused_to_others(ctx: Context) -> None:
    [plan] = plans(ctx, "8")
    reply = dispatch(ctx, f"confirm {plan.token}", user="U0EVE", platform="slack")
    assert "on a cluster it would be refused: U0EVE is not allowed to run delete-pods" in \
        reply.text


def test_confirm_runs_a_read_only_plan(ctx: Context) -> None:
    describe = next(p for p in plans(ctx, "3") if p.action == "describe")
    reply = dispatch(ctx, f"confirm {describe.token}", user="U0EVE")
    assert reply.text.startswith("🔎 Deployment celery/flower\nStatus: ")


@pytest.mark.parametrize(("words", "answer"), [
    ("confirm", "which plan? usage: confirm <plan id>"),
    ("confirm k3j4h5g6", "plan k3j4h5g6 is not known here"),
    ("confirm v1.forged.token", "⛔ Refused: the token's signature does not match"),
])
def test_confirm_refusals(ctx: Context, words: str, answer: str) -> None:
    reply = dispatch(ctx, words, user="console:ada")
    assert reply.error and reply.text.startswith(answer)


def test_without_remediation_fix_says_where_it_is_available() -> None:
    reply = dispatch(Context(StaticSource(demo_snapshot())), "fix 8")
    assert reply.error
    assert reply.text.startswith("fixes are not available here")
