"""`/cluster checks`: the catalogue of every check clusterbot runs, with code and severity."""

from bot.analyzers import checks
from bot.chat.base import Reply, Request
from commands.base import Command, Context, parse

USAGE = "checks"


def run(ctx: Context, request: Request) -> Reply:
    parse(request, usage=USAGE)
    lines = [f"{c.code:<28} {c.severity.value:<8} {c.summary}" for c in checks()]
    return Reply(text="\n".join(["Checks clusterbot runs:", *lines]))


COMMAND = Command("checks", "Every check clusterbot runs, with its code and severity", USAGE, run)
