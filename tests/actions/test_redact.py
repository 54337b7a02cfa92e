"""Secret-looking log lines never reach chat; ordinary lines pass untouched."""

from __future__ import annotations

import pytest

from bot.actions.redact import redact_lines

SECRET_LINES = [
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "bearer token"),
    ("DATABASE_URL=postgres://app:s3cr3t-pw@postgres:5432/screener", "password in a URL"),
    ("redis: connecting to redis://:hunter22@redis:6379/0", "password in a URL"),
    ("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9",
     "JWT"),
    ("using key AKIAIOSFODNN7EXAMPLE for s3", "AWS access key"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret value"),
    ("POSTGRES_PASSWORD=correct horse battery staple", "secret value"),
    ('{"api_key": "sk-live-1234567890"}', "secret value"),
    ("slack token xoxb-1234567890-abcdefghijkl", "Slack or GitHub token"),
    ("token: ghp_abcdefghijklmnopqrstuvwxyz0123456789", "Slack or GitHub token"),
]
SAFE_LINES = [
    "INFO celery worker ready, 4 processes",
    "the token bucket is empty, retrying in 5s",
    "ERROR connection to postgres:5432 refused",
    "password authentication failed for user app",
    "Passed 12 tests",
]


@pytest.mark.parametrize(("line", "kind"), SECRET_LINES)
def test_secret_looking_lines_are_replaced_whole(line: str, kind: str) -> None:
    assert redact_lines([line]) == ([f"[redacted: {kind}]"], 1)


def test_ordinary_lines_pass_untouched() -> None:
    assert redact_lines(SAFE_LINES) == (SAFE_LINES, 0)


def test_a_private_key_block_is_redacted_to_its_end_line() -> None:
    lines = ["loading key", "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA0Z3VS5JJcds3x",
             "-----END RSA PRIVATE KEY-----", "key loaded"]
    out, count = redact_lines(lines)
    assert count == 3
    assert out == ["loading key", *["[redacted: private key]"] * 3, "key loaded"]
