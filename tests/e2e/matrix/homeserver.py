"""A real Synapse homeserver for the Matrix tests: started from PyPI `matrix-synapse` in a tmp dir.

Loopback only, SQLite, no federation listener and no TLS, registration by shared secret (the
admin API's HMAC scheme), 4 bcrypt rounds and rate limits high enough that a test suite never
waits on them. `restart()` keeps the database and port, which is what a homeserver restart looks
like to a connected client. Start-up problems raise with the tail of Synapse's log: a test that
needs Synapse fails when it cannot start, it is never skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
SERVER_NAME = "clusterbot.test"
UNLIMITED = {"per_second": 10_000, "burst_count": 10_000}


class SynapseError(RuntimeError):
    """Synapse did not start or refused a request; the message carries its log tail."""


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(directory: Path, port: int, shared_secret: str) -> dict[str, Any]:
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                       "tls": False, "x_forwarded": False,
                       "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(directory / "log.yaml"),
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_metrics": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "bcrypt_rounds": 4,
        "rc_message": UNLIMITED,
        "rc_registration": UNLIMITED,
        "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
        "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
        "rc_joins_per_room": UNLIMITED,
        "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
        "rc_room_creation": UNLIMITED,
        "rc_admin_redaction": UNLIMITED,
    }


def _log_config(log_file: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(log_file),
                              "formatter": "plain"}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class Synapse:
    """One homeserver process on 127.0.0.1; `url` is its client API base."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._shared_secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files()

    def _write_files(self) -> None:
        from signedjson.key import generate_signing_key, write_signing_keys

        (self.directory / "media").mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML writer needed.
        config = _config(self.directory, self.port, self._shared_secret)
        (self.directory / "homeserver.yaml").write_text(json.dumps(config, indent=1))
        log = _log_config(self.directory / "homeserver.log")
        (self.directory / "log.yaml").write_text(json.dumps(log))
        with open(self.directory / "signing.key", "w") as key_file:
            write_signing_keys(key_file, [generate_signing_key("a_test")])

    def start(self) -> None:
        console = open(self.directory / "console.log", "ab")  # noqa: SIM115 (child keeps it)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver",
             "--config-path", str(self.directory / "homeserver.yaml")],
            cwd=self.directory, stdout=console, stderr=subprocess.STDOUT)
        console.close()
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise SynapseError(f"Synapse exited with {self._process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise SynapseError(f"Synapse did not serve within {START_TIMEOUT:.0f}s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT)
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("console.log", "homeserver.log"):
            path = self.directory / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def register(self, localpart: str, password: str | None = None) -> Account:
        """A new user, through the shared-secret admin API (HMAC-SHA1 over nonce and fields)."""
        password = password or secrets.token_hex(8)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = self._request("GET", endpoint)["nonce"]
        message = "\x00".join([nonce, localpart, password, "notadmin"]).encode()
        mac = hmac.new(self._shared_secret.encode(), message, hashlib.sha1).hexdigest()
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": False,
                "mac": mac}
        answer = self._request("POST", endpoint, body)
        return Account(answer["user_id"], password, answer["access_token"])

    def delete_device(self, account: Account, device_id: str) -> None:
        """Sign a device out, as a user does from another client (password re-entered)."""
        auth = {"type": "m.login.password", "password": account.password,
                "identifier": {"type": "m.id.user", "user": account.user_id}}
        self._request("DELETE", f"{self.url}/_matrix/client/v3/devices/{device_id}",
                      {"auth": auth}, token=account.access_token)

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None,
                 token: str = "") -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as error:
            raise SynapseError(f"{method} {url}: {error.code} {error.read()[:300]!r}") from error
