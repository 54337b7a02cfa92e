"""Where each kind lives in the API, whether an add-on API is served, and what to say when a
kind cannot be read.

Add-ons (metrics-server's metrics.k8s.io, Longhorn, cert-manager) come and go with the cluster:
discovery of their group/version says whether to list them at all, so a homelab without
cert-manager costs no failing request, and a missing or forbidden API becomes a note in the
report ("not installed", "no permission to read certificates.cert-manager.io") instead of an
error.
"""

from __future__ import annotations

from bot.cluster.client import KubeClient, KubeError
from bot.cluster.kinds import KindInfo

NOT_INSTALLED = "not installed"
# Metadata only: the bot needs Secret names (Ingress TLS checks), never their data.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_PLURALS = {"nodemetrics": "nodes", "longhornvolumes": "volumes"}  # where key != API plural


def plural(info: KindInfo) -> str:
    return _PLURALS.get(info.key, info.key)


def collection_path(info: KindInfo) -> str:
    """The all-namespaces collection: `/api/v1/pods`, `/apis/longhorn.io/v1beta2/volumes`."""
    return f"{group_version_path(info)}/{plural(info)}"


def group_version_path(info: KindInfo) -> str:
    return f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"


def qualified_name(info: KindInfo) -> str:
    """The name RBAC and kubectl use: `pods`, `volumes.longhorn.io`."""
    return f"{plural(info)}.{info.group}" if info.group else plural(info)


def accept_for(info: KindInfo) -> str:
    return METADATA_ONLY if info.key == "secrets" else "application/json"


def is_served(client: KubeClient, info: KindInfo) -> bool:
    """True when the kind's API group/version is served (core kinds always are)."""
    if not info.optional or not info.group:
        return True
    try:
        client.request("GET", group_version_path(info))
    except KubeError as error:
        if error.status == 404:
            return False
        raise
    return True


def absence_reason(info: KindInfo, error: KubeError) -> str | None:
    """What the report says instead of the kind's data, or None when the error is not
    about the kind being unavailable to us (a 500 is a failure, not an absence)."""
    if error.status in (401, 403):
        return f"no permission to read {qualified_name(info)}"
    if error.status == 404 and info.optional:
        return NOT_INSTALLED
    if error.status == 503 and info.optional:  # an aggregated API whose backend is down
        return f"API unavailable ({error.message[:120]})"
    return None
