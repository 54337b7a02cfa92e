"""Which Slack mode the settings ask for, decided without importing slack_bolt (20 MB).

`clusterbot serve` and `clusterbot check-config` both ask, so the answer lives in one place.
"""

from __future__ import annotations

from bot.config import ConfigError, Settings


def slack_configured(settings: Settings) -> bool:
    """True when any Slack credential is set (then all that its mode needs must be)."""
    return any((settings.slack_bot_token, settings.slack_app_token,
                settings.slack_signing_secret))


def slack_mode(settings: Settings) -> str:
    """"socket" when an app token is set, else "http"; ConfigError names what is missing."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: Slack needs the bot token (xoxb-...) "
                          "to answer")
    if settings.slack_app_token:
        return "socket"
    if settings.slack_signing_secret:
        return "http"
    raise ConfigError("Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET "
                      "(HTTP mode) beside SLACK_BOT_TOKEN")
