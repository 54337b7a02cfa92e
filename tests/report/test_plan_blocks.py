"""Plans as Slack buttons, and the message after a click, within Block Kit's limits.

The end-to-end tests (tests/e2e/slack/test_slack_remediation.py) click through real requests;
these cover the edges a demo cluster does not reach: more objects than a dialog can name,
more buttons than one block holds, a message already full.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.actions.models import Actor, Outcome, Result
from bot.actions.remediation import Remediation
from bot.config import Settings
from bot.models import ObjectRef, Proposal
from bot.report.blocks import MAX_BLOCKS
from bot.report.plan_blocks import (
    ACTION_PREFIX,
    after_click,
    dialog_text,
    outcome_line,
    plan_blocks,
    spent,
)
from tests.e2e.slack.blockkit import assert_valid_blocks

NOW = datetime(2025, 10, 19, 18, 0, tzinfo=UTC)
PLANNER = Remediation.from_settings(Settings(action_secret="s" * 32), None,
                                    clock=lambda: NOW).planner


def pods(count: int, namespace: str = "batch") -> tuple[ObjectRef, ...]:
    return tuple(ObjectRef("Pod", f"report-run-{n:03d}", namespace, f"uid-{n:03d}")
                 for n in range(count))


def test_a_dialog_names_the_objects_it_can_and_counts_the_rest() -> None:
    plan = PLANNER.propose(Proposal("delete-pods", "Delete 30 pods", pods(30)), "U0ALICE")

    text = dialog_text(plan)

    assert len(text) <= 300
    assert text.startswith("Pod batch/report-run-000, Pod batch/report-run-001, ")
    named = text.count("Pod batch/")
    assert f", …and {30 - named} more\n" in text
    assert text.endswith("Only these exact objects; the plan expires at 18:15 UTC.")
    assert_valid_blocks(plan_blocks([plan]))


def test_a_plan_that_will_be_refused_says_so_first() -> None:
    plan = PLANNER.propose(Proposal("rollout-restart", "Restart", (
        ObjectRef("Deployment", "coredns", "kube-system", "uid-1"),)), "U0ALICE")

    assert dialog_text(plan).startswith("⚠️ It will be refused: namespace kube-system is "
                                        "protected")


def test_more_plans_than_a_block_holds_take_several_blocks() -> None:
    plans = [PLANNER.propose(Proposal("logs", f"Logs {n}", pods(1), mutating=False), "U0A")
             for n in range(30)]

    blocks = plan_blocks(plans)

    assert [len(b["elements"]) for b in blocks] == [25, 5]
    assert_valid_blocks(blocks)
    assert all("confirm" not in e and "style" not in e for b in blocks for e in b["elements"])


def outcome(result: Result, objects: tuple = ()) -> Outcome:
    actor = Actor("U0ALICE", "slack")
    return Outcome(result, f"✅ delete-pods Pod batch/x: 1 deleted — by {actor}", (), "p1",
                   "delete-pods", actor, objects)


def test_after_a_click_only_that_button_goes_and_the_line_is_replaced_not_added() -> None:
    plans = [PLANNER.propose(Proposal("delete-pods", f"Delete {n}", pods(1)), "U0ALICE")
             for n in range(2)]
    clicked = ACTION_PREFIX + plans[0].id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "issue"}},
              *plan_blocks(plans)]
    line = outcome_line(outcome(Result.DONE), "U0ALICE")

    once = after_click(blocks, clicked, line, remove=False)
    twice = after_click(once, clicked, line, remove=True)

    assert line == ("✅ delete-pods Pod batch/x: 1 deleted — <@U0ALICE> · details in the "
                    "thread")
    assert [b["type"] for b in once] == ["section", "actions", "context"]
    assert len(once[1]["elements"]) == 2
    assert [b["type"] for b in twice] == ["section", "actions", "context"]
    assert [e["action_id"] for e in twice[1]["elements"]] == [ACTION_PREFIX + plans[1].id]
    assert_valid_blocks(twice)


def test_a_full_message_keeps_within_the_limit_and_loses_no_block() -> None:
    full = [{"type": "divider"}] * (MAX_BLOCKS - 1) + plan_blocks([PLANNER.propose(
        Proposal("delete-pods", "Delete", pods(1)), "U0ALICE")])
    clicked = full[-1]["elements"][0]["action_id"]

    kept = after_click(full, clicked, "line", remove=False)

    assert kept == full


def test_a_plan_is_spent_once_it_ran_or_can_never_run() -> None:
    assert spent(outcome(Result.DONE)) and spent(outcome(Result.EXPIRED))
    assert spent(outcome(Result.ALREADY_DONE))
    assert not spent(outcome(Result.DENIED)) and not spent(outcome(Result.DRY_RUN))
    assert not spent(outcome(Result.INVALID))
    assert not spent(outcome(Result.FAILED))  # the claim could not be taken: it may be retried
    ran = (object(),)
    assert spent(outcome(Result.FAILED, ran))  # it ran and failed: its claim stands


def test_signer_round_trip_keeps_the_button_value_verifiable() -> None:
    plan = PLANNER.propose(Proposal("delete-pods", "Delete", pods(3)), "U0ALICE")
    [button] = plan_blocks([plan])[0]["elements"]

    assert PLANNER.signer.verify(button["value"]).targets == pods(3)
