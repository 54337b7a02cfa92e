"""`/cluster storage`: PVCs by storage class with size and usage, and the storage backends."""

from bot.chat.base import Reply, Request
from commands.base import Command, Context, view_reply

USAGE = "storage"


def run(ctx: Context, request: Request) -> Reply:
    return view_reply(ctx, "storage", request, USAGE)


COMMAND = Command("storage", "PVCs by storage class with size and usage", USAGE, run)
