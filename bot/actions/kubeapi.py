"""Every Kubernetes API call remediation makes, one method per verb and resource.

The bot's RBAC is read off this file, so nothing in bot/actions calls the client elsewhere:
- get: pods, jobs, deployments, statefulsets, daemonsets (checks before acting, dry runs);
  pods/log (show logs)
- delete: pods, jobs (with a uid precondition)
- patch: deployments, statefulsets, daemonsets (rollout restart)
- create, get, list, delete: leases, in clusterbot's own namespace (claims)
- create: events, in the namespaces it acts on (audit)
Errors come back as the client's `KubeError` (403, 404, 409...) or `Unreachable`.
"""

from __future__ import annotations

from typing import Any

from bot.cluster.client import STRATEGIC_MERGE_PATCH, KubeClient
from bot.cluster.kinds import kind_for
from bot.models import ObjectRef

Obj = dict[str, Any]
_LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
_EVENTS = "/api/v1/namespaces/{namespace}/events"


def _object_path(ref: ObjectRef) -> str:
    """The API path of one namespaced object: `/api/v1/namespaces/ns/pods/name`."""
    info = kind_for(ref.kind)
    if info is None or not info.namespaced:
        raise ValueError(f"{ref.kind} is not a namespaced kind clusterbot acts on")
    root = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    return f"{root}/namespaces/{ref.namespace}/{info.key}/{ref.name}"


class RemediationAPI:
    def __init__(self, client: KubeClient) -> None:
        self._client = client

    # -- the objects actions touch ------------------------------------------------------------

    def get(self, ref: ObjectRef) -> Obj:
        return dict(self._client.request("GET", _object_path(ref)))

    def pod_logs(self, pod: ObjectRef, container: str, *, previous: bool, tail: int) -> str:
        query = {"container": container, "tailLines": tail, "previous": str(previous).lower()}
        return str(self._client.request("GET", _object_path(pod) + "/log", query=query) or "")

    def delete(self, ref: ObjectRef, propagation: str | None = None) -> None:
        """Delete exactly this instance: the uid precondition makes a same-named successor 409."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1",
                        "preconditions": {"uid": ref.uid}}
        if propagation:
            options["propagationPolicy"] = propagation
        self._client.request("DELETE", _object_path(ref), body=options)

    def patch(self, ref: ObjectRef, body: Obj) -> Obj:
        return dict(self._client.request("PATCH", _object_path(ref), body=body,
                                         content_type=STRATEGIC_MERGE_PATCH))

    # -- claims and audit ---------------------------------------------------------------------

    def create_lease(self, namespace: str, lease: Obj) -> Obj:
        return dict(self._client.request("POST", _LEASES.format(namespace=namespace),
                                         body=lease))

    def get_lease(self, namespace: str, name: str) -> Obj:
        return dict(self._client.request("GET", f"{_LEASES.format(namespace=namespace)}/{name}"))

    def list_leases(self, namespace: str, selector: str) -> list[Obj]:
        found = self._client.request("GET", _LEASES.format(namespace=namespace),
                                     query={"labelSelector": selector})
        return list((found or {}).get("items") or [])

    def delete_lease(self, namespace: str, name: str, uid: str) -> None:
        self._client.request("DELETE", f"{_LEASES.format(namespace=namespace)}/{name}",
                             body={"preconditions": {"uid": uid}})

    def create_event(self, namespace: str, event: Obj) -> None:
        self._client.request("POST", _EVENTS.format(namespace=namespace), body=event)
