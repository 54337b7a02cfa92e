"""A stub of Slack on 127.0.0.1: the Web API, response_url and the Socket Mode websocket.

No Slack emulator exists, so this plays Slack's side of the protocols the bot speaks, and
records what the bot sends:

- `SlackStub`: the Web API methods the bot calls (auth.test, chat.postMessage, chat.update,
  usergroups.users.list, the three steps of files_upload_v2, apps.connections.open) plus
  `response_url` endpoints; faults (`fail`) answer the next calls of a method with a 429 +
  Retry-After or a Slack error. `user_groups` holds the workspace's user groups.
- `SocketModeStub`: a websocket server that says hello, delivers envelopes and records the
  acknowledgements the bot sends back.
- `slash_command_body` / `signed_headers`: a slash command as Slack POSTs it in HTTP mode,
  signed with the app's signing secret (v0 HMAC-SHA256 of "v0:timestamp:body").
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_USER = "U0BOT"
TEAM = "T0HOMELAB"


@dataclass(frozen=True)
class Call:
    """One request the bot made: `method` is the Web API method, `response`, or `upload`."""

    method: str
    params: dict[str, Any]
    path: str
    status: int
    result: dict[str, Any] = field(default_factory=dict)  # what the stub answered
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Fault:
    method: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of 50 posts must not wait for socketserver's backlog of 5


class SlackStub:
    """The Slack Web API and response_url endpoints, recording every call."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._ts = itertools.count(1)
        self.socket_url = ""  # what apps.connections.open hands out
        self.user_groups: dict[str, list[str]] = {}  # group ID (S...) -> its members' IDs
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        # a short poll: stopping waits for it, and every Slack test stops a stub
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    def __enter__(self) -> SlackStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- faults ----------------------------------------------------------------------------

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests."""
        self._fault(_Fault(method, 429, {"ok": False, "error": "ratelimited"},
                           {"Retry-After": str(retry_after)}, times))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        self._fault(_Fault(method, 200, {"ok": False, "error": error}, {}, times))

    def _fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    # -- what the bot sent ------------------------------------------------------------------

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0
                 ) -> list[Call]:
        """Block until `predicate(calls)` holds (or fail after `timeout` seconds)."""
        with self._lock:
            if not self._lock.wait_for(lambda: predicate(self.calls), timeout):
                raise AssertionError(f"Slack stub: condition not met in {timeout} s; calls: "
                                     f"{[(c.method, c.status) for c in self.calls]}")
            return list(self.calls)

    def delivered(self, method: str) -> list[Call]:
        """Calls of `method` that Slack accepted."""
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200
                    and c.params.get("_ok", True)]

    def wait_delivered(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        self.wait_for(lambda calls: len([c for c in calls if c.method == method
                                         and c.status == 200 and c.params.get("_ok", True)])
                      >= count, timeout)
        return self.delivered(method)

    # -- answering ---------------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any], token: str
               ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._take_fault(method)
        if fault is not None:
            return fault.status, fault.body, fault.headers
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        return 200, self._result(method, params), {}

    def _result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://homelab.slack.com/", "team": "homelab",
                    "user": "clusterbot", "team_id": TEAM, "user_id": BOT_USER,
                    "bot_id": "B0BOT"}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"),
                    "ts": f"1760896800.{next(self._ts):06d}", "message": {"text": params.get(
                        "text"), "blocks": params.get("blocks")}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"),
                    "text": params.get("text"), "message": {"text": params.get("text"),
                                                            "blocks": params.get("blocks")}}
        if method == "usergroups.users.list":
            members = self.user_groups.get(str(params.get("usergroup")))
            return ({"ok": True, "users": members} if members is not None
                    else {"ok": False, "error": "no_such_subteam"})
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")}
                                          for f in files or []]}
        return {"ok": False, "error": "unknown_method"}


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else {"_body": parsed}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode()))
    return {"_bytes": body}


def _handler(stub: SlackStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if path.startswith("/upload/"):  # the file itself, whatever its bytes
                stub.record(Call("upload", {"content": body}, path, 200))
                self._send(200, f"OK - {len(body)}".encode(), "text/plain")
                return
            params = {**dict(parse_qsl(query)),
                      **_parse(body, self.headers.get("Content-Type") or "")}
            if path.startswith("/api/"):
                self._api(path, path[len("/api/"):], params)
            elif path.startswith("/response/"):
                stub.record(Call("response", params, path, 200))
                self._send(200, b"ok", "text/plain")
            else:
                self._send(404, b"not found", "text/plain")

        def _api(self, path: str, method: str, params: dict[str, Any]) -> None:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            token = token or str(params.get("token", ""))
            if isinstance(params.get("blocks"), str):
                params["blocks"] = json.loads(params["blocks"])
            status, body, headers = stub.answer(method, params, token)
            stub.record(Call(method, {**params, "_ok": body.get("ok", False)}, path, status, body))
            self._send(status, json.dumps(body).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


class SocketModeStub:
    """Slack's Socket Mode websocket: hello on connect, envelopes out, acknowledgements in."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.acks: list[dict[str, Any]] = []
        self._connections: list[ServerConnection] = []
        self._server = serve(self._session, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link"

    def __enter__(self) -> SocketModeStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                    "debug_info": {"host": "stub", "approximate_connection_time":
                                                   18060},
                                    "connection_info": {"app_id": "A0CLUSTER"}}))
        with self._lock:
            self._connections.append(connection)
            self._lock.notify_all()
        try:
            for message in connection:
                with self._lock:
                    self.acks.append(json.loads(message))
                    self._lock.notify_all()
        except ConnectionClosed:
            pass

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._lock:
            assert self._lock.wait_for(lambda: bool(self._connections), timeout), \
                "the bot never opened the Socket Mode websocket"

    def deliver(self, envelope: dict[str, Any]) -> None:
        with self._lock:
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def acked() -> list[dict[str, Any]]:
            return [a for a in self.acks if a.get("envelope_id") == envelope_id]

        with self._lock:
            assert self._lock.wait_for(lambda: bool(acked()), timeout), \
                f"envelope {envelope_id} was never acknowledged"
            return acked()[0]


def slash_command(text: str, *, response_url: str, user: str = "U0ALICE",
                  channel: str = "C0OPS") -> dict[str, str]:
    """The fields of a `/cluster` invocation, as Slack sends them."""
    return {"token": "legacy-verification-token", "team_id": TEAM, "team_domain": "homelab",
            "channel_id": channel, "channel_name": "ops", "user_id": user,
            "user_name": "alice", "command": "/cluster", "text": text, "api_app_id": "A0CLUSTER",
            "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": "1337.42.abcdef"}


def slash_command_body(text: str, **fields: str) -> str:
    return urlencode(slash_command(text, **fields))


def signed_headers(body: str, *, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until_up(process: subprocess.Popen[str], health_port: int, timeout: float) -> None:
    """Wait for `clusterbot serve` to answer /healthz (fail if it exits or takes too long)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if get(f"http://127.0.0.1:{health_port}/healthz")[0] == 200:
                return
        except OSError:
            pass
        assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
        assert time.monotonic() < deadline, "clusterbot serve did not come up"
        time.sleep(0.1)
