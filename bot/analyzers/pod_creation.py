"""Containers that cannot be created: images that cannot be pulled or named, missing config.

These pods never ran: the kubelet's waiting reason (ErrImageNeverPull, ErrImagePull,
InvalidImageName, CreateContainerConfigError) says which step failed, and the registry's or
kubelet's message says why. For ErrImageNeverPull the whole group matters: which nodes lack
the image, and which already have it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace

from bot.analyzers.base import Context, per_run
from bot.analyzers.pod_issue import (
    CONFIG_ERROR,
    IMAGE_NEVER_PULL,
    IMAGE_PULL,
    INVALID_IMAGE,
    Issue,
    PodView,
)
from bot.analyzers.readers import Container, patch_command, resource_arg, shorten
from bot.cluster.fields import as_dict, as_list, strings, text
from bot.models import Finding

_PULL_ERRORS = ("ErrImagePull", "ImagePullBackOff")


def creation_issue(ctx: Context, pv: PodView, c: Container) -> Issue | None:
    """The issue of a container the kubelet cannot create, or None."""
    waiting = text(c.waiting.get("reason"))
    if waiting == "ErrImageNeverPull":
        return _never_pull(pv, c)
    if waiting in _PULL_ERRORS:
        return _pull_error(ctx, pv, c, waiting)
    if waiting == "InvalidImageName":
        return _invalid_image(pv, c)
    if waiting == "CreateContainerConfigError":
        return _config_error(pv, c)
    return None


# -- ErrImageNeverPull ----------------------------------------------------------------------


def _never_pull(pv: PodView, c: Container) -> Issue:
    events = pv.container_events(c, "ErrImageNeverPull")
    return Issue(IMAGE_NEVER_PULL, "ErrImageNeverPull", pv, container=c,
                 events=tuple(events),
                 evidence=(f"{pv.name} on {pv.node or '(no node)'}: image {c.image}, "
                           f"imagePullPolicy {c.spec.get('imagePullPolicy', 'Never')}",))


def never_pull_group(ctx: Context, issues: list[Issue], built: Finding) -> Finding:
    """The group's diagnosis: the nodes its pods failed on, and those that hold the image."""
    c = issues[0].container
    image = c.image if c else "?"
    failing = sorted({i.pod.node for i in issues if i.pod.node})
    holders = _nodes_by_image(ctx).get(normalize_image(image), [])
    where = f" (it is on {', '.join(holders)})" if holders else " (no node has it)"
    cause = (f"imagePullPolicy is Never and image {image} is not present on "
             f"{', '.join(failing) or 'the nodes'}{where}")
    first = issues[0].pod
    tar = image.rsplit("/", 1)[-1].split(":")[0] + ".tar"
    index = c.patch_path if c else "/containers/0"
    switch = patch_command(first.owner, json.dumps(
        [{"op": "replace", "path": f"TEMPLATE{index}/imagePullPolicy", "value": "IfNotPresent"}],
        separators=(",", ":")))
    fix = (f"Import the image on {', '.join(failing) or 'those nodes'}: `docker save {image} -o "
           f"{tar}`, copy it over and run `sudo k3s ctr images import {tar}` on each; or push it "
           f"to a registry and let the nodes pull it: `kubectl -n {first.namespace} set image "
           f"{resource_arg(first.template_target)} {c.name if c else '<container>'}="
           f"<registry>/{image}`" + (f" and `{switch}`." if switch else "."))
    return replace(built, cause=cause, recommendation=fix)


@per_run
def _nodes_by_image(ctx: Context) -> dict[str, list[str]]:
    """The nodes holding each image, by its normalized name (from the nodes' image lists)."""
    holders: dict[str, set[str]] = {}
    for node in ctx.snapshot.items("nodes"):
        name = text(as_dict(node.get("metadata")).get("name"))
        for image in as_list(as_dict(node.get("status")).get("images")):
            for tag in strings(image.get("names")):
                holders.setdefault(normalize_image(tag), set()).add(name)
    return {image: sorted(nodes) for image, nodes in holders.items()}


def normalize_image(image: str) -> str:
    """docker.io/library/redis:latest for 'redis', as containerd records it."""
    name = image.split("@", 1)[0] if "@" in image else image
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + ("library/" + name if "/" not in name else name)
    return name


