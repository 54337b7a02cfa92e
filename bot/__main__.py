"""The `clusterbot` command line and composition root: settings -> source -> commands -> output.

`clusterbot health|nodes|storage|issues|report|checks` answer once from the demo cluster
(`--demo`), a kubectl dump (`--snapshot PATH`) or, by default, the live cluster of the
kubeconfig (`--kubeconfig`, `--context`, `KUBECONFIG`, in-cluster), read with one paged LIST
per kind; `clusterbot snapshot -o FILE` writes what was read as a List that `--snapshot` loads
back. Errors are one line on stderr: exit code 2 for bad input (a broken dump, a bad argument),
3 when the cluster's API server cannot be reached within `--timeout`.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.analyzers.base import Thresholds
from bot.chat.base import ChatAdapter, Reply
from bot.chat.slack_config import slack_configured
from bot.cluster.client import Unreachable
from bot.cluster.dump import DumpError, load_paths
from bot.cluster.source import ClusterSource, SourceError, StaticSource
from bot.config import ConfigError, Settings, load_settings
from bot.report.json_view import render_json
from bot.report.render import render
from commands import ALL, BY_NAME, Context, audit_refusal, dispatch

if TYPE_CHECKING:
    from bot.actions.authz import GroupMembers
    from bot.actions.remediation import Remediation
    from bot.cluster.client import KubeClient
    from bot.cluster.history_store import HistoryStore
    from bot.observability import Metrics

EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
REPORT_VERBS = ("health", "nodes", "storage", "issues", "report")


def build_parser() -> argparse.ArgumentParser:
    sources = argparse.ArgumentParser(add_help=False)
    source = sources.add_argument_group("cluster source (choose one)")
    source.add_argument("--demo", action="store_true",
                        help="use the built-in demo cluster (an 8-node Raspberry Pi K3s homelab)")
    source.add_argument("--snapshot", metavar="PATH", action="append", default=[],
                        help="a `kubectl get ... -o json` file or a `kubectl cluster-info dump` "
                             "directory (repeatable)")
    live = sources.add_argument_group(
        "live cluster (the default: in-cluster, else KUBECONFIG or ~/.kube/config)")
    live.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file to use")
    live.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    live.add_argument("--timeout", metavar="SECONDS", type=_positive_seconds, default=10.0,
                      help="bound on every API call (default: 10)")
    common = argparse.ArgumentParser(add_help=False, parents=[sources])
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
        if verb == "report":
            _weekly_options(sub)
    verbs.add_parser("checks", help=summaries["checks"], parents=[common])
    dump = verbs.add_parser(
        "snapshot", parents=[sources], help="save what clusterbot reads as a Kubernetes List",
        description="Write the cluster as clusterbot reads it (trimmed, no Secret data) as a "
                    "List JSON that `--snapshot FILE` loads back: a reproducible dump to share.")
    dump.add_argument("-o", "--output", metavar="FILE", default="-",
                      help="file to write (default: standard output)")
    serve = verbs.add_parser(
        "serve", parents=[sources], help="run the chat bot until stopped (SIGTERM, Ctrl-C)",
        description="Answer chat commands (Slack: SLACK_BOT_TOKEN with SLACK_APP_TOKEN for "
                    "Socket Mode or SLACK_SIGNING_SECRET for HTTP mode; Matrix: "
                    "MATRIX_HOMESERVER with MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN; both at "
                    "once when both are set) and serve /healthz, "
                    "/readyz and /metrics.")
    serve.add_argument("--http-port", type=int, metavar="N",
                       help="Slack HTTP mode port (default: CLUSTERBOT_HTTP_PORT or 3000)")
    serve.add_argument("--health-port", type=int, metavar="N",
                       help="health and metrics port (default: CLUSTERBOT_HEALTH_PORT or 8080)")
    verbs.add_parser(
        "console", parents=[sources], help="type chat commands and confirm fixes in a terminal",
        description="Answer commands read from standard input (`issues`, `fix 8`, `confirm "
                    "<plan id>`), one per line, until end of input or `quit`. On the demo or a "
                    "dump there is no cluster to change: confirming a fix is a dry run.")
    verbs.add_parser(
        "check-config", help="check the settings in the environment; say what `serve` would run",
        description="Check every CLUSTERBOT_*, SLACK_* and MATRIX_* setting without starting "
                    "anything: each problem on its own line (exit code 2), or a summary of "
                    "what `clusterbot serve` will run (exit code 0). Secrets are never printed.")
    return parser


def _weekly_options(report: argparse.ArgumentParser) -> None:
    weekly = report.add_argument_group("the weekly report (what changed since the last one)")
    weekly.add_argument("--since-last", action="store_true",
                        help="open with what changed since the last recorded report")
    weekly.add_argument("--record", action="store_true",
                        help="record this report in the history, for the next --since-last")
    weekly.add_argument("--post", action="store_true",
                        help="post it now to CLUSTERBOT_REPORT_CHANNEL and record it (for a "
                             "CronJob instead of the long-running bot)")
    weekly.add_argument("--history", metavar="FILE",
                        help="the history file (with --demo or --snapshot; a live cluster's is "
                             "the clusterbot-history ConfigMap)")


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return seconds


def make_source(args: argparse.Namespace, *, watch: bool = False) -> ClusterSource:
    """The demo, a dump, or the live cluster: read once, or kept by a watch cache (`watch`)."""
    if args.demo and args.snapshot:
        raise SourceError("choose one of --demo and --snapshot")
    if args.demo:
        from bot.cluster.demo import demo_snapshot

        return StaticSource(demo_snapshot())
    if args.snapshot:
        return StaticSource(load_paths(args.snapshot))
    from bot.cluster.client import ConnectOptions  # the kubernetes client only for a live cluster

    options = ConnectOptions(args.kubeconfig, args.context, args.timeout)
    cluster = load_settings().cluster_name
    if watch:
        from bot.cluster.watch import watch_cluster

        return watch_cluster(options, cluster=cluster)
    from bot.cluster.live import read_cluster

    return StaticSource(read_cluster(options, cluster=cluster))


def write_snapshot(source: ClusterSource, path: str) -> None:
    """`clusterbot snapshot -o FILE`: the List JSON that `--snapshot FILE` reads back."""
    import orjson

    from bot.cluster.dump import to_list_document

    data = orjson.dumps(to_list_document(source.snapshot()), option=orjson.OPT_INDENT_2) + b"\n"
    if path == "-":
        sys.stdout.buffer.write(data)
        return
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as error:
        raise SourceError(f"{path}: cannot write: {error.strerror or error}") from None


def output(reply: Reply, fmt: str) -> str:
    if reply.view is None or reply.report is None:
        return reply.text.rstrip() + "\n"
    if fmt == "json":
        return render_json(reply.view, reply.report, reply.options.get("namespace"))
    return render(reply.view, reply.report, fmt, prefix="clusterbot", **reply.options)


def chat_adapters(settings: Settings, ctx: Context,
                  metrics: Metrics | None = None) -> list[ChatAdapter]:
    """Every chat the settings configure, each answering commands from `ctx`."""

    def answerer(platform: str, prefix: str = "/cluster") -> Callable[[str, str, str], Reply]:
        def answer(text: str, user: str, channel: str) -> Reply:
            return dispatch(ctx, text, user=user, channel=channel, platform=platform,
                            prefix=prefix)

        return answer

    def refused(text: str, user: str, channel: str, why: str) -> None:
        audit_refusal(ctx, text, why, user=user, channel=channel, platform="slack")

    adapters: list[ChatAdapter] = []
    if slack_configured(settings):
        from bot.chat.slack import SlackAdapter  # slack_bolt costs 20 MB: only when configured

        adapters.append(SlackAdapter(settings, answerer("slack"), metrics=metrics,
                                     refused=refused))
    if settings.matrix_homeserver:
        from bot.chat.matrix import PREFIX, MatrixAdapter, MatrixConfig  # nio: only when asked

        adapters.append(MatrixAdapter(MatrixConfig.from_settings(settings),
                                      answerer("matrix", PREFIX)))
    return adapters


def serve(args: argparse.Namespace) -> int:
    """Run the chat adapters, the weekly report's scheduler and the health server on one
    cluster source until a signal; refuse to start, saying why, on a broken configuration."""
    from bot.config_check import check_config, print_verdict
    from bot.keeper import DiagnosisKeeper
    from bot.observability import HealthServer, Metrics
    from bot.scheduler import ScheduleError, start_scheduler  # apscheduler: only the bot

    verdict = check_config(_port_overrides(args))
    print_verdict(verdict)
    if not verdict.ok:
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    metrics = Metrics(BY_NAME)
    try:
        settings = _serve_settings(args)
        source = make_source(args, watch=True)
        # for fixes, the scheduler's leader Lease and the report history
        client = live_client(args)
        remediation = make_remediation(settings, args, client, _slack_groups(settings))
        ctx = Context(source, thresholds=Thresholds.from_settings(settings),
                      remediation=remediation)
        adapters = chat_adapters(settings, ctx, metrics)
    except (ConfigError, DumpError, SourceError) as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    metrics.watch(source)
    health = HealthServer(settings.listen_host, settings.health_port, source, metrics)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    started: list[ChatAdapter] = []
    scheduler = None
    keeper = DiagnosisKeeper(ctx, settings.refresh_seconds).start() \
        if settings.refresh_seconds else None
    try:
        health.start()
        for adapter in adapters:
            adapter.start()
            started.append(adapter)
        scheduler = start_scheduler(settings, ctx, adapters, client)
        print(f"clusterbot: serving {', '.join(a.name for a in adapters)}; health and metrics "
              f"on port {health.port}", file=sys.stderr)
        print(f"clusterbot: fixes: {remediation.note()}", file=sys.stderr)
        failure = _wait_for_stop_or_failure(stopping, started)
        if failure:
            print(f"clusterbot: error: {failure}", file=sys.stderr)
            return EXIT_USAGE
    except (ConfigError, ScheduleError) as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        for adapter in reversed(started):
            adapter.stop()
        if keeper is not None:
            keeper.stop()
        health.stop()
        if client is not None:
            client.close()
    return 0


def _wait_for_stop_or_failure(stopping: threading.Event, adapters: list[ChatAdapter]
                              ) -> str | None:
    """Wait for a signal; or return why a chat adapter gave up for good (a wrong Matrix
    password is found at login, after start): like a bad Slack token, it stops the bot, so the
    pod restarts with the reason in its log instead of running deaf."""
    while not stopping.wait(1.0):
        for adapter in adapters:
            if adapter.error:
                return f"{adapter.name}: {adapter.error}"
    return None


def live_client(args: argparse.Namespace) -> KubeClient | None:
    """A client of the live cluster the arguments name; None for the demo or a dump."""
    if args.demo or args.snapshot:
        return None
    from bot.cluster.client import ConnectOptions, KubeClient

    return KubeClient.connect(ConnectOptions(args.kubeconfig, args.context, args.timeout))


def _serve_settings(args: argparse.Namespace) -> Settings:
    return load_settings().model_copy(update=_port_overrides(args))


def _port_overrides(args: argparse.Namespace) -> dict[str, int]:
    given = {"http_port": args.http_port, "health_port": args.health_port}
    return {k: v for k, v in given.items() if v is not None}


def make_remediation(settings: Settings, args: argparse.Namespace,
                     client: KubeClient | None = None,
                     members_of: GroupMembers | None = None) -> Remediation:
    """Fixes act on the live cluster through `client` (else a client of their own); on a demo
    or a dump, dry runs. `members_of` looks up the user groups the policy names."""
    from bot.actions.remediation import Remediation

    return Remediation.from_settings(settings, client or live_client(args),
                                     members_of=members_of)


def _slack_groups(settings: Settings) -> GroupMembers | None:
    """Slack user group members (usergroups.users.list), when Slack is configured."""
    if not slack_configured(settings):
        return None
    from bot.chat.slack_groups import SlackUserGroups  # slack_sdk: only when configured

    return SlackUserGroups.from_settings(settings).members_of


def console(args: argparse.Namespace) -> int:
    """`clusterbot console`: commands from standard input, answered as in chat."""
    from bot.chat.console import ConsoleAdapter

    try:
        settings = load_settings()
        source = make_source(args, watch=True)
        ctx = Context(source, thresholds=Thresholds.from_settings(settings),
                      remediation=make_remediation(settings, args))
    except (ConfigError, DumpError, SourceError) as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    user = f"console:{_login()}"
    ConsoleAdapter(lambda text: dispatch(ctx, text, user=user, platform="console")).run()
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "serve":
        return serve(args)
    if args.verb == "check-config":
        from bot.config_check import check_config_command  # loads the Slack and scheduler code

        return check_config_command()
    if args.verb == "snapshot":
        return _snapshot_verb(args)
    if args.verb == "console":
        return console(args)
    if args.verb == "report" and (args.since_last or args.record or args.post):
        return _weekly_report(args)
    words = [args.verb] + ([args.namespace] if getattr(args, "namespace", None) else []) + (
        ["--all"] if getattr(args, "all", False) else [])
    try:
        source = make_source(args) if args.verb != "checks" else None
        thresholds = Thresholds.from_settings(Settings())
        reply = dispatch(Context(source, thresholds=thresholds), " ".join(words),
                         prefix="clusterbot")
    except (ConfigError, DumpError, SourceError) as error:
        return _failed(error)
    if reply.error:
        print(f"clusterbot: error: {reply.text}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(output(reply, args.format))
    return 0


def _weekly_report(args: argparse.Namespace) -> int:
    """`clusterbot report --since-last|--record|--post`: the report with its history."""
    from bot.cluster.client import KubeError
    from bot.cluster.history_store import HistoryError
    from bot.scheduler import ScheduleError, report_now

    client = None
    try:
        settings = load_settings()
        ctx = Context(make_source(args), thresholds=Thresholds.from_settings(settings))
        store, client = _history_store(args, settings)
        adapters = chat_adapters(settings, ctx) if args.post else []
        reply = report_now(settings, ctx, store, adapters, post=args.post, record=args.record)
    except Unreachable as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (ConfigError, DumpError, SourceError, ScheduleError, HistoryError,
            KubeError) as error:
        print(f"clusterbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if client is not None:
            client.close()
    if args.post:
        print("clusterbot: weekly report posted", file=sys.stderr)
    else:
        sys.stdout.write(output(reply, args.format))
    return 0


def _history_store(args: argparse.Namespace, settings: Settings
                   ) -> tuple[HistoryStore, KubeClient | None]:
    """The report history: `--history FILE`, else the live cluster's ConfigMap (and the
    client reading it, to close)."""
    from bot.cluster.history_store import ConfigMapHistory, FileHistory

    if args.history:
        return FileHistory(args.history), None
    client = live_client(args)
    if client is None:
        raise SourceError("--since-last, --record and --post with --demo or --snapshot need "
                          "--history FILE")
    return ConfigMapHistory(client, settings.namespace), client


def _snapshot_verb(args: argparse.Namespace) -> int:
    try:
        write_snapshot(make_source(args), args.output)
    except (ConfigError, DumpError, SourceError) as error:
        return _failed(error)
    return 0


def _failed(error: Exception) -> int:
    """One line on stderr; exit code 3 when the cluster did not answer, else 2."""
    print(f"clusterbot: error: {error}", file=sys.stderr)
    return EXIT_UNREACHABLE if isinstance(error, Unreachable) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
