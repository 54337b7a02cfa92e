"""Slack's HTTP mode: Slack POSTs slash commands to `/slack/events`; Bolt checks and answers.

Bolt's own development server handles one request at a time; this one gives each request a
thread (bot/background_http.py), so fifty people typing `/cluster` at once are all
acknowledged within Slack's 3 s.
Signature and timestamp (older than 5 minutes is a replay) are verified by Bolt's
RequestVerification middleware, which answers 401.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler

from slack_bolt import App, BoltRequest, BoltResponse

from bot.background_http import BackgroundHTTPServer, send

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1 << 20  # a slash command is a few hundred bytes


class BoltHTTPServer(BackgroundHTTPServer):
    def __init__(self, app: App, host: str, port: int) -> None:
        super().__init__(_handler(app), host, port, name="clusterbot-slack-http")


def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: Slack reuses connections

        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True  # the unread body makes the connection unusable
                self._reply(BoltResponse(status=413, body="request too large"))
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            if path != EVENTS_PATH:
                self._reply(BoltResponse(status=404, body="not found"))
            else:
                self._reply(app.dispatch(BoltRequest(body=body, query=query,
                                                     headers=dict(self.headers.items()))))

        def _reply(self, response: BoltResponse) -> None:
            body = response.body.encode() if isinstance(response.body, str) else b""
            send(self, response.status, body, [
                (name, value) for name, values in response.headers.items()
                if name.lower() != "content-length" for value in values])

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("slack http %s", format % args)

    return Handler
