"""Signed, expiring action tokens: an `ActionRequest` any replica can verify, in a button.

A token is `v1.<payload>.<mac>`: the request as compact JSON, deflated and base64url-encoded,
then HMAC-SHA256 over version and payload with a key derived from CLUSTERBOT_ACTION_SECRET.
It fits a Slack button's value (2,000 characters) for the plans clusterbot makes, carries its
own expiry and a random nonce (the plan id), and needs no server-side state: the signature
proves clusterbot made it, unchanged. The MAC is checked before anything is decoded, so a
forged payload is never parsed; `claimed()` reads one only to name it in the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from bot.actions.models import Result
from bot.models import ActionRequest, ObjectRef

VERSION = "v1"
MAX_LENGTH = 2000  # Slack's limit on a button's `value`
NONCE_BYTES = 5  # 8 base32 characters: short enough to type, unique among live plans
_MAX_PAYLOAD = 16_384  # inflated bytes; a bound on what a forged payload may cost to read
_KEY_CONTEXT = b"clusterbot action tokens v1"

Clock = Callable[[], datetime]


class TokenError(Exception):
    """A token that must not run: `result` is EXPIRED (then `request` is the verified,
    expired request) or INVALID (tampered, malformed, signed with another key)."""

    def __init__(self, result: Result, message: str, request: ActionRequest | None = None):
        super().__init__(message)
        self.result = result
        self.request = request


class TokenTooLarge(ValueError):
    """The request does not fit in a button: too many objects in one plan."""


def is_token(text: str) -> bool:
    """True when the text has the shape of a token (a plan id does not)."""
    return text.startswith(f"{VERSION}.") and text.count(".") == 2


def new_nonce() -> str:
    """A random plan id: lowercase base32, valid in Kubernetes object names."""
    return base64.b32encode(secrets.token_bytes(NONCE_BYTES)).decode().rstrip("=").lower()


class Signer:
    """Signs and verifies tokens with one key; without a secret, a random per-process key."""

    def __init__(self, secret: str | None, clock: Clock) -> None:
        self.ephemeral = not secret
        material = secret.encode() if secret else secrets.token_bytes(32)
        self._key = hmac.new(material, _KEY_CONTEXT, hashlib.sha256).digest()
        self._clock = clock

    def sign(self, request: ActionRequest) -> str:
        payload = _b64encode(zlib.compress(orjson.dumps(_to_wire(request)), 9))
        token = f"{VERSION}.{payload}.{self._mac(payload)}"
        if len(token) > MAX_LENGTH:
            raise TokenTooLarge(f"a plan for {len(request.targets)} objects is "
                                f"{len(token)} characters, over {MAX_LENGTH}")
        return token

    def verify(self, token: str) -> ActionRequest:
        """The request a genuine token carries; TokenError when it must not run."""
        payload = self._authentic_payload(token)
        try:
            request = _from_wire(orjson.loads(_inflate(payload)))
        except (ValueError, TypeError, KeyError, zlib.error) as error:
            raise TokenError(Result.INVALID, f"the token is malformed ({error})") from None
        if self._clock().timestamp() > request.expires_at:
            raise TokenError(Result.EXPIRED, "the token has expired", request)
        return request

    def _authentic_payload(self, token: str) -> str:
        parts = token.strip().split(".") if len(token) <= MAX_LENGTH else []
        if len(parts) != 3 or parts[0] != VERSION:
            raise TokenError(Result.INVALID, "this is not a clusterbot action token")
        if not hmac.compare_digest(parts[2], self._mac(parts[1])):
            raise TokenError(Result.INVALID, "the token's signature does not match: it was "
                             "changed, or signed by a clusterbot with another secret")
        return parts[1]

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest()
        return _b64encode(digest)


def claimed(token: str) -> str:
    """What an unverified token says it would do, for the audit trail only; never trusted."""
    parts = token.strip().split(".") if len(token) <= MAX_LENGTH else []
    try:
        request = _from_wire(orjson.loads(_inflate(parts[1])))
    except (IndexError, ValueError, TypeError, KeyError, zlib.error):
        return "unreadable"
    names = ", ".join(str(t) for t in request.targets)
    return f"{request.action} {names}"[:300]


# -- wire format ----------------------------------------------------------------------------


def _to_wire(request: ActionRequest) -> dict[str, Any]:
    return {"a": request.action, "t": [_ref_out(t) for t in request.targets],
            "r": request.requester, "e": request.expires_at, "n": request.nonce,
            "s": _ref_out(request.subject) if request.subject else None, "f": request.finding}


def _from_wire(data: dict[str, Any]) -> ActionRequest:
    targets = tuple(_ref_in(t) for t in data["t"])
    if not isinstance(data["a"], str) or not targets or not isinstance(data["e"], int):
        raise ValueError("missing action, objects or expiry")
    return ActionRequest(action=data["a"], targets=targets, requester=str(data["r"]),
                         expires_at=data["e"], nonce=str(data["n"]),
                         subject=_ref_in(data["s"]) if data.get("s") else None,
                         finding=str(data.get("f") or ""))


def _ref_out(ref: ObjectRef) -> list[str]:
    return [ref.kind, ref.namespace, ref.name, ref.uid]


def _ref_in(fields: Any) -> ObjectRef:
    if not isinstance(fields, list) or len(fields) != 4 or not all(
            isinstance(f, str) for f in fields):
        raise ValueError("an object is not [kind, namespace, name, uid]")
    kind, namespace, name, uid = fields
    return ObjectRef(kind, name, namespace, uid)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _inflate(payload: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not base64: {error}") from None
    inflater = zlib.decompressobj()
    inflated = inflater.decompress(data, _MAX_PAYLOAD)
    if inflater.unconsumed_tail:
        raise ValueError("payload too large")
    return inflated
