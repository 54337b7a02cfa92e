"""Every problem in the configuration, in plain words, before the bot starts.

`clusterbot check-config` prints them, and `clusterbot serve` refuses to start on the same
list, so what an operator reads when the pod crash-loops is what they can check at their desk.
Settings (bot/config.py) validate each value; this module adds what only makes sense together:
a chat to answer on, Slack's mode, the weekly schedule and where the report goes, the formats of
the ID lists, ports that collide. It uses the code that will run (the Slack adapter's mode, the
scheduler's cron trigger) so the check and the bot cannot disagree. Problems name variables,
never the values of secrets.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.chat.slack_config import slack_configured, slack_mode
from bot.config import ConfigError, Settings
from bot.scheduler import MATRIX_ROOM, ScheduleError, next_run, report_trigger

NO_CHAT = ("no chat configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or "
           "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode)")

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
SLACK_GROUP = re.compile(r"S[A-Z0-9]{2,}")
SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
SLACK_CHANNEL_NAME = re.compile(r"#[a-z0-9][a-z0-9._-]{0,79}")
MATRIX_USER = re.compile(r"@[^:\s]+:\S+")
CONSOLE_USER = re.compile(r"console:\S+")
URL = re.compile(r"https?://[^\s/]+\S*")
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label, as Kubernetes wants

# Pydantic's wording for the usual mistakes, said plainly.
_PLAIN = {
    "int_parsing": "not a whole number",
    "float_parsing": "not a number",
    "bool_parsing": "not true or false",
    "literal_error": "must be one of {expected}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be above {gt}",
    "less_than": "must be below {lt}",
}
_UNPARSABLE = re.compile(r'field "(\w+)"')


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...]  # the bot will not start
    warnings: tuple[str, ...] = ()  # it starts, but probably not as meant
    summary: tuple[str, ...] = ()  # what will run, when there are no problems

    @property
    def ok(self) -> bool:
        return not self.problems


def check_config(overrides: Mapping[str, Any] | None = None) -> Verdict:
    """Check the settings from the environment (plus `overrides`, e.g. `serve --http-port`)."""
    settings, problems = _load(dict(overrides or {}))
    if settings is None:
        return Verdict(tuple(problems))
    for check in (_chat_problems, _id_problems, _schedule_problems, _port_problems):
        problems.extend(check(settings))
    if problems:
        return Verdict(tuple(dict.fromkeys(problems)), tuple(_warnings(settings)))
    return Verdict((), tuple(_warnings(settings)), tuple(_summary(settings)))


# -- values one by one (pydantic) -------------------------------------------------------------


def _load(overrides: dict[str, Any]) -> tuple[Settings | None, list[str]]:
    """Settings, or None with every value problem. A broken value is reported and replaced by
    its default for a second try, so a rule across values still gets its say."""
    try:
        return Settings(**overrides), []
    except SettingsError as error:  # a JSON value that does not parse stops everything
        return None, [_unparsable(error)]
    except ValidationError as error:
        problems = _plain_lines(error)
        broken = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    if not broken:
        return None, problems
    defaults = {name: _default(name) for name in broken}
    try:
        return Settings(**{**overrides, **defaults}), problems
    except ValidationError as error:
        return None, problems + _plain_lines(error)


def _default(name: str) -> Any:
    field = Settings.model_fields.get(name) or next(
        f for f in Settings.model_fields.values() if f.validation_alias == name)
    return field.get_default(call_default_factory=True)


def variable(name: str) -> str:
    """The environment variable of a field (or of an alias, which is its own name)."""
    field = Settings.model_fields.get(name)
    if field is None:
        return name.upper()
    alias = field.validation_alias
    return str(alias) if isinstance(alias, str) else f"CLUSTERBOT_{name.upper()}"


def _plain_lines(error: ValidationError) -> list[str]:
    """One line per problem (the rules across values may report several in one error)."""
    return [line for e in error.errors(include_input=False) for line in _plain(e).splitlines()]


def _plain(error: Any) -> str:
    template = _PLAIN.get(error["type"])
    context = {k: f"{v:g}" if isinstance(v, float) else v
               for k, v in (error.get("ctx") or {}).items()}
    message = (template.format(**context) if template
               else str(error["msg"]).removeprefix("Value error, "))
    return f"{variable(str(error['loc'][0]))}: {message}" if error["loc"] else message


def _unparsable(error: SettingsError) -> str:
    found = _UNPARSABLE.search(str(error))
    name = variable(found.group(1)) if found else "a setting"
    return f"{name}: not valid JSON (README \"Fixes\" shows an example)"


# -- values together --------------------------------------------------------------------------


def _chat_problems(settings: Settings) -> Iterator[str]:
    matrix_parts = [variable(name) for name in ("matrix_user", "matrix_password",
                                                "matrix_access_token", "matrix_rooms")
                    if getattr(settings, name)]
    if matrix_parts and not settings.matrix_homeserver:
        yield f"MATRIX_HOMESERVER is not set: Matrix needs it beside {', '.join(matrix_parts)}"
    if not slack_configured(settings) and not settings.matrix_homeserver:
        yield NO_CHAT
        return
    if slack_configured(settings):
        try:
            slack_mode(settings)
        except ConfigError as error:
            yield str(error)
        yield from _token_shape("SLACK_BOT_TOKEN", settings.slack_bot_token, "xoxb-")
        yield from _token_shape("SLACK_APP_TOKEN", settings.slack_app_token, "xapp-")
        if not URL.fullmatch(settings.slack_api_url):
            yield "SLACK_API_URL: not a URL (the default is https://slack.com/api/)"
    if settings.matrix_homeserver and not URL.fullmatch(settings.matrix_homeserver):
        yield "MATRIX_HOMESERVER: not a URL (e.g. https://matrix.example.org)"
    if settings.matrix_user and not MATRIX_USER.fullmatch(settings.matrix_user):
        yield f"MATRIX_USER: {settings.matrix_user!r} is not a Matrix ID (@name:server)"


def _token_shape(name: str, token: Any, prefix: str) -> Iterator[str]:
    if token is not None and not token.get_secret_value().startswith(prefix):
        yield f"{name}: does not look like this kind of token (it should start with {prefix})"


_ID_LISTS: tuple[tuple[str, str, tuple[re.Pattern[str], ...]], ...] = (
    ("allowed_users", "a Slack user ID (U0123ABCD)", (SLACK_USER,)),
    ("allowed_channels", "a Slack channel ID (C0123ABCD; a #name does not match)",
     (SLACK_CHANNEL_ID,)),
    ("remediation_users", "a Slack user ID (U...), Slack user group ID (S...), Matrix ID "
     "(@name:server) or console user (console:name)",
     (SLACK_USER, SLACK_GROUP, MATRIX_USER, CONSOLE_USER)),
    ("report_channel", "a Slack channel (#name or C0123ABCD) or Matrix room (!id:server or "
     "#alias:server)", (SLACK_CHANNEL_ID, SLACK_CHANNEL_NAME, MATRIX_ROOM)),
    ("matrix_rooms", "a Matrix room (!id:server or #alias:server)", (MATRIX_ROOM,)),
    *((field, "a namespace name (lower-case letters, digits and -)", (NAMESPACE,))
      for field in ("namespace", "remediation_namespaces", "protected_namespaces",
                    "remediation_allow_protected")),
)


def _id_problems(settings: Settings) -> Iterator[str]:
    for field, expected, patterns in _ID_LISTS:
        value = getattr(settings, field)
        for entry in (value,) if isinstance(value, str) else value:
            if not any(p.fullmatch(entry) for p in patterns):
                yield f"{variable(field)}: {entry!r} is not {expected}"


def _schedule_problems(settings: Settings) -> Iterator[str]:
    try:
        if next_run(report_trigger(settings), datetime.now(UTC)) is None:
            yield f"CLUSTERBOT_REPORT_CRON {settings.report_cron!r}: matches no date"
    except ScheduleError as error:
        yield str(error)
    slack_channels = [c for c in settings.report_channel if not MATRIX_ROOM.fullmatch(c)]
    if slack_channels and not slack_configured(settings):
        yield (f"CLUSTERBOT_REPORT_CHANNEL: Slack is not configured, so nothing can be posted "
               f"to {', '.join(slack_channels)}")
    if len(slack_channels) < len(settings.report_channel) and not settings.matrix_homeserver:
        yield "CLUSTERBOT_REPORT_CHANNEL: names Matrix rooms, but MATRIX_HOMESERVER is not set"
    if settings.node_usage_warning >= settings.node_usage_critical:
        yield ("CLUSTERBOT_NODE_USAGE_WARNING: must be below CLUSTERBOT_NODE_USAGE_CRITICAL "
               f"({settings.node_usage_warning:g} >= {settings.node_usage_critical:g})")


def _port_problems(settings: Settings) -> Iterator[str]:
    # Port 0 asks for any free port, so two zeros do not collide.
    if (_slack_mode(settings) == "http" and settings.http_port == settings.health_port
            and settings.http_port != 0):
        yield (f"CLUSTERBOT_HTTP_PORT and CLUSTERBOT_HEALTH_PORT are both {settings.http_port}: "
               "Slack's HTTP mode and the health server need a port each")


def _warnings(settings: Settings) -> Iterator[str]:
    if not _report_destinations(settings):
        yield ("CLUSTERBOT_REPORT_CHANNEL is not set: no weekly report will be posted "
               "(commands are answered)")
    if settings.remediation == "on" and not settings.remediation_users:
        yield ("CLUSTERBOT_REMEDIATION is on but CLUSTERBOT_REMEDIATION_USERS is empty: nobody "
               "may confirm a fix")


# -- what will run ----------------------------------------------------------------------------


def _summary(settings: Settings) -> Iterator[str]:
    mode = _slack_mode(settings)
    if mode == "socket":
        yield "Slack: Socket Mode (no public address needed)"
    elif mode == "http":
        yield f"Slack: HTTP mode, POST /slack/events on port {settings.http_port}"
    if settings.matrix_homeserver:
        rooms = ", ".join(settings.matrix_rooms) or "any room it is invited to"
        yield f"Matrix: {settings.matrix_homeserver}, rooms: {rooms}"
    destinations = _report_destinations(settings)
    if destinations:
        when = next_run(report_trigger(settings), datetime.now(UTC))
        yield (f"weekly report: {settings.report_cron!r} in {settings.report_tz}, next "
               f"{when:%a %d %b %Y %H:%M %Z}, to {', '.join(destinations)}")
    yield f"remediation: {settings.remediation}" + (
        f", {len(settings.remediation_users)} user(s) may confirm fixes"
        if settings.remediation != "off" else "")
    yield f"health and metrics: port {settings.health_port} (/healthz, /readyz, /metrics)"
    yield (f"shared state: Leases and ConfigMap clusterbot-history in namespace "
           f"{settings.namespace}")


def _slack_mode(settings: Settings) -> str | None:
    """The Slack mode, or None when Slack is off or incomplete (_chat_problems says why)."""
    try:
        return slack_mode(settings) if slack_configured(settings) else None
    except ConfigError:
        return None


def _report_destinations(settings: Settings) -> tuple[str, ...]:
    rooms = settings.matrix_rooms if settings.matrix_homeserver else ()
    return settings.report_channel or rooms


# -- the command ------------------------------------------------------------------------------

EXIT_INVALID = 2  # the CLI's exit code for bad input


def print_verdict(verdict: Verdict) -> None:
    """Warnings, then problems, one per line on stderr, as `serve` and `check-config` say them."""
    for warning in verdict.warnings:
        print(f"clusterbot: warning: {warning}", file=sys.stderr)
    for problem in verdict.problems:
        print(f"clusterbot: error: {problem}", file=sys.stderr)


def check_config_command() -> int:
    """`clusterbot check-config`: the problems, or a summary of what `serve` will run."""
    verdict = check_config()
    print_verdict(verdict)
    if not verdict.ok:
        return EXIT_INVALID
    print("configuration OK; `clusterbot serve` will run:")
    for line in verdict.summary:
        print(f"  {line}")
    return 0
