"""`clusterbot check-config`, run as an operator runs it: the real CLI in a subprocess with
environment variables. One test per misconfiguration: the plain-words line it prints, exit
code 2, and never a secret's value on stdout or stderr. `clusterbot serve` refuses to start
with the same lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

TIMEOUT = 60
BOT_TOKEN = "xoxb-1111-2222-bot-secret-value"
APP_TOKEN = "xapp-1-A111-app-secret-value"
SIGNING_SECRET = "signing-secret-value-0123456789ab"
ACTION_SECRET = "action-secret-value-0123456789abcdef"
MATRIX_PASSWORD = "matrix-password-secret-value"
MATRIX_TOKEN = "syt_matrix_token_secret_value"
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                    "CLUSTERBOT_ACTION_SECRET", "MATRIX_PASSWORD", "MATRIX_ACCESS_TOKEN")
SOCKET_MODE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
               "CLUSTERBOT_REPORT_CHANNEL": "#homelab"}
MATRIX = {"MATRIX_HOMESERVER": "https://matrix.example.org",
          "MATRIX_USER": "@clusterbot:example.org", "MATRIX_PASSWORD": MATRIX_PASSWORD}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line.removeprefix("clusterbot: error: ") for line in self.stderr.splitlines()
                if line.startswith("clusterbot: error: ")]

    @property
    def warnings(self) -> list[str]:
        return [line.removeprefix("clusterbot: warning: ") for line in self.stderr.splitlines()
                if line.startswith("clusterbot: warning: ")]


def clusterbot(env: dict[str, str], *args: str) -> Run:
    """The CLI with only `env` for settings; asserts no secret value is printed."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "CLUSTERBOT_", "MATRIX_"))}
    done = subprocess.run([sys.executable, "-m", "bot", *(args or ("check-config",))],
                          env={**clean, **env}, capture_output=True, text=True, timeout=TIMEOUT)
    for name in SECRET_VARIABLES:
        if env.get(name):
            assert env[name] not in done.stdout + done.stderr, f"{name}'s value was printed"
    assert "Traceback" not in done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def refused(env: dict[str, str]) -> list[str]:
    run = clusterbot(env)
    assert run.code == 2
    assert run.stdout == ""
    return run.errors


def test_a_complete_configuration_passes_with_a_summary_of_what_will_run() -> None:
    run = clusterbot({**SOCKET_MODE, "CLUSTERBOT_REPORT_TZ": "Europe/Berlin",
                      "CLUSTERBOT_REMEDIATION": "on", "CLUSTERBOT_ACTION_SECRET": ACTION_SECRET,
                      "CLUSTERBOT_REMEDIATION_USERS": "U0123ABCD,S0ADMINS,console:ada"})
    assert (run.code, run.errors, run.warnings) == (0, [], [])
    assert "Slack: Socket Mode (no public address needed)" in run.stdout
    assert "weekly report: '0 9 * * mon' in Europe/Berlin, next Mon " in run.stdout
    assert "to #homelab" in run.stdout
    assert "remediation: on, 3 user(s) may confirm fixes" in run.stdout


def test_no_chat_at_all() -> None:
    assert refused({}) == [
        "no chat configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or "
        "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode)"]


def test_socket_mode_without_the_bot_token() -> None:
    assert refused({"SLACK_APP_TOKEN": APP_TOKEN}) == [
        "SLACK_BOT_TOKEN is not set: Slack needs the bot token (xoxb-...) to answer"]


def test_a_bot_token_without_app_token_or_signing_secret() -> None:
    assert refused({"SLACK_BOT_TOKEN": BOT_TOKEN}) == [
        "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) beside "
        "SLACK_BOT_TOKEN"]


def test_slack_tokens_swapped() -> None:
    bot_as_app = "xoxb-9999-swapped-secret"
    app_as_bot = "xapp-1-swapped-secret"
    run = clusterbot({"SLACK_BOT_TOKEN": app_as_bot, "SLACK_APP_TOKEN": bot_as_app})
    assert run.code == 2
    assert run.errors == [
        "SLACK_BOT_TOKEN: does not look like this kind of token (it should start with xoxb-)",
        "SLACK_APP_TOKEN: does not look like this kind of token (it should start with xapp-)"]
    assert bot_as_app not in run.stderr and app_as_bot not in run.stderr


def test_http_mode_on_the_health_port() -> None:
    assert refused({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "CLUSTERBOT_HTTP_PORT": "8080", "CLUSTERBOT_HEALTH_PORT": "8080"}) == [
        "CLUSTERBOT_HTTP_PORT and CLUSTERBOT_HEALTH_PORT are both 8080: Slack's HTTP mode and "
        "the health server need a port each"]


