"""`/cluster report`: the full weekly report, on demand."""

from bot.chat.base import Reply, Request
from commands.base import Command, Context, view_reply

USAGE = "report"


def run(ctx: Context, request: Request) -> Reply:
    return view_reply(ctx, "report", request, USAGE)


COMMAND = Command("report", "The full weekly report, now", USAGE, run)
