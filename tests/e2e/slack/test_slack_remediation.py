"""Remediation buttons end to end: signed `block_actions` clicks into the Bolt app in HTTP mode.

Each replica (replicas.py) is built as `clusterbot serve` builds it and answers from the demo
cluster; the fake API server, seeded with the same demo cluster, is the cluster the fixes act
on. Replicas share nothing but the fake API and the action secret. The stub of Slack records
what the bot posts, updates and replies in threads; every case checks the cluster, those texts
and the audit trail (the Event in the fake, the JSON line on the `clusterbot.audit` logger).
The clock is a settable one.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.report.blocks import escape
from tests.actions.conftest import (
    ALICE,
    FAILED_TEST_PODS,
    HOME,
    Clock,
    Inventory,
    audit_events,
    audit_lines,
    recreate,
)
from tests.cluster.live_helpers import wait_until
from tests.e2e.slack.blockkit import assert_valid_blocks, text_of
from tests.e2e.slack.clicks import button, buttons, form, tampered
from tests.e2e.slack.conftest import post
from tests.e2e.slack.replicas import Replica, Replicas, ask, click, press
from tests.e2e.slack.stub import SlackStub, signed_headers, slash_command_body
from tests.fakeapi import FakeKubeAPI

LEFTOVERS = "Delete 4 pod(s)"  # the seed's cleanup: POD-LEFTOVER-FAILED in financial-screener
MALLORY = "U0MALLORY"
PROTECTED_RESTART = "Restart Deployment longhorn-system/csi-snapshotter"  # refused, but says so


@pytest.fixture
def replicas(slack: SlackStub, cluster: FakeKubeAPI, clock: Clock,
             tmp_path: Path) -> Iterator[Replicas]:
    started = Replicas(slack, cluster, clock, tmp_path)
    yield started
    started.close()


@pytest.fixture
def bot(replicas: Replicas) -> Replica:
    return replicas.start()


def pods_left(cluster: FakeKubeAPI) -> set[str]:
    return {p["metadata"]["name"] for p in cluster.list("pods", "financial-screener")}


def audited(cluster: FakeKubeAPI, audit_log: pytest.LogCaptureFixture, result: str,
            namespace: str = "financial-screener") -> dict[str, Any]:
    """The click's audit: one JSON log line and one Event in `namespace`, both saying
    `result`; the Event."""
    [line] = audit_lines(audit_log)
    assert (line["result"], line["platform"]) == (result, "slack")
    [event] = audit_events(cluster, namespace)
    assert f": {result}: " in event["message"]
    return event


def assert_nothing_changed(cluster: FakeKubeAPI, before: Inventory) -> None:
    after = Inventory.of(cluster)
    assert after - before == before - after == set()
    assert cluster.requests.count("DELETE", "/api/") == 0
    assert cluster.requests.count("PATCH") == 0


# -- the buttons ---------------------------------------------------------------------------


def test_issues_offer_each_findings_plans_as_buttons(
        slack: SlackStub, bot: Replica) -> None:
    message = ask(slack, bot, "issues")

    blocks = message.params["blocks"]
    delete = button(blocks, LEFTOVERS)
    assert delete["style"] == "danger"
    dialog = delete["confirm"]
    assert dialog["title"]["text"] == "Delete 4 pods?"
    assert dialog["style"] == "danger"
    assert (dialog["confirm"]["text"], dialog["deny"]["text"]) == ("Delete 4 pods", "Cancel")
    assert all(f"Pod financial-screener/{name}" in dialog["text"]["text"]
               for name in FAILED_TEST_PODS)
    request = bot.remediation.planner.signer.verify(delete["value"])
    assert {t.name for t in request.targets} == FAILED_TEST_PODS
    read_only = [b for b in buttons(blocks) if b["text"]["text"].startswith(("Show logs",
                                                                               "Describe"))]
    assert read_only and all("confirm" not in b and "style" not in b for b in read_only)
    restart = button(blocks, "Restart Deployment longhorn-system/csi-snapshotter")
    assert restart["confirm"]["text"]["text"].startswith(
        "⚠️ It will be refused: namespace longhorn-system is protected")
    ids = [b["action_id"] for b in buttons(blocks)]
    assert len(ids) == len(set(ids))


def test_fix_offers_its_plans_as_buttons_under_the_dry_run(
        slack: SlackStub, bot: Replica) -> None:
    message = ask(slack, bot, "fix POD-LEFTOVER-FAILED financial-screener")

    shown = text_of(message.params["blocks"])
    plan = bot.remediation.planner.signer.verify(button(message.params["blocks"],
                                                        LEFTOVERS)["value"])
    assert f"plan {plan.nonce}" in shown and "Dry run: Delete 4 pods" in shown
    assert "<@U0ALICE> asked `/cluster fix POD-LEFTOVER-FAILED financial-screener`" in shown


# -- clicks that act -------------------------------------------------------------------------


def test_the_seed_cleanup_deletes_exactly_its_pods_and_says_so_in_place(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    gone = before - Inventory.of(cluster)
    assert {(plural, ns, name) for plural, ns, name, _ in gone} == {
        ("pods", "financial-screener", name) for name in FAILED_TEST_PODS}
    assert Inventory.of(cluster) - before == set()
    assert answer.line == ("✅ delete-pods 4 Pods in financial-screener: 4 deleted — <@U0ALICE> "
                           "· details in the thread")
    assert LEFTOVERS not in [b["text"]["text"] for b in buttons(answer.update.params["blocks"])]
    assert len(buttons(answer.update.params["blocks"])) == len(
        buttons(message.params["blocks"])) - 1
    assert "deleted Pod financial-screener/test-eodhd-final" in answer.details
    event = audited(cluster, audit_log, "done")
    assert "U0ALICE (slack) confirmed delete-pods" in event["message"]


def test_two_clicks_answered_together_both_keep_their_line(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI) -> None:
    message = ask(slack, bot, "issues")
    bodies = [form(press(slack, message, label)) for label in (LEFTOVERS, PROTECTED_RESTART)]
    updated = len(slack.delivered("chat.update"))

    with ThreadPoolExecutor(2) as both:  # Slack delivers clicks as they come: at once
        statuses = list(both.map(lambda body: post(bot.port, body, signed_headers(body)),
                                 bodies))

    assert statuses == [(200, "")] * 2
    slack.wait_delivered("chat.update", updated + 2)
    final = slack.delivered("chat.update")[-1].params["blocks"]
    lines = [text_of([b]) for b in final
             if str(b.get("block_id", "")).startswith("clusterbot-outcome-")]
    assert len(lines) == 2, lines
    assert any("delete-pods" in line for line in lines)
    assert any("refused" in line and "csi-snapshotter" in line for line in lines)
    assert not pods_left(cluster) & FAILED_TEST_PODS


def test_a_pod_recreated_between_proposal_and_click_survives(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    new_uid = recreate(cluster, "pods", "financial-screener", "test-eodhd-final")

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    survivor = cluster.get("pods", "financial-screener", "test-eodhd-final")
    assert survivor is not None and survivor["metadata"]["uid"] == new_uid
    assert not pods_left(cluster) & (FAILED_TEST_PODS - {"test-eodhd-final"})
    assert "3 deleted, 1 recreated (left alone)" in answer.line
    assert ("Pod financial-screener/test-eodhd-final was recreated since the proposal; nothing "
            "deleted") in answer.details
    audited(cluster, audit_log, "partial")


def test_a_click_delivered_to_the_other_replica_runs_there(
        slack: SlackStub, replicas: Replicas, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    proposer, other = replicas.start("replica-a"), replicas.start("replica-b")
    message = ask(slack, proposer, "issues")

    answer = click(slack, other, press(slack, message, LEFTOVERS))

    assert not pods_left(cluster) & FAILED_TEST_PODS
    assert "4 deleted — <@U0ALICE>" in answer.line
    assert audited(cluster, audit_log, "done")["reportingInstance"] == "replica-b"


def test_a_member_of_an_allowed_user_group_may_confirm(
        slack: SlackStub, replicas: Replicas, cluster: FakeKubeAPI) -> None:
    slack.user_groups["S0OPSTEAM"] = ["U0BOB"]
    bot = replicas.start(remediation_users=("S0OPSTEAM",))
    message = ask(slack, bot, "issues", user="U0BOB")

    answer = click(slack, bot, press(slack, message, LEFTOVERS, user="U0BOB"))

    assert "4 deleted — <@U0BOB>" in answer.line
    [lookup] = slack.delivered("usergroups.users.list")
    assert lookup.params["usergroup"] == "S0OPSTEAM"
    assert not pods_left(cluster) & FAILED_TEST_PODS


# -- clicks that must do nothing, and say why ------------------------------------------------


def test_an_unauthorised_user_changes_nothing(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)

    answer = click(slack, bot, press(slack, message, LEFTOVERS, user=MALLORY))

    assert_nothing_changed(cluster, before)
    assert answer.line.startswith(
        f"⛔ delete-pods 4 Pods in financial-screener: refused: {MALLORY} is not allowed to run "
        "delete-pods (CLUSTERBOT_REMEDIATION_USERS does not list them) — <@U0MALLORY>")
    assert button(answer.update.params["blocks"], LEFTOVERS), "the button stays for others"
    event = audited(cluster, audit_log, "denied")
    assert event["type"] == "Warning" and event["message"].startswith(f"{MALLORY} (slack)")


def test_a_protected_namespace_is_not_touched(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)

    answer = click(slack, bot, press(slack, message,
                                     "Restart Deployment longhorn-system/csi-snapshotter"))

    assert_nothing_changed(cluster, before)
    assert "refused: namespace longhorn-system is protected" in answer.line
    event = audited(cluster, audit_log, "denied", "longhorn-system")
    assert event["involvedObject"]["name"] == "csi-snapshotter"


def test_an_expired_plan_changes_nothing(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI, clock: Clock,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)
    clock.advance(15 * 60 + 1)

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    assert_nothing_changed(cluster, before)
    assert "refused: the token has expired; ask again with `fix` for a fresh plan" in \
        answer.line
    assert LEFTOVERS not in [b["text"]["text"] for b in buttons(answer.update.params["blocks"])]
    audited(cluster, audit_log, "expired")


def test_a_tampered_token_changes_nothing(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    payload = press(slack, message, LEFTOVERS)
    target = payload["actions"][0]

    def another_pod(request: dict[str, Any]) -> None:
        request["t"][0][2] = "test-redis-connection"

    target["value"] = tampered(target["value"], another_pod)
    before = Inventory.of(cluster)

    answer = click(slack, bot, payload)

    assert_nothing_changed(cluster, before)
    assert answer.line.startswith("⛔ Refused: the token's signature does not match: it was "
                                  "changed, or signed by a clusterbot with another secret. "
                                  "Nothing was done.")
    event = audited(cluster, audit_log, "invalid", HOME)
    assert "an unverifiable token (delete-pods Pod financial-screener/test-redis-connection" in \
        event["message"]


def test_a_replayed_click_runs_once(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    payload = press(slack, message, LEFTOVERS)
    body = form(payload)
    click(slack, bot, payload, body=body)
    deletes = cluster.requests.count("DELETE", "/api/v1/namespaces/financial-screener/pods")

    replayed = click(slack, bot, payload, body=body)

    assert deletes == 4
    assert cluster.requests.count("DELETE", "/api/v1/namespaces/financial-screener/pods") == 4
    assert "not run again: already done by U0ALICE (slack)" in replayed.line
    assert [line["result"] for line in audit_lines(audit_log)] == ["done", "already-done"]
    assert len(audit_events(cluster, "financial-screener")) == 2


def test_dry_run_mode_changes_nothing_and_says_what_would_happen(
        slack: SlackStub, replicas: Replicas, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replicas.start(remediation="dry-run")
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    assert_nothing_changed(cluster, before)
    assert "dry run: nothing was changed (CLUSTERBOT_REMEDIATION=dry-run" in answer.line
    assert "would delete Pod financial-screener/test-eodhd-final" in answer.details
    assert button(answer.update.params["blocks"], LEFTOVERS), "a dry run leaves the button"
    audited(cluster, audit_log, "dry-run")


# -- the API says no -------------------------------------------------------------------------


def test_a_403_from_the_api_is_reported(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    cluster.forbid("pods")

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    cluster.allow("pods")
    assert pods_left(cluster) >= FAILED_TEST_PODS
    assert "failed: 4 forbidden (RBAC)" in answer.line
    assert ("clusterbot is not allowed to delete pods in financial-screener (RBAC); nothing "
            "deleted") in answer.details
    audited(cluster, audit_log, "failed")


def test_a_409_from_the_api_is_reported(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    message = ask(slack, bot, "issues")
    cluster.faults.fail(409, path_prefix="/api/v1/namespaces/financial-screener/pods/"
                                         "test-fundamentals")

    answer = click(slack, bot, press(slack, message, LEFTOVERS))

    assert pods_left(cluster) & FAILED_TEST_PODS == {"test-fundamentals"}
    assert "3 deleted, 1 failed" in answer.line
    assert "could not delete Pod financial-screener/test-fundamentals: 409" in answer.details
    audited(cluster, audit_log, "partial")


# -- read-only buttons -----------------------------------------------------------------------


def test_logs_go_to_the_thread_as_a_file_when_long(
        slack: SlackStub, bot: Replica, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    pod = "test-data-load-dlfv5"
    lines = [f"loading batch {n}: " + "x" * 80 for n in range(60)]
    cluster.set_logs("databases", pod, "psql", "\n".join(lines))
    message = ask(slack, bot, "issues")

    answer = click(slack, bot, press(slack, message, f"Show logs of {pod}"), updates=False)

    assert "Last 50 log lines of databases/" in answer.details
    assert "the full output is in the attached file" in answer.details
    upload = slack.wait_delivered("files.completeUploadExternal")[0]
    assert upload.params["thread_ts"] == message.result["ts"]
    [content] = [c.params["content"] for c in slack.delivered("upload")]
    assert content.decode().splitlines() == lines[-50:]
    assert audit_lines(audit_log)[0]["result"] == "shown"


def test_describe_answers_in_the_thread_without_touching_the_message(
        slack: SlackStub, bot: Replica) -> None:
    message = ask(slack, bot, "issues")

    answer = click(slack, bot, press(slack, message, "Describe Deployment celery/flower"),
                   updates=False)

    assert escape("Deployment celery/flower") in answer.details


def test_a_click_from_someone_the_bot_does_not_serve_is_answered_to_them_alone(
        slack: SlackStub, replicas: Replicas, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replicas.start(allowed_users=(ALICE,))
    message = ask(slack, bot, "issues")
    before = Inventory.of(cluster)
    body = form(press(slack, message, LEFTOVERS, user=MALLORY))

    assert post(bot.port, body, signed_headers(body)) == (200, "")

    [response] = slack.wait_delivered("response")
    assert response.params["response_type"] == "ephemeral"
    assert_valid_blocks(response.params["blocks"])
    assert "you are not on clusterbot's list of users (U0MALLORY)" in text_of(
        response.params["blocks"])
    assert_nothing_changed(cluster, before)
    wait_until(lambda: audit_lines(audit_log), "the audit")  # written off Bolt's thread
    event = audited(cluster, audit_log, "denied")
    assert event["message"].startswith(f"{MALLORY} (slack)")
    assert "not on clusterbot's list of users" in event["message"]


def test_a_typed_confirmation_from_someone_the_bot_does_not_serve_is_audited(
        slack: SlackStub, replicas: Replicas, cluster: FakeKubeAPI,
        audit_log: pytest.LogCaptureFixture) -> None:
    bot = replicas.start(allowed_users=(ALICE,))
    message = ask(slack, bot, "issues")
    token = button(message.params["blocks"], LEFTOVERS)["value"]
    body = slash_command_body(f"confirm {token}", user=MALLORY,
                              response_url=slack.response_url("command"))
    status, answer = post(bot.port, body, signed_headers(body))

    assert status == 200 and "not on clusterbot's list of users" in answer
    wait_until(lambda: audit_lines(audit_log), "the audit")  # the Event, then the log line
    assert audited(cluster, audit_log, "denied")["message"].startswith(f"{MALLORY} (slack)")
    assert pods_left(cluster) >= set(FAILED_TEST_PODS)