def test_matrix_without_password_or_token() -> None:
    env = {k: v for k, v in MATRIX.items() if k != "MATRIX_PASSWORD"}
    assert refused(env) == [
        "MATRIX_HOMESERVER is set: set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN too"]


def test_matrix_password_without_user() -> None:
    env = {k: v for k, v in MATRIX.items() if k != "MATRIX_USER"}
    assert refused(env) == ["MATRIX_PASSWORD needs MATRIX_USER (the bot's Matrix ID)"]


def test_matrix_settings_without_a_homeserver() -> None:
    assert refused({"MATRIX_ACCESS_TOKEN": MATRIX_TOKEN, "MATRIX_ROOMS": "!ops:example.org"}) == [
        "MATRIX_HOMESERVER is not set: Matrix needs it beside MATRIX_ACCESS_TOKEN, MATRIX_ROOMS",
        "no chat configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) or "
        "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode)"]


def test_a_homeserver_that_is_no_url() -> None:
    assert refused({**MATRIX, "MATRIX_HOMESERVER": "matrix.example.org"}) == [
        "MATRIX_HOMESERVER: not a URL (e.g. https://matrix.example.org)"]


def test_a_matrix_user_that_is_no_matrix_id() -> None:
    assert refused({**MATRIX, "MATRIX_USER": "clusterbot"}) == [
        "MATRIX_USER: 'clusterbot' is not a Matrix ID (@name:server)"]


@pytest.mark.parametrize(("cron", "problem"), [
    ("0 9 * *", "CLUSTERBOT_REPORT_CRON '0 9 * *': expected 5 fields (minute hour day-of-month "
                "month day-of-week)"),
    ("0 25 * * mon", "CLUSTERBOT_REPORT_CRON '0 25 * * mon': Error validating expression '25': "
                     "the last value (25) is higher than the maximum value (23)"),
    ("0 9 30 2 *", "CLUSTERBOT_REPORT_CRON '0 9 30 2 *': matches no date"),
])
def test_a_bad_cron_line(cron: str, problem: str) -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REPORT_CRON": cron}) == [problem]


def test_an_unknown_time_zone() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REPORT_TZ": "Europe/Berlinn"}) == [
        "CLUSTERBOT_REPORT_TZ: unknown time zone 'Europe/Berlinn' (use an IANA name such as "
        "Europe/Berlin)"]


def test_no_report_channel_is_a_warning_not_a_refusal() -> None:
    env = {k: v for k, v in SOCKET_MODE.items() if k != "CLUSTERBOT_REPORT_CHANNEL"}
    run = clusterbot(env)
    assert run.code == 0
    assert run.warnings == ["CLUSTERBOT_REPORT_CHANNEL is not set: no weekly report will be "
                            "posted (commands are answered)"]
    assert "weekly report" not in run.stdout


def test_a_report_channel_on_a_chat_that_is_not_configured() -> None:
    assert refused({**MATRIX, "CLUSTERBOT_REPORT_CHANNEL": "#homelab,!ops:example.org"}) == [
        "CLUSTERBOT_REPORT_CHANNEL: Slack is not configured, so nothing can be posted to "
        "#homelab"]


def test_remediation_on_without_the_action_secret() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REMEDIATION": "on"}) == [
        "CLUSTERBOT_ACTION_SECRET is required when CLUSTERBOT_REMEDIATION=on"]


def test_every_rule_across_values_is_reported_at_once() -> None:
    env = {k: v for k, v in MATRIX.items() if k != "MATRIX_USER"}
    assert refused({**env, "CLUSTERBOT_REMEDIATION": "on"}) == [
        "MATRIX_PASSWORD needs MATRIX_USER (the bot's Matrix ID)",
        "CLUSTERBOT_ACTION_SECRET is required when CLUSTERBOT_REMEDIATION=on"]


def test_an_action_secret_too_short() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_ACTION_SECRET": "short-secret"}) == [
        "CLUSTERBOT_ACTION_SECRET must be at least 32 characters"]


def test_remediation_on_with_nobody_allowed_is_a_warning() -> None:
    run = clusterbot({**SOCKET_MODE, "CLUSTERBOT_REMEDIATION": "on",
                      "CLUSTERBOT_ACTION_SECRET": ACTION_SECRET})
    assert run.code == 0
    assert run.warnings == ["CLUSTERBOT_REMEDIATION is on but CLUSTERBOT_REMEDIATION_USERS is "
                            "empty: nobody may confirm a fix"]


