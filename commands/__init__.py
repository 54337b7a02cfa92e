"""Chat commands, one verb per file, and the dispatcher that turns a line of text into a Reply.

`ALL` is explicit so the help text and the Slack manifest list the same verbs in one order.
Every failure becomes a short reply: a usage error, an unknown verb with the closest match,
an unreachable cluster; never a traceback in chat.
"""

from __future__ import annotations

import difflib
import logging

from bot.chat.base import Reply, Request, loggable
from bot.cluster.source import SourceError
from commands import checks, confirm, fix, health, issues, nodes, report, storage
from commands import help as help_command
from commands.base import Command, Context, UsageError
from commands.help import help_text

ALL: tuple[Command, ...] = (
    health.COMMAND,
    nodes.COMMAND,
    storage.COMMAND,
    issues.COMMAND,
    fix.COMMAND,
    confirm.COMMAND,
    report.COMMAND,
    checks.COMMAND,
    help_command.COMMAND,
)
BY_NAME = {c.name: c for c in ALL}

log = logging.getLogger(__name__)

__all__ = ["ALL", "BY_NAME", "Context", "audit_refusal", "dispatch"]


def dispatch(ctx: Context, text: str, *, user: str = "", channel: str = "",
             prefix: str = "/cluster", platform: str = "") -> Reply:
    """Run the command a user typed (`"issues databases"`) and return its reply."""
    verb, *args = text.split() or ["help"]
    command = BY_NAME.get(verb.lower())
    if command is None:
        return _unknown(verb, prefix)
    try:
        return command.run(ctx, Request(tuple(args), user, channel, platform, prefix))
    except UsageError as error:
        return Reply(text=str(error), error=True, ephemeral=True)
    except SourceError as error:
        return Reply(text=f"cluster API unreachable: {error}", error=True)
    except Exception:
        log.exception("command %r failed", loggable(text))
        return Reply(text=f"`{verb}` failed with an internal error; it has been logged.",
                     error=True)


def audit_refusal(ctx: Context, text: str, reason: str, *, user: str = "",
                  channel: str = "", platform: str = "") -> None:
    """A command the chat refused to run (allow-lists): a confirmation leaves an audit record,
    like one the remediation policy refuses; other commands change nothing and leave none."""
    verb, *args = text.split() or [""]
    if verb.lower() == confirm.COMMAND.name:
        confirm.audit_refusal(ctx, Request(tuple(args), user, channel, platform), reason)


def _unknown(verb: str, prefix: str) -> Reply:
    close = difflib.get_close_matches(verb.lower(), BY_NAME, n=1)
    hint = f", did you mean `{close[0]}`?" if close else "."
    return Reply(text=f"unknown command `{verb}`{hint}\n\n{help_text(ALL, prefix)}",
                 error=True, ephemeral=True)
