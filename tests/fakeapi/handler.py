"""The HTTP side: one handler per connection (HTTP/1.1 keep-alive), turning requests into
discovery documents, verbs or watch streams, and `ApiError`s into `Status` responses.

Order per request, like the real server's filter chain: record it, apply injected faults,
discovery and health paths, route, authorize (`forbid`), negotiate the Accept type, then serve.
"""

from __future__ import annotations

import traceback
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import orjson

from . import discovery, routes, tables, verbs, watch
from .status import ApiError
from .verbs import Call, Response

if TYPE_CHECKING:
    from .server import FakeKubeAPI

_HEALTH = ("/healthz", "/livez", "/readyz")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # like Go's net/http: no 40 ms delayed-ACK stall per reply
    server_version = "fake-kube-apiserver/1.32"
    sys_version = ""

    @property
    def api(self) -> FakeKubeAPI:
        return self.server.api  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._read_body()
        self.api.requests.record(self.command, url.path, query)
        try:
            response = self._answer(url.path, query, body)
        except ApiError as err:
            response = Response(err.code, err.body, err.headers)
        except Exception:  # a bug in the fake: say so instead of dropping the connection
            response = Response(500, ApiError(500, "InternalError", traceback.format_exc()).body)
        if response is not None:
            self._send(response)

    def _answer(self, path: str, query: dict[str, str], body: bytes) -> Response | None:
        api = self.api
        fault = api.faults.check(path)
        if fault is not None:
            raise fault
        groups = api.served_groups()
        if self.command == "GET":
            doc = discovery.document(path, groups, f"127.0.0.1:{api.port}")
            if doc is not None:
                return Response(200, doc)
            if path in _HEALTH:
                return Response(200, "ok")
        target = routes.parse(path, groups)
        if target is None:
            return Response(404, "404 page not found\n")
        api.check_access(verbs.verb_of(self.command, target, query), target)
        fmt = tables.negotiate(self.headers.get("Accept"))
        if self.command == "GET" and verbs.wants_watch(query) and target.subresource is None:
            verbs.check_allowed(self.command, target, query)
            watch.serve(self, api, target, query, fmt)
            return None
        content_type = self.headers.get("Content-Type") or "application/json"
        return verbs.handle(api, Call(self.command, target, query, body, content_type, fmt))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        data = b""
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            data += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return data

    def _send(self, response: Response) -> None:
        if isinstance(response.body, bytes):
            data, content_type = response.body, "application/json"
        elif isinstance(response.body, dict):
            data, content_type = orjson.dumps(response.body), "application/json"
        else:
            data, content_type = response.body.encode(), "text/plain; charset=utf-8"
        try:
            self.send_response(response.code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache, private")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