def test_a_remediation_mode_that_does_not_exist() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REMEDIATION": "yes"}) == [
        "CLUSTERBOT_REMEDIATION: must be one of 'off', 'dry-run' or 'on'"]


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("CLUSTERBOT_REMEDIATION_USERS", "U0123ABCD alice",
     "'alice' is not a Slack user ID (U...), Slack user group ID (S...), Matrix ID "
     "(@name:server) or console user (console:name)"),
    ("CLUSTERBOT_ALLOWED_USERS", "@alice", "'@alice' is not a Slack user ID (U0123ABCD)"),
    ("CLUSTERBOT_ALLOWED_CHANNELS", "#general",
     "'#general' is not a Slack channel ID (C0123ABCD; a #name does not match)"),
    ("CLUSTERBOT_REPORT_CHANNEL", "homelab",
     "'homelab' is not a Slack channel (#name or C0123ABCD) or Matrix room (!id:server or "
     "#alias:server)"),
    ("MATRIX_ROOMS", "ops", "'ops' is not a Matrix room (!id:server or #alias:server)"),
    ("CLUSTERBOT_REMEDIATION_NAMESPACES", "celery,Databases",
     "'Databases' is not a namespace name (lower-case letters, digits and -)"),
    ("CLUSTERBOT_NAMESPACE", "cluster_bot",
     "'cluster_bot' is not a namespace name (lower-case letters, digits and -)"),
])
def test_malformed_id_lists(variable: str, value: str, problem: str) -> None:
    assert refused({**SOCKET_MODE, **MATRIX, variable: value}) == [f"{variable}: {problem}"]


def test_a_fix_that_does_not_exist() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REMEDIATION_ACTIONS": "delete-pods,restart"}) == [
        "CLUSTERBOT_REMEDIATION_ACTIONS: must be one of 'delete-pods', 'delete-jobs', "
        "'delete-failed-job-pods' or 'rollout-restart'"]


def test_a_slack_api_url_that_is_no_url() -> None:
    assert refused({**SOCKET_MODE, "SLACK_API_URL": "slack.com/api"}) == [
        "SLACK_API_URL: not a URL (the default is https://slack.com/api/)"]


def test_a_remediation_policy_that_is_not_json() -> None:
    assert refused({**SOCKET_MODE, "CLUSTERBOT_REMEDIATION_POLICY": "{rollout-restart: U1}"}) == [
        'CLUSTERBOT_REMEDIATION_POLICY: not valid JSON (README "Fixes" shows an example)']


@pytest.mark.parametrize(("env", "problem"), [
    ({"CLUSTERBOT_HEALTH_PORT": "eighty"}, "CLUSTERBOT_HEALTH_PORT: not a whole number"),
    ({"CLUSTERBOT_NODE_USAGE_WARNING": "150"},
     "CLUSTERBOT_NODE_USAGE_WARNING: must be at most 100"),
    ({"CLUSTERBOT_NODE_USAGE_WARNING": "95", "CLUSTERBOT_NODE_USAGE_CRITICAL": "90"},
     "CLUSTERBOT_NODE_USAGE_WARNING: must be below CLUSTERBOT_NODE_USAGE_CRITICAL (95 >= 90)"),
])
def test_numbers_out_of_shape(env: dict[str, str], problem: str) -> None:
    assert refused({**SOCKET_MODE, **env}) == [problem]


def test_every_problem_is_listed_at_once_one_per_line() -> None:
    problems = refused({"SLACK_BOT_TOKEN": BOT_TOKEN, "CLUSTERBOT_REPORT_TZ": "Mars/Olympus",
                        "CLUSTERBOT_REMEDIATION": "yes", "CLUSTERBOT_REPORT_CRON": "61 * * * *",
                        "CLUSTERBOT_ALLOWED_USERS": "bob"})
    assert [p.split(":")[0].split(" ")[0] for p in problems] == [
        "CLUSTERBOT_REMEDIATION", "CLUSTERBOT_REPORT_TZ", "Slack", "CLUSTERBOT_ALLOWED_USERS",
        "CLUSTERBOT_REPORT_CRON"]


def test_serve_refuses_to_start_with_the_same_lines() -> None:
    env = {**SOCKET_MODE, "CLUSTERBOT_REPORT_TZ": "Mars/Olympus",
           "CLUSTERBOT_ALLOWED_CHANNELS": "#general"}
    checked = clusterbot(env)
    served = clusterbot(env, "serve", "--demo")
    assert served.code == checked.code == 2
    assert served.errors == checked.errors and len(served.errors) == 2
