"""`/cluster health`: the score, its breakdown by area, and the top problems."""

from bot.chat.base import Reply, Request
from commands.base import Command, Context, view_reply

USAGE = "health"


def run(ctx: Context, request: Request) -> Reply:
    return view_reply(ctx, "health", request, USAGE)


COMMAND = Command("health", "Health score, area breakdown and the top problems", USAGE, run)
