"""`FakeKubeAPI`: a Kubernetes API server on 127.0.0.1 for tests, and its test-side controls.

    with FakeKubeAPI([pod, node]) as api:          # seeded, listening on a free port
        api.kubeconfig(tmp_path / "kubeconfig")   # for the kubernetes client and kubectl
        api.add(other_pod)                        # writes emit watch events, bump resourceVersion
        api.faults.fail(503, times=2)             # see faults.py
        assert api.requests.count("GET", "/api/v1/pods") == 1

Standard library only: ThreadingHTTPServer, one thread per connection.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Iterable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

from .faults import Faults
from .handler import Handler
from .resources import RESOURCES, Resource, by_name, by_object, optional_groups
from .routes import Target
from .status import ApiError, forbidden
from .store import Store, cut_socket

DEFAULT_USER = "system:serviceaccount:clusterbot:clusterbot"
TOKEN = "fake-token"


class Request(NamedTuple):
    method: str
    path: str
    query: dict[str, str]


class RequestLog:
    """Every request received, in order; safe to read while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Request] = []

    def record(self, method: str, path: str, query: dict[str, str]) -> None:
        with self._lock:
            self._items.append(Request(method, path, query))

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self._items)

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        return sum(1 for r in self.snapshot()
                   if (method is None or r.method == method) and r.path.startswith(path_prefix))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self.snapshot())

    def __iter__(self) -> Iterator[Request]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> Request:
        return self.snapshot()[index]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a cache opens a watch per kind at once; 5 drops SYNs (1 s stall)

    def __init__(self, port: int, api: FakeKubeAPI) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def cut_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            cut_socket(sock)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-response are part of the tests


class FakeKubeAPI:
    def __init__(self, objects: Iterable[dict] = (), *, bookmark_interval: float = 1.0,
                 history: int = 10_000, user: str = DEFAULT_USER, port: int = 0) -> None:
        self.store = Store(history)
        self.requests = RequestLog()
        self.faults = Faults(drop_watches=self.store.drop_watchers, compact=self.store.compact,
                             refuse=self._refuse, accept=self._accept)
        self.bookmark_interval = bookmark_interval
        self.user = user
        self.port = port
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._forbidden: dict[Resource, frozenset[str] | None] = {}  # None: every verb
        self._enabled: set[str] = set()
        self._http: _HTTPServer | None = None
        self._refused = False
        self._lock = threading.Lock()
        for obj in objects:
            self.add(obj)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeKubeAPI:
        self._start_listening()
        return self

    def stop(self) -> None:
        self._refused = False
        self._stop_listening()

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_listening(self) -> None:
        with self._lock:
            if self._http is not None:
                return
            self._http = _HTTPServer(self.port, self)
            self.port = self._http.server_address[1]
            thread = threading.Thread(target=self._http.serve_forever, args=(0.05,),
                                      name=f"fakeapi-{self.port}", daemon=True)
            thread.start()

    def _refuse(self) -> None:
        self._refused = True
        self._stop_listening()

    def _accept(self) -> None:
        if self._refused:
            self._refused = False
            self._start_listening()

    def _stop_listening(self) -> None:
        with self._lock:
            http, self._http = self._http, None
        if http is None:
            return
        http.shutdown()
        http.server_close()
        self.store.drop_watchers()
        http.cut_connections()

    # -- state, for tests ----------------------------------------------------------------

    def add(self, obj: dict) -> dict:
        """Store a new object (kind and apiVersion required); enables its add-on API group."""
        resource = by_object(obj)
        if resource.optional:
            self.enable_group(resource.group)
        return self.store.create(resource, obj)

    def update(self, obj: dict) -> dict:
        """Replace an existing object, without a resourceVersion check."""
        return self.store.replace(by_object(obj), obj, check_rv=False)[0]

    def delete(self, plural: str, namespace: str | None, name: str) -> dict:
        """Delete like a client would, with the resource's default propagation."""
        return self.store.delete(by_name(plural), namespace, name)

    def get(self, plural: str, namespace: str | None, name: str) -> dict | None:
        try:
            return self.store.get(by_name(plural), namespace, name)
        except ApiError:
            return None

    def list(self, plural: str, namespace: str | None = None) -> list[dict]:
        items, _ = self.store.items(by_name(plural))
        return [copy.deepcopy(o) for o in items
                if namespace in (None, o["metadata"].get("namespace"))]

    def set_logs(self, namespace: str, pod: str, container: str, text: str,
                 previous: bool = False) -> None:
        self._logs[(namespace, pod, container, previous)] = text

    def enable_group(self, group: str) -> None:
        """Serve an add-on API group (metrics.k8s.io, longhorn.io, cert-manager.io)."""
        if group not in optional_groups():
            raise KeyError(f"{group!r} is not an add-on group of the fake")
        self._enabled.add(group)

    def forbid(self, plural: str, verbs: tuple[str, ...] | None = None) -> None:
        """Answer requests for this resource (`pods`, `secrets`, ...) with 403 Forbidden:
        every request, or only those of the RBAC `verbs` named (`("watch",)`)."""
        self._forbidden[by_name(plural)] = frozenset(verbs) if verbs else None

    def allow(self, plural: str) -> None:
        self._forbidden.pop(by_name(plural), None)

    def reset_requests(self) -> None:
        self.requests.clear()

    def kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig for this server (plain HTTP, a bearer token user)."""
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path = Path(path)
        path.write_text(json.dumps(config, indent=2))
        return path

    # -- used by the request handler -----------------------------------------------------

    def served_groups(self) -> set[str]:
        return {r.group for r in RESOURCES if not r.optional} | self._enabled

    def check_access(self, verb: str, target: Target) -> None:
        if target.resource not in self._forbidden:
            return
        denied = self._forbidden[target.resource]
        if denied is None or verb in denied:
            raise forbidden(self.user, verb, target.resource, target.namespace, target.name,
                            target.subresource)

    def log_containers(self, namespace: str, pod: str) -> tuple[str, ...]:
        return tuple(sorted({c for (ns, p, c, _) in self._logs if (ns, p) == (namespace, pod)}))

    def logs_for(self, namespace: str, pod: str, container: str, previous: bool) -> str | None:
        return self._logs.get((namespace, pod, container, previous))
