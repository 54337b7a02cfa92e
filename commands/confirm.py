"""`/cluster confirm <plan>`: run a plan `fix` offered (a fix after its checks, or a read).

The argument is the plan's token, which carries the whole plan signed, so any replica can
verify and run it. A short plan id is resolved to its token by the conversation that showed
it (the console remembers its own plans; Slack and Matrix carry tokens in their buttons and
messages); an id nobody resolved gets a clear answer here.
"""

from __future__ import annotations

from bot.actions.models import Actor, Result
from bot.actions.tokens import is_token
from bot.chat.base import Reply, Request
from bot.cluster.snapshot import Snapshot
from bot.cluster.source import SourceError
from commands.base import Command, Context, UsageError, parse

USAGE = "confirm <plan id>"
ERRORS = (Result.FAILED, Result.DENIED, Result.EXPIRED, Result.INVALID)


def run(ctx: Context, request: Request) -> Reply:
    args = parse(request, max_positional=1, usage=USAGE)
    if not args.positional:
        raise UsageError(f"which plan? usage: {USAGE}; `fix <finding>` lists plan ids")
    remediation = ctx.actions()
    token = args.positional[0]
    if not is_token(token):
        raise UsageError(f"plan {token} is not known here: a plan id works in the "
                         "conversation that showed it, within its time; run `fix` again")
    outcome = remediation.executor.confirm(token, Actor(request.user, request.platform),
                                           _snapshot(ctx))
    return Reply(text=outcome.text, error=outcome.result in ERRORS,
                 ephemeral=outcome.result.refused, options={"outcome": outcome})


def audit_refusal(ctx: Context, request: Request, reason: str) -> None:
    """Record a confirmation the chat refused before it could run (the user or channel is not
    on its allow-lists); anything that is not a plan's token leaves nothing to record."""
    token = request.args[0] if len(request.args) == 1 else ""
    if ctx.remediation is not None and is_token(token):
        ctx.remediation.executor.refuse(token, Actor(request.user, request.platform), reason)


def _snapshot(ctx: Context) -> Snapshot | None:
    """The current snapshot, for `describe`; a plan that changes things does not need it."""
    try:
        return ctx.source.snapshot() if ctx.source else None
    except SourceError:
        return None


COMMAND = Command("confirm", "Run a plan that `fix` offered, after its checks", USAGE, run)
