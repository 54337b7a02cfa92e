"""The one door to the Kubernetes API: raw JSON requests on the official client's transport.

The `kubernetes` package gives us kubeconfig/in-cluster loading, auth and TLS; we skip its
model objects (10x the time and memory of the JSON they come from) and speak JSON: `request()`
returns parsed dicts, `stream()` yields watch lines. API errors become `KubeError` with the
Status body's reason; a server that cannot be reached becomes `Unreachable`, within the
configured timeout (no hidden retries). Only this module and its users in `bot/cluster/`
import `kubernetes`, and only when a live cluster is used.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from bot.cluster.dump import paused_gc
from bot.cluster.source import SourceError

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
POOL_SIZE = 32
UNREACHABLE = "cluster API unreachable at"  # how a failed connection's message starts
_CONNECTION_NAME = re.compile(r"^\w+\(host=[^)]*\): ")  # urllib3's "HTTPConnection(host=...): "


class KubeError(Exception):
    """The API answered with an error Status (403 Forbidden, 404 NotFound, 409 Conflict...)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class Unreachable(SourceError):
    """No answer from the API server (refused, timed out, TLS failure)."""


@dataclass(frozen=True)
class ConnectOptions:
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = 10.0  # seconds, for every call (a watch uses it to connect)


class KubeClient:
    def __init__(self, api_client: Any, timeout: float) -> None:
        self._api = api_client
        self.timeout = timeout

    @classmethod
    def connect(cls, options: ConnectOptions) -> KubeClient:
        """Configure like kubectl: explicit kubeconfig/context, else in-cluster, else default."""
        from kubernetes import client, config

        configuration = client.Configuration()
        in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ
        if options.kubeconfig and not os.path.isfile(options.kubeconfig):
            raise SourceError(f"kubeconfig {options.kubeconfig}: no such file")
        try:
            if options.kubeconfig or options.context or not in_cluster:
                config.load_kube_config(config_file=options.kubeconfig, context=options.context,
                                        client_configuration=configuration)
            else:
                config.load_incluster_config(client_configuration=configuration)
        except (config.ConfigException, OSError, TypeError, ValueError) as error:
            raise SourceError(f"cannot load cluster configuration: {error}") from None
        configuration.retries = False  # fail within the timeout; callers decide on retries
        # The watch cache holds one watch connection per kind, plus lists beside them.
        configuration.connection_pool_maxsize = POOL_SIZE
        return cls(client.ApiClient(configuration), options.timeout)

    def close(self) -> None:
        """Close the connection pool (open watches end)."""
        self._api.close()

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = JSON,
        timeout: float | None = None,
    ) -> Any:
        """One API call; returns the parsed JSON body (or text for non-JSON answers)."""
        response = self._send(method, path, query, body, content_type, accept,
                              timeout or self.timeout)
        data = self._read(response, path)
        if "json" not in (response.headers.get("Content-Type") or JSON):
            return data.decode(errors="replace")
        if not data:
            return None
        with paused_gc():
            return orjson.loads(data)

    def request_bytes(self, path: str, *, query: Mapping[str, Any] | None = None,
                      accept: str = JSON) -> bytes:
        """A GET's raw body, for callers that parse it their own way (list pages)."""
        return self._read(self._send("GET", path, query, None, JSON, accept, self.timeout),
                          path)

    def _read(self, response: Any, path: str) -> bytes:
        try:
            return bytes(response.read())
        except Exception as error:  # noqa: BLE001 - urllib3 read errors vary by version
            raise Unreachable(f"{self.host}: connection lost reading {path}: {error}") from None

    def stream(self, path: str, query: Mapping[str, Any], *, read_timeout: float,
               accept: str = JSON) -> WatchStream:
        """Open a streaming (watch) response now; iterate it for its lines.

        Connecting happens here, so `Unreachable` and `KubeError` (410 Gone, 403...) are raised
        by this call, and a caller knows the watch is established when it returns.
        """
        response = self._send("GET", path, query, None, JSON, accept,
                              (self.timeout, read_timeout))
        return WatchStream(response.response, f"{self.host}: watch on {path}")

    def _send(self, method: str, path: str, query: Mapping[str, Any] | None, body: Any,
              content_type: str, accept: str, timeout: Any) -> Any:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        method, url, headers, body, _ = self._api.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()),
            header_params=headers, body=body, auth_settings=["BearerToken"])
        try:
            response = self._api.call_api(method, url, header_params=headers, body=body,
                                          _request_timeout=timeout)
        except Exception as error:  # noqa: BLE001 - urllib3 raises many kinds for "no answer"
            raise Unreachable(f"{UNREACHABLE} {self.host}: {_short(error)}") from None
        if response.status >= 400:
            raise _error(response)
        return response


class WatchStream:
    """An open watch response: iterating yields its lines until the server ends it;
    `close()`, from any thread, cuts it (a stopping cache does not wait for the next event)."""

    def __init__(self, raw: Any, name: str) -> None:
        self._raw = raw
        self._name = name

    def __iter__(self) -> Iterator[bytes]:
        try:
            buffer = b""
            for chunk in self._raw.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                yield from (line for line in lines if line.strip())
            if buffer.strip():
                yield buffer
        except Exception as error:  # noqa: BLE001 - a dropped stream ends the watch
            raise Unreachable(f"{self._name} interrupted: {_short(error)}") from None
        finally:
            self._raw.release_conn()

    def close(self) -> None:
        with contextlib.suppress(ValueError, RuntimeError, OSError):  # already ended
            self._raw.shutdown()


def _error(response: Any) -> KubeError:
    data = response.read()
    try:
        status = orjson.loads(data)
    except orjson.JSONDecodeError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    return KubeError(response.status, status.get("reason") or response.reason or "Error",
                     status.get("message") or data.decode(errors="replace")[:200])


def _short(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    return _CONNECTION_NAME.sub("", str(reason or error).splitlines()[0])[:200]
