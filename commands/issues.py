"""`/cluster issues [namespace] [--all]`: diagnosed problems with cause and fix, worst first.

Chat answers list the first few in full and count the rest; `--all` lists every one. Where
fixes are set up, the reply carries each listed finding's plans (`issue_plans`, by number), so
a chat that can draw buttons offers them beside the finding.
"""

from typing import Any

from bot.actions.models import ActionPlan
from bot.chat.base import Reply, Request
from bot.report.model import Issue
from commands.base import Command, Context, UsageError, parse

USAGE = "issues [namespace] [--all]"
CHAT_LIMIT = 10


def run(ctx: Context, request: Request) -> Reply:
    args = parse(request, flags=frozenset({"--all"}), max_positional=1, usage=USAGE)
    report = ctx.report()
    namespace = args.positional[0] if args.positional else None
    if namespace and namespace not in {n.name for n in report.namespaces}:
        raise UsageError(f"no namespace {namespace!r} in this cluster; usage: {USAGE}")
    limit = None if "--all" in args.flags else CHAT_LIMIT
    options: dict[str, Any] = {"namespace": namespace, "limit": limit}
    if ctx.remediation is not None:
        shown = report.issues_in(namespace)[:limit]
        options["issue_plans"] = _plans(ctx, shown, request.user)
    return Reply(view="issues", report=report, options=options)


def _plans(ctx: Context, issues: tuple[Issue, ...], user: str) -> dict[int, list[ActionPlan]]:
    """Each issue's plans; a proposal that cannot become one is explained by `fix`."""
    planner = ctx.actions().planner
    return {issue.number: planner.plans_for(issue.finding, user)[0] for issue in issues}


COMMAND = Command("issues", "Problems with their cause and the exact fix", USAGE, run)
