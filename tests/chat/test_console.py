"""The console adapter: lines in, text out, and `confirm <id>` for the plans it showed."""

from __future__ import annotations

import io

from bot.actions.remediation import Remediation
from bot.chat.console import ConsoleAdapter
from bot.cluster.demo import demo_snapshot
from bot.cluster.source import StaticSource
from bot.config import Settings
from commands import Context, dispatch


def console(lines: str) -> str:
    ctx = Context(StaticSource(demo_snapshot()),
                  remediation=Remediation.from_settings(Settings(namespace="clusterbot"), None))
    out = io.StringIO()
    ConsoleAdapter(lambda text: dispatch(ctx, text, user="console:ada", platform="console"),
                   stdin=io.StringIO(lines), stdout=out).run()
    return out.getvalue()


def plan_id(answer: str, action_words: str) -> str:
    line = next(line for line in answer.splitlines() if action_words in line)
    return line.split(" · plan ")[1].split()[0]


def test_a_report_view_prints_as_text_and_the_prefix_is_optional() -> None:
    printed = console("/cluster health\nnodes\n")
    assert "pi-worker-03" in printed
    assert printed.count("\n\n") >= 2  # answers are separated by a blank line


def test_a_plan_id_is_known_only_to_the_session_that_showed_it() -> None:
    elsewhere = plan_id(console("fix 8\n"), "Delete 4 pod(s)")
    printed = console(f"fix 8\nconfirm {elsewhere}\n")
    assert f"plan {elsewhere} is not known here" in printed


def test_a_session_confirms_its_own_plan_as_a_dry_run() -> None:
    ctx = Context(StaticSource(demo_snapshot()),
                  remediation=Remediation.from_settings(Settings(namespace="clusterbot"), None))
    adapter = ConsoleAdapter(lambda text: dispatch(ctx, text, user="console:ada",
                                                   platform="console"))
    shown = adapter.handle("fix 8")
    answer = adapter.handle(f"confirm {plan_id(shown, 'Delete 4 pod(s)')}")
    assert answer.startswith("🧪 delete-pods 4 Pods in financial-screener: dry run only")
    assert "would delete Pod financial-screener/test-eodhd-final" in answer


def test_quit_ends_the_session_before_end_of_input() -> None:
    printed = console("checks\nquit\nhealth\n")
    assert "Every check" not in printed and "POD-CRASHLOOP" in printed
    assert "pi-worker" not in printed
