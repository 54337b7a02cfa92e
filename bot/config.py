"""Settings from the environment (`CLUSTERBOT_*`), every field documented.

One pydantic-settings model; the CLI, the bot and `clusterbot check-config` all read it, so a
value means the same thing everywhere. Secrets are `SecretStr`: they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MutatingAction = Literal["delete-pods", "delete-jobs", "delete-failed-job-pods", "rollout-restart"]
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
MIN_SECRET_LENGTH = 32


def _names(value: Any) -> Any:
    """A list from the environment: comma- or space-separated words (or already a list)."""
    if isinstance(value, str):
        return tuple(word for word in value.replace(",", " ").split() if word)
    return value


Names = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_names)]


def own_namespace() -> str:
    """The namespace this pod runs in (from its service account), else `clusterbot`."""
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "clusterbot"
    except OSError:
        return "clusterbot"


class ActionRule(BaseModel):
    """Narrows one action: who may run it and where; None keeps the global list."""

    users: tuple[str, ...] | None = None
    namespaces: tuple[str, ...] | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLUSTERBOT_", extra="ignore")

    cluster_name: str = Field("cluster", description="Name shown in answers and reports.")
    node_usage_warning: float = Field(
        80.0, ge=1, le=100, description="Node CPU or memory use (% of allocatable) that warns.")
    node_usage_critical: float = Field(
        90.0, ge=1, le=100,
        description="Node CPU or memory use (% of allocatable) that is critical.",
    )
    restarts_warning: int = Field(
        10, ge=1, description="Restarts of a running container worth reporting.")
    certificate_expiry_days: int = Field(
        14, ge=1, description="Warn when a certificate expires within this many days.")

    # -- remediation (bot/actions): who may change what, and how it is proven -----------------
    remediation: Literal["off", "dry-run", "on"] = Field(
        "dry-run", description="off: fixes are refused; dry-run: confirming a fix only says "
        "what it would do; on: confirmed fixes change the cluster.")
    action_secret: SecretStr | None = Field(
        None, description="HMAC key signing action tokens (buttons, `confirm <id>`); the same "
        f"on every replica, from a Kubernetes Secret; at least {MIN_SECRET_LENGTH} characters. "
        "Required when remediation is on; unset, each process signs with a random key.")
    action_ttl_seconds: int = Field(
        900, ge=60, le=86_400, description="How long a proposed fix may be confirmed.")
    remediation_users: Names = Field(
        (), description="Who may confirm fixes, comma-separated: Slack user IDs (U...), Slack "
        "user group IDs (S...), Matrix IDs (@alice:example.org), console users (console:alice). "
        "Empty: nobody.")
    remediation_actions: Annotated[tuple[MutatingAction, ...], NoDecode,
                                   BeforeValidator(_names)] = Field(
        ("delete-pods", "delete-jobs", "delete-failed-job-pods", "rollout-restart"),
        description="The fixes that may run, comma-separated (default: all of them).")
    remediation_namespaces: Names = Field(
        (), description="Namespaces where fixes may run; empty: every unprotected namespace.")
    remediation_policy: dict[MutatingAction, ActionRule] = Field(
        default_factory=dict, description='Per-action rules as JSON, e.g. {"rollout-restart": '
        '{"users": ["U0123"], "namespaces": ["celery"]}}: a rule\'s lists replace the global '
        "users/namespaces for that action.")
    protected_namespaces: Names = Field(
        ("kube-system", "kube-public", "kube-node-lease", "longhorn-system", "cert-manager"),
        description="Namespaces where clusterbot never changes anything, unless allowed below.")
    remediation_allow_protected: Names = Field(
        (), description="Protected namespaces where fixes may run all the same (an explicit "
        "override).")
    namespace: str = Field(
        default_factory=own_namespace, description="The namespace clusterbot runs in; it "
        "records action claims (Leases), the scheduler's leader Lease and the report history "
        "(ConfigMap clusterbot-history) there. Default: its service account's namespace, "
        "else clusterbot.")

    # -- the weekly report (bot/scheduler.py) ---------------------------------------------------
    report_cron: str = Field(
        "0 9 * * mon", description="When the weekly report is posted: a crontab line (minute "
        "hour day-of-month month day-of-week) in CLUSTERBOT_REPORT_TZ. Default: Monday 09:00.")
    report_tz: str = Field(
        "UTC", description="Time zone of CLUSTERBOT_REPORT_CRON, an IANA name such as "
        "Europe/Berlin; daylight saving time is followed.")
    report_channel: Names = Field(
        (), description="Where the weekly report goes, comma-separated: Slack channels (C0123 "
        "or #homelab) and/or Matrix rooms (!abc:example.org or #ops:example.org). Without a "
        "Matrix room here, the report goes to MATRIX_ROOMS. Nothing to post to: no scheduled "
        "report.")
    report_grace_hours: float = Field(
        12.0, ge=0, le=168, description="A report missed while the bot was down is posted "
        "when it comes back within this many hours of the scheduled time, once.")
    lease_duration_seconds: int = Field(
        15, ge=5, le=300, description="With several replicas, one leads and posts the report: "
        "a leader that stops renewing its Lease for this long is replaced.")

    @field_validator("report_tz")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (use an IANA name such as "
                             "Europe/Berlin)") from None
        return zone

    # -- Slack (bot/chat/slack.py) and `clusterbot serve` --------------------------------------
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias="SLACK_BOT_TOKEN", description="SLACK_BOT_TOKEN: the bot's "
        "token (xoxb-...), needed in both modes to answer.")
    slack_app_token: SecretStr | None = Field(
        None, validation_alias="SLACK_APP_TOKEN", description="SLACK_APP_TOKEN: an app-level "
        "token (xapp-..., scope connections:write); when set, the bot uses Socket Mode, which "
        "needs no public ingress.")
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET", description="SLACK_SIGNING_SECRET: "
        "verifies requests in HTTP mode (used when SLACK_APP_TOKEN is not set).")
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias="SLACK_API_URL", description="SLACK_API_URL:"
        " base URL of the Slack Web API (a proxy, or a stub in tests).")
    allowed_channels: Names = Field(
        (), description="Slack channel IDs (C...) where commands are answered, comma-separated;"
        " empty: every channel.")
    allowed_users: Names = Field(
        (), description="Slack user IDs (U...) who may run commands, comma-separated; empty: "
        "everyone in the workspace.")
    listen_host: str = Field(
        "0.0.0.0", description="Address the HTTP mode and health servers listen on.")
    http_port: int = Field(
        3000, ge=0, le=65535, description="Port of Slack's HTTP mode (`POST /slack/events`).")
    health_port: int = Field(
        8080, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics.")
    workers: int = Field(
        4, ge=1, le=64, description="Commands computed at once; more wait their turn.")
    answer_timeout: float = Field(
        8.0, gt=0, le=60, description="Seconds a command may take before the bot answers "
        "'cluster API unreachable' instead (Slack users expect an answer within 10 s).")
    refresh_seconds: float = Field(
        5.0, ge=0, le=300, description="How often the bot re-diagnoses a changed cluster in "
        "the background; answers may trail the cluster by up to twice this. 0: diagnose when "
        "a command finds a change.")

    # -- Matrix (bot/chat/matrix.py): the usual MATRIX_* names, without the prefix -------------
    matrix_homeserver: str = Field(
        "", validation_alias="MATRIX_HOMESERVER", description="Homeserver URL, e.g. "
        "https://matrix.example.org. Empty: the bot does not connect to Matrix.")
    matrix_user: str = Field(
        "", validation_alias="MATRIX_USER", description="The bot's Matrix ID, e.g. "
        "@clusterbot:example.org (needed with a password; a token knows its user).")
    matrix_password: SecretStr | None = Field(
        None, validation_alias="MATRIX_PASSWORD", description="The bot's password; or use "
        "MATRIX_ACCESS_TOKEN.")
    matrix_access_token: SecretStr | None = Field(
        None, validation_alias="MATRIX_ACCESS_TOKEN", description="An access token of the bot's "
        "account, used instead of a password.")
    matrix_rooms: Names = Field(
        (), validation_alias="MATRIX_ROOMS", description="Rooms the bot serves, comma-separated "
        "IDs (!abc:example.org) or aliases (#ops:example.org): it joins them, accepts invites "
        "only to them, answers only there and posts the weekly report there. Empty: it accepts "
        "every invite and answers in any room it is in.")
    matrix_state_file: Path = Field(
        Path.home() / ".local/state/clusterbot/matrix.json",
        description="Where the Matrix sync token is kept so a restart does not answer old "
        "commands again; in a cluster, a path on a writable volume (an emptyDir is enough: "
        "without a token the bot skips the backlog rather than answer it twice).")

    @model_validator(mode="after")
    def _rules_across_values(self) -> Settings:
        """Every rule that ties values together, all reported at once (one per line)."""
        problems = self._matrix_problems() + self._secret_problems()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _matrix_problems(self) -> list[str]:
        if not self.matrix_homeserver:
            return []
        if not (self.matrix_password or self.matrix_access_token):
            return ["MATRIX_HOMESERVER is set: set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN too"]
        if self.matrix_password and not self.matrix_user:
            return ["MATRIX_PASSWORD needs MATRIX_USER (the bot's Matrix ID)"]
        return []

    def _secret_problems(self) -> list[str]:
        secret = self.action_secret.get_secret_value() if self.action_secret else ""
        if self.remediation == "on" and not secret:
            return ["CLUSTERBOT_ACTION_SECRET is required when CLUSTERBOT_REMEDIATION=on"]
        if secret and len(secret) < MIN_SECRET_LENGTH:
            return [f"CLUSTERBOT_ACTION_SECRET must be at least {MIN_SECRET_LENGTH} characters"]
        return []


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the variables, never their values."""


def load_settings() -> Settings:
    """Settings from the environment, with errors as one line that prints no value."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [_problem(e["loc"], e["msg"]) for e in error.errors(include_input=False)]
        raise ConfigError("; ".join(problems)) from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ").replace("\n", "; ")
    if not location:
        return message
    return f"CLUSTERBOT_{str(location[0]).upper()}: {message}"
