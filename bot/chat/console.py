"""The console: chat commands typed in a terminal, for trying clusterbot and fixing by hand.

`clusterbot console` reads one command per line (`issues`, `fix 8`, `confirm k3j4h5g6`; a
leading `/cluster` is optional) and prints each answer as text. It remembers the plans it
showed, so `confirm <id>` finds the plan's token: the console is one process talking to one
person, unlike the chat bot's replicas, which carry tokens in their buttons instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.actions.models import ActionPlan
from bot.chat.base import Reply
from bot.report.render import render

PREFIX = "/cluster"
PROMPT = "clusterbot> "
QUIT = frozenset({"quit", "exit"})
REMEMBERED_PLANS = 500


class ConsoleAdapter:
    name = "console"

    def __init__(self, answer: Callable[[str], Reply], *, stdin: TextIO = sys.stdin,
                 stdout: TextIO = sys.stdout) -> None:
        self._answer = answer
        self._stdin = stdin
        self._stdout = stdout
        self._tokens: dict[str, str] = {}  # plan id -> token, oldest first

    def run(self) -> None:
        """Answer lines until end of input or `quit`."""
        interactive = self._stdin.isatty()
        while True:
            if interactive:
                self._stdout.write(PROMPT)
                self._stdout.flush()
            line = self._stdin.readline()
            if not line or line.strip().lower() in QUIT:
                return
            if line.strip():
                self._stdout.write(self.handle(line) + "\n\n")
                self._stdout.flush()

    def handle(self, line: str) -> str:
        """The printed answer to one line."""
        reply = self._answer(self._resolve(line.strip().removeprefix(PREFIX).strip()))
        self._remember(reply.options.get("plans") or ())
        return text_of(reply)

    def _resolve(self, command: str) -> str:
        """`confirm <id>` of a plan shown here becomes `confirm <token>`."""
        words = command.split()
        if len(words) == 2 and words[0].lower() == "confirm" and words[1] in self._tokens:
            return f"confirm {self._tokens[words[1]]}"
        return command

    def _remember(self, plans: tuple[ActionPlan, ...]) -> None:
        for plan in plans:
            self._tokens[plan.id] = plan.token
        while len(self._tokens) > REMEMBERED_PLANS:
            del self._tokens[next(iter(self._tokens))]


def text_of(reply: Reply) -> str:
    if reply.view is None or reply.report is None:
        return reply.text.rstrip()
    options = {k: v for k, v in reply.options.items() if k != "prefix"}
    return render(reply.view, reply.report, "text", prefix=PREFIX, **options).rstrip()
