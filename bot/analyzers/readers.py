"""Wording and proposals shared by the infrastructure analyzers (nodes, storage, network, certs).

Reading raw dicts defensively lives in `podstate` (as_dict, as_list, condition, event_lines);
this adds what those four analyzers say the same way: how long ago something changed
("since 3h"), sentences that stay tidy when a part is unknown, and the read-only Describe button.
"""

from __future__ import annotations

from datetime import datetime

from bot.analyzers.base import Obj, ref
from bot.analyzers.podstate import age_seconds
from bot.cluster.units import format_age
from bot.models import ObjectRef, Proposal


def named(kind: str, obj: Obj) -> ObjectRef:
    """The object's reference; an object without a name is malformed (ANALYZER-ERROR)."""
    subject = ref(kind, obj)
    if subject.name == "?":
        raise ValueError(f"{kind} without metadata.name")
    return subject


def since(now: datetime, timestamp: object) -> str:
    """"since 3h" for a past timestamp, kubectl-style; "" when it is absent or malformed."""
    seconds = age_seconds(now, timestamp)
    return "" if seconds is None else f"since {format_age(seconds)}"


def words(*parts: str) -> str:
    """Join the non-empty parts with spaces, so an unknown "since 3h" leaves no gap."""
    return " ".join(part for part in parts if part)


def describe(subject: ObjectRef) -> Proposal:
    """The read-only "Describe" button every finding can offer."""
    return Proposal("describe", "Describe", (subject,), mutating=False)
