"""`/cluster nodes`: every node's status, roles, CPU and memory use, pressure and version."""

from bot.chat.base import Reply, Request
from commands.base import Command, Context, view_reply

USAGE = "nodes"


def run(ctx: Context, request: Request) -> Reply:
    return view_reply(ctx, "nodes", request, USAGE)


COMMAND = Command("nodes", "Node table: status, roles, CPU/memory use, pressure, version", USAGE,
                  run)
