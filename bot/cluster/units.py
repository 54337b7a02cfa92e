"""Kubernetes quantities and timestamps as numbers: "185m" CPU, "3065Mi" memory, RFC 3339 times.

Analyzers and reports both need these; they live beside the Snapshot so neither depends on
the other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
            "E": 1e18}


def quantity(value: object) -> float | None:
    """Parse a Kubernetes quantity ("100m", "2Gi", "1.5", "1e3") into a float; None if bad."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    return _parse_quantity(value)


@lru_cache(maxsize=4096)  # clusters repeat a few dozen request/limit strings thousands of times
def _parse_quantity(value: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return _number(text[: -len(suffix)], factor)
    if text[-1] in _DECIMAL and not text[-2:-1].isalpha():
        return _number(text[:-1], _DECIMAL[text[-1]])
    return _number(text, 1)


def _number(text: str, factor: float) -> float | None:
    try:
        return float(text) * factor
    except ValueError:
        return None


def cpu_cores(value: object) -> float | None:
    return quantity(value)


def memory_bytes(value: object) -> float | None:
    return quantity(value)


def format_cpu(cores: float) -> str:
    """Millicores below 10 cores (185m), whole cores above (32)."""
    if cores < 10:
        return f"{cores * 1000:.0f}m"
    return f"{cores:.0f}" if cores.is_integer() else f"{cores:.1f}"


def format_mebibytes(size: float) -> str:
    """Memory as `kubectl top` prints it: 3065Mi."""
    return f"{size / 2**20:.0f}Mi"


def format_bytes(size: float) -> str:
    """Binary units as kubectl prints them: 3065Mi, 20Gi, 1.7Ti."""
    for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= factor:
            amount = size / factor
            return f"{amount:.0f}{unit}" if amount >= 10 or amount.is_integer() else \
                f"{amount:.1f}{unit}"
    return f"{size:.0f}B"


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API writes it; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_age(seconds: float) -> str:
    """kubectl-style ages: 45s, 12m, 10h, 14d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