# -- ErrImagePull / ImagePullBackOff --------------------------------------------------------

# Pull errors, told apart by the registry's message; first match wins.
_PULL_CAUSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("platform", ("no match for platform", "exec format error"),
     "the image has no build for the node's CPU architecture"),
    ("ambiguous", ("repository does not exist or may require",),
     "the registry says the repository does not exist or needs credentials"),
    ("missing", ("not found", "manifest unknown", "name unknown", "notfound"),
     "the image or its tag does not exist in the registry"),
    ("auth", ("unauthorized", "authentication required", "denied", "403 forbidden",
              "failed to authorize", "no basic auth credentials"),
     "the registry refused access: a private image needs imagePullSecrets, or the given ones "
     "are wrong"),
    ("ratelimit", ("toomanyrequests", "rate limit"),
     "the registry is rate-limiting pulls (Docker Hub limits anonymous pulls)"),
    ("network", ("i/o timeout", "no such host", "connection refused", "network is unreachable",
                 "dial tcp", "tls handshake", "x509", "context deadline exceeded",
                 "connection reset"),
     "the node cannot reach the registry (DNS, network, proxy or TLS)"),
)


def _pull_cause(messages: Iterable[str]) -> tuple[str, str]:
    joined = " ".join(messages).lower()
    for kind, needles, cause in _PULL_CAUSES:
        if any(n in joined for n in needles):
            return kind, cause
    return "unknown", "the image could not be pulled"


def _pull_error(ctx: Context, pv: PodView, c: Container, waiting: str) -> Issue:
    events = pv.container_events(c, "Failed", "BackOff")
    waiting_message = text(c.waiting.get("message"))
    messages = [waiting_message, *(text(e.get("message")) for e in events
                                   if e.get("reason") == "Failed")]
    kind, cause = _pull_cause(messages)
    detail = max(messages, key=len)  # the registry's full answer, not "Error: ErrImagePull"
    arch = _node_arch(ctx, pv.node)
    if kind == "platform" and arch:
        cause += f" ({arch} on {pv.node})"
    return Issue(IMAGE_PULL, waiting, pv, container=c,
                 cause=f"image {c.image} cannot be pulled: {cause}"
                       + (f". The registry's answer: {shorten(detail)}" if detail else ""),
                 events=tuple(events),
                 evidence=(f"{pv.name} on {pv.node or '(no node)'}: {waiting}: "
                           f"{shorten(waiting_message, 160)}",),
                 fix=_pull_fix(kind, pv, c, arch))


def _pull_fix(kind: str, pv: PodView, c: Container, arch: str) -> str:
    ns, image, target = pv.namespace, c.image, pv.template_target
    set_image = f"`kubectl -n {ns} set image {resource_arg(target)} {c.name}=<image>:<tag>`"
    if kind in ("missing", "ambiguous", "unknown"):
        return (f"Check that the image exists (`docker manifest inspect {image}`; for a private "
                f"registry log in first), then point {target.kind.lower()} {target.name} at one "
                f"that does: {set_image}. Details: `kubectl -n {ns} describe pod {pv.name}`.")
    if kind in ("auth", "ratelimit"):
        secret = (f"`kubectl -n {ns} create secret docker-registry regcred "
                  f"--docker-server={_registry(image)} --docker-username=<user> "
                  f"--docker-password=<token>`")
        use = patch_command(pv.owner, '[{"op":"add","path":"TEMPLATE/imagePullSecrets",'
                                      '"value":[{"name":"regcred"}]}]') or (
            f"kubectl -n {ns} patch serviceaccount default -p "
            "'{\"imagePullSecrets\":[{\"name\":\"regcred\"}]}'")
        return f"Give the pods registry credentials: {secret}, then `{use}`."
    if kind == "platform":
        return (f"Use an image built for {arch or 'the node architecture'} (a multi-arch tag), "
                f"or build one: `docker buildx build --platform linux/arm64,linux/amd64 -t "
                f"{image} --push .`, then {set_image}.")
    return (f"Test the pull on the node: `sudo k3s crictl pull {image}` on {pv.node or 'the node'} "
            "(`crictl pull` elsewhere), and check its DNS (`/etc/resolv.conf`), proxy and "
            f"firewall; the kubelet retries by itself once it works. Details: `kubectl -n {ns} "
            f"describe pod {pv.name}`.")


