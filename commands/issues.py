"""`/cluster issues [namespace] [--all]`: diagnosed problems with cause and fix, worst first.

Chat answers list the first few in full and count the rest; `--all` lists every one.
"""

from bot.chat.base import Reply, Request
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
    return Reply(view="issues", report=report, options={"namespace": namespace, "limit": limit})


COMMAND = Command("issues", "Problems with their cause and the exact fix", USAGE, run)
