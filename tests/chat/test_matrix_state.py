"""What the Matrix adapter keeps across restarts, and how its settings become its config."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.chat.matrix import MatrixConfig, SyncState
from bot.config import Settings


def test_the_sync_token_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "matrix.json"
    SyncState(path, "@bot:example.org", "DEVICE", "s72_5").save()

    assert SyncState.load(path) == SyncState(path, "@bot:example.org", "DEVICE", "s72_5")


def test_no_state_file_means_no_token(tmp_path: Path) -> None:
    assert SyncState.load(tmp_path / "absent.json").next_batch == ""


def test_a_broken_state_file_is_ignored_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "matrix.json"
    path.write_text("{not json")

    assert SyncState.load(path).next_batch == ""
    assert "ignoring unreadable state file" in caplog.text


def test_an_unwritable_state_file_warns_and_the_bot_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        SyncState(blocker / "matrix.json", next_batch="s1").save()

    assert "cannot save the sync token" in caplog.text


def test_settings_become_the_adapter_config(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    for name, value in {"MATRIX_HOMESERVER": "https://matrix.example.org",
                        "MATRIX_USER": "@clusterbot:example.org",
                        "MATRIX_PASSWORD": "hunter2-secret",
                        "MATRIX_ROOMS": "!abc:example.org, #ops:example.org",
                        "CLUSTERBOT_MATRIX_STATE_FILE": str(tmp_path / "m.json")}.items():
        monkeypatch.setenv(name, value)
    settings = Settings()

    config = MatrixConfig.from_settings(settings)

    assert config.rooms == ("!abc:example.org", "#ops:example.org")
    assert config.password == "hunter2-secret" and config.access_token is None
    assert config.state_file == tmp_path / "m.json"
    assert "hunter2-secret" not in repr(settings)


@pytest.mark.parametrize(("variables", "problem"), [
    ({"MATRIX_HOMESERVER": "https://m.example.org"}, "set MATRIX_PASSWORD or MATRIX_ACCESS"),
    ({"MATRIX_HOMESERVER": "https://m.example.org", "MATRIX_PASSWORD": "x"}, "needs MATRIX_USER"),
])
def test_incomplete_matrix_settings_say_what_is_missing(
        variables: dict[str, str], problem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=problem):
        Settings()