def _registry(image: str) -> str:
    first = image.split("/", 1)[0]
    has_host = "/" in image and ("." in first or ":" in first or first == "localhost")
    return first if has_host else "https://index.docker.io/v1/"


def _node_arch(ctx: Context, node: str) -> str:
    obj = ctx.snapshot.get("nodes", "", node) if node else None
    info = as_dict(as_dict((obj or {}).get("status")).get("nodeInfo"))
    return text(info.get("architecture"))


# -- InvalidImageName -----------------------------------------------------------------------


def _invalid_image(pv: PodView, c: Container) -> Issue:
    message = shorten(text(c.waiting.get("message")))
    return Issue(INVALID_IMAGE, "InvalidImageName", pv, container=c,
                 cause=f"container {c.name} names image {c.image!r}, which is not a valid "
                       f"reference: {message}",
                 evidence=(f"{pv.name}: {message}",),
                 fix=f"Fix the image reference (lowercase repository, no scheme, no trailing "
                     f"slash): `kubectl -n {pv.namespace} set image "
                     f"{resource_arg(pv.template_target)} {c.name}={_suggest_image(c.image)}`.")


def _suggest_image(image: str) -> str:
    """The reference with scheme and trailing slash dropped and the repository lowercased."""
    cleaned = image.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    has_tag = ":" in cleaned.rsplit("/", 1)[-1]
    repo, sep, tag = cleaned.rpartition(":") if has_tag else (cleaned, "", "")
    fixed = repo.lower() + sep + tag
    return fixed if fixed and fixed != image else "<registry>/<repository>:<tag>"


# -- CreateContainerConfigError -------------------------------------------------------------

_MISSING_OBJECT = re.compile(r'(secret|configmap) "([^"]+)" not found', re.IGNORECASE)
_MISSING_KEY = re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/(\S+)")


def _config_error(pv: PodView, c: Container) -> Issue:
    message = text(c.waiting.get("message"))
    events = pv.container_events(c, "Failed")
    ns = pv.namespace
    missing, missing_key = _MISSING_OBJECT.search(message), _MISSING_KEY.search(message)
    if missing:
        kind, name = missing.group(1).lower(), missing.group(2)
        cause = f"{'Secret' if kind == 'secret' else 'ConfigMap'} {name} does not exist in {ns}"
        fix = _create_command(pv, kind, name)
    elif missing_key:
        key, kind, _, name = missing_key.groups()
        cause = f"{kind} {name} exists but has no key {key}"
        field = "stringData" if kind == "Secret" else "data"
        fix = (f"Add the key: `kubectl -n {ns} patch {kind.lower()} {name} --type=merge -p "
               f"'{{\"{field}\":{{\"{key}\":\"<value>\"}}}}'`; the kubelet retries by itself.")
    else:
        cause = f"the kubelet cannot build the container's configuration: {shorten(message)}"
        fix = f"See `kubectl -n {ns} describe pod {pv.name}` and fix the pod spec accordingly."
    return Issue(CONFIG_ERROR, "CreateContainerConfigError", pv, container=c,
                 cause=f"container {c.name} cannot be created: {cause}",
                 evidence=(f"{pv.name}: {shorten(message)}",), events=tuple(events),
                 fix=fix)


def _create_command(pv: PodView, kind: str, name: str) -> str:
    keys = _referenced_keys(pv, kind, name)
    literals = " ".join(f"--from-literal={k}=<value>" for k in keys) or \
        "--from-literal=<key>=<value>"
    noun = "secret generic" if kind == "secret" else "configmap"
    return (f"Create it with the keys the pod reads: `kubectl -n {pv.namespace} create {noun} "
            f"{name} {literals}` (or restore it from your manifests); the kubelet retries by "
            "itself and the pods start once it exists.")


def _referenced_keys(pv: PodView, kind: str, name: str) -> list[str]:
    ref_field = "secretKeyRef" if kind == "secret" else "configMapKeyRef"
    keys: list[str] = []
    for c in pv.containers:
        for env in as_list(c.spec.get("env")):
            key_ref = as_dict(as_dict(env.get("valueFrom")).get(ref_field))
            if key_ref.get("name") == name and text(key_ref.get("key")) not in ("", *keys):
                keys.append(text(key_ref.get("key")))
    return keys
