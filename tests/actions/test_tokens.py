"""Action tokens: what they carry, that they fit a Slack button, and what they refuse."""

from __future__ import annotations

import re
import uuid

import pytest

from bot.actions.models import Result
from bot.actions.tokens import MAX_LENGTH, Signer, TokenError, TokenTooLarge, claimed, new_nonce
from bot.models import ActionRequest, ObjectRef
from tests.actions.conftest import SECRET, START, Clock

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def request(pods: int = 4, expires_in: int = 900) -> ActionRequest:
    targets = tuple(ObjectRef("Pod", f"celery-worker-mlz6x5mv8m-{uuid.uuid4().hex[:5]}",
                              "financial-screener", str(uuid.uuid4())) for _ in range(pods))
    return ActionRequest("delete-pods", targets, "U0ALICE",
                         int(START.timestamp()) + expires_in, new_nonce(),
                         ObjectRef("Namespace", "financial-screener"), "POD-EVICTED")


def test_a_token_carries_the_request_unchanged() -> None:
    signer = Signer(SECRET, Clock())
    sent = request()
    assert signer.verify(signer.sign(sent)) == sent


def test_another_replica_with_the_same_secret_verifies_it() -> None:
    assert Signer(SECRET, Clock()).verify(Signer(SECRET, Clock()).sign(request())).targets


def test_a_plan_of_25_evicted_pods_fits_a_slack_button() -> None:
    token = Signer(SECRET, Clock()).sign(request(pods=25))
    assert len(token) <= MAX_LENGTH


def test_a_plan_too_big_for_a_button_is_refused_when_signed() -> None:
    with pytest.raises(TokenTooLarge, match="a plan for 200 objects"):
        Signer(SECRET, Clock()).sign(request(pods=200))


def test_expiry_is_checked_against_the_clock() -> None:
    clock = Clock()
    token = Signer(SECRET, clock).sign(request(expires_in=900))
    clock.advance(900)
    assert Signer(SECRET, clock).verify(token)
    clock.advance(1)
    with pytest.raises(TokenError) as caught:
        Signer(SECRET, clock).verify(token)
    assert caught.value.result is Result.EXPIRED
    assert caught.value.request is not None  # genuine: the audit may name its objects


@pytest.mark.parametrize("token", ["", "v1", "v1.a.b.c", "v2.abc.def", "x" * 3000,
                                   "v1." + "A" * 50 + ".sig"])
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(TokenError) as caught:
        Signer(SECRET, Clock()).verify(token)
    assert caught.value.result is Result.INVALID


def test_a_token_signed_with_another_secret_or_without_one_is_invalid() -> None:
    for signer in (Signer("other-" + "z" * 32, Clock()), Signer(None, Clock())):
        with pytest.raises(TokenError, match="signature does not match"):
            Signer(SECRET, Clock()).verify(signer.sign(request()))


def test_without_a_secret_each_process_has_its_own_key() -> None:
    ephemeral = Signer(None, Clock())
    assert ephemeral.ephemeral
    assert ephemeral.verify(ephemeral.sign(request()))


def test_claimed_names_what_an_unverified_token_says_and_never_raises() -> None:
    token = Signer("forger-" + "f" * 32, Clock()).sign(request(pods=1))
    assert claimed(token).startswith("delete-pods Pod financial-screener/celery-worker-")
    assert claimed("v1.%%%.x") == claimed("nonsense") == "unreadable"


def test_nonces_are_short_valid_object_names() -> None:
    nonces = {new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    assert all(len(n) == 8 and DNS_LABEL.match(n) for n in nonces)
