"""Shared parts of cached objects: equal parts and strings are held once, in any order,
different ones stay apart, the objects read exactly as parsed, and what only objects gone
used is forgotten."""

from __future__ import annotations

from bot.cluster.sharing import Sharer


def _pod(name: str, image: str = "nginx:1.27", ready: bool = True) -> dict:
    namespace = "-".join(("web", "shop"))  # a new string each time, as parsing makes them
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f"}]},
            "spec": {"containers": [{"name": "web", "image": image}],
                     "volumes": [{"name": "data"}, {"name": f"token-{name}"}]},
            "status": {"conditions": [{"type": "Ready", "status": str(ready)}]}}


def test_equal_parts_are_held_once_and_different_ones_apart() -> None:
    sharer = Sharer()
    a, b = sharer.share(_pod("web-1")), sharer.share(_pod("web-2"))
    c = sharer.share(_pod("web-3", image="nginx:1.28", ready=False))

    assert a["spec"]["containers"] is b["spec"]["containers"]
    assert a["status"]["conditions"] is b["status"]["conditions"]
    assert a["metadata"]["ownerReferences"] is c["metadata"]["ownerReferences"]
    assert a["metadata"]["labels"] is c["metadata"]["labels"]
    assert a["metadata"]["namespace"] is c["metadata"]["namespace"]  # strings too
    assert a["spec"]["containers"] is not c["spec"]["containers"]
    # Lists that differ still share their equal elements.
    assert a["spec"]["volumes"] is not b["spec"]["volumes"]
    assert a["spec"]["volumes"][0] is b["spec"]["volumes"][0]
    assert [a, b, c] == [_pod("web-1"), _pod("web-2"), _pod("web-3", "nginx:1.28", False)]


def test_siblings_share_in_any_order() -> None:
    sharer = Sharer()
    first = sharer.share(_pod("web-1"))
    for i in range(100):  # many other workloads in between, as watch events come
        sharer.share(_pod(f"other-{i}", image=f"other:{i}"))
    again = sharer.share(_pod("web-2"))
    assert again["spec"]["containers"] is first["spec"]["containers"]


def test_parts_of_objects_gone_are_forgotten() -> None:
    sharer = Sharer()
    kept = sharer.share(_pod("kept", image="kept:1"))
    for i in range(20_000):  # churn: objects come and go, each with parts of its own
        sharer.share(_pod(f"gone-{i}", image=f"img:{i}"))
    assert len(sharer) < 10_000  # pruned on the way, not the 80,000 parts seen
    again = sharer.share(_pod("kept-too", image="kept:1"))
    assert again["spec"]["containers"] is kept["spec"]["containers"]
