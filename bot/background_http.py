"""An HTTP server on its own threads, for the endpoints `clusterbot serve` keeps open.

Slack's HTTP mode (`/slack/events`) and the health endpoints (`/healthz`, `/readyz`,
`/metrics`) both need a server that answers requests in parallel while the main thread waits
for a signal. socketserver's listen backlog of 5 would drop a burst of connections for a
second (the kernel retries a dropped SYN after 1 s), which Slack's 3 s budget cannot afford.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class BackgroundHTTPServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int,
                 name: str) -> None:
        self._server = _Server((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name,
                                        daemon=True)

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when asked for port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         headers: Iterable[tuple[str, str]] = ()) -> None:
    """Answer the handler's request with `body` (its length set here) and `headers`."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
