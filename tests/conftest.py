"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeapi import FakeKubeAPI


@pytest.fixture
def fake_api() -> Iterator[FakeKubeAPI]:
    """A fake Kubernetes API server on 127.0.0.1 (a free port), seeded empty, stopped after."""
    with FakeKubeAPI() as api:
        yield api
