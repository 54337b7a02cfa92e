"""Placeholder: certs checks are being written."""

from collections.abc import Iterable

from bot.analyzers.base import Context
from bot.models import Finding


def analyze(ctx: Context) -> Iterable[Finding]:
    return ()
