"""`/cluster help`: what the bot can do."""

from bot.chat.base import Reply, Request
from commands.base import Command, Context

USAGE = "help"


def help_text(commands: tuple[Command, ...], prefix: str = "/cluster") -> str:
    width = max(len(c.usage) for c in commands) + len(prefix) + 1
    lines = [f"  {f'{prefix} {c.usage}':<{width}}  {c.summary}" for c in commands]
    return "\n".join(["clusterbot answers:", *lines])


def run(ctx: Context, request: Request) -> Reply:
    from commands import ALL  # the full list is assembled after this module loads

    return Reply(text=help_text(ALL, request.prefix))


COMMAND = Command("help", "This list", USAGE, run)
