"""The `clusterbot` command line and composition root: settings -> source -> commands -> output.

`clusterbot health|nodes|storage|issues|report|checks` answer once from the demo cluster
(`--demo`) or a kubectl dump (`--snapshot PATH`) and print text, Markdown or JSON. Errors are
one line on stderr: exit code 2 for bad input (a broken dump, a bad argument).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.analyzers.base import Thresholds
from bot.chat.base import Reply
from bot.cluster.dump import DumpError, load_paths
from bot.cluster.source import ClusterSource, SourceError, StaticSource
from bot.config import Settings
from bot.report.json_view import render_json
from bot.report.render import render
from commands import ALL, Context, dispatch

EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
REPORT_VERBS = ("health", "nodes", "storage", "issues", "report")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    source = common.add_argument_group("cluster source (choose one)")
    source.add_argument("--demo", action="store_true",
                        help="use the built-in demo cluster (an 8-node Raspberry Pi K3s homelab)")
    source.add_argument("--snapshot", metavar="PATH", action="append", default=[],
                        help="a `kubectl get ... -o json` file or a `kubectl cluster-info dump` "
                             "directory (repeatable)")
    common.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="output format (default: text)")

    parser = argparse.ArgumentParser(
        prog="clusterbot", description="Diagnose a small Kubernetes cluster and say what to do.")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    summaries = {c.name: c.summary for c in ALL}
    for verb in REPORT_VERBS:
        sub = verbs.add_parser(verb, parents=[common], help=summaries[verb],
                               description=summaries[verb])
        if verb == "issues":
            sub.add_argument("namespace", nargs="?", help="only this namespace")
            sub.add_argument("--all", action="store_true", help="list every finding in full")
    verbs.add_parser("checks", help=summaries["checks"], parents=[common])
    return parser


def make_source(args: argparse.Namespace) -> ClusterSource:
    if args.demo and args.snapshot:
        raise SourceError("choose one of --demo and --snapshot")
    if args.demo:
        from bot.cluster.demo import demo_snapshot

        return StaticSource(demo_snapshot())
    if args.snapshot:
        return StaticSource(load_paths(args.snapshot))
    raise SourceError("no cluster given: use --demo or --snapshot PATH")


def output(reply: Reply, fmt: str) -> str:
    if reply.view is None or reply.report is None:
        return reply.text.rstrip() + "\n"
    if fmt == "json":
        return render_json(reply.view, reply.report, reply.options.get("namespace"))
    return render(reply.view, reply.report, fmt, prefix="clusterbot", **reply.options)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    words = [args.verb] + ([args.namespace] if getattr(args, "namespace", None) else []) + (
        ["--all"] if getattr(args, "all", False) else [])
    try:
        source = make_source(args) if args.verb != "checks" else None
        thresholds = Thresholds.from_settings(Settings())
        reply = dispatch(Context(source, thresholds=thresholds), " ".join(words),
                         prefix="clusterbot")
    except (DumpError, SourceError) as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if reply.error:
        print(f"clusterbot: error: {reply.text}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(output(reply, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
