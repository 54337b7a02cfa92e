"""What every action shares: its declaration, the wording of objects, and API errors in words.

An `ActionSpec` says which kinds an action accepts and how it describes itself before it runs
(the dry run, the kubectl equivalent, a dialog title); mutating ones also say how they run.
An API error on one object becomes that object's result, worded for a person: 404 "already
gone", 409 on a uid precondition "recreated since the proposal", 403 "not allowed (RBAC)".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.actions.kubeapi import RemediationAPI
from bot.actions.models import Effect, ObjectResult, Result
from bot.cluster.client import KubeError
from bot.cluster.kinds import kind_for
from bot.cluster.source import SourceError
from bot.models import ActionRequest, ObjectRef

Targets = tuple[ObjectRef, ...]
Execute = Callable[[RemediationAPI, ActionRequest, datetime], list[ObjectResult]]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    verb: str  # what it does to each object: "delete", "restart", "show the logs of"
    kinds: frozenset[str] | None  # None: any kind
    title: Callable[[Targets], str]  # a confirm dialog's title: "Delete 4 pods?"
    describe: Callable[[ActionRequest], str]  # the dry run, in words
    command: Callable[[Targets], str]  # what a person would type instead
    execute: Execute | None = None  # None: a read-only helper (readonly.py runs it)

    @property
    def mutating(self) -> bool:
        return self.execute is not None

    def accepts(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def by_namespace(targets: Iterable[ObjectRef]) -> dict[str, list[str]]:
    """Object names grouped by namespace, in plan order."""
    grouped: dict[str, list[str]] = {}
    for target in targets:
        grouped.setdefault(target.namespace, []).append(target.name)
    return grouped


def listing(targets: Targets) -> str:
    """`ns: a, b, c` (several namespaces separated by `; `)."""
    return "; ".join(f"{ns}: {', '.join(names)}" for ns, names in by_namespace(targets).items())


def kubectl_per_namespace(verb: str, targets: Targets, suffix: str = "") -> str:
    """`kubectl delete pod -n ns a b` once per namespace."""
    return "; ".join(f"kubectl {verb} -n {ns} {' '.join(names)}{suffix}"
                     for ns, names in by_namespace(targets).items())


def resource_plural(kind: str) -> str:
    info = kind_for(kind)
    return info.key if info else f"{kind.lower()}s"


def delete_exactly(api: RemediationAPI, target: ObjectRef,
                   propagation: str | None = None) -> ObjectResult:
    """Delete this instance of the object, and say what happened."""
    try:
        api.delete(target, propagation)
    except (KubeError, SourceError) as error:
        return failure(error, target, "delete", "nothing deleted")
    return ObjectResult(target, Effect.DONE, f"deleted {target}")


def failure(error: Exception, target: ObjectRef, verb: str, untouched: str) -> ObjectResult:
    """One object's API error in words; `untouched` says what was left undone."""
    if not isinstance(error, KubeError):
        return ObjectResult(target, Effect.FAILED, f"could not {verb} {target}: {error}")
    if error.status == 404:
        return ObjectResult(target, Effect.GONE, f"{target} was already gone")
    if error.status == 409 and "precondition" in error.message.lower():
        return recreated(target, untouched)
    if error.status == 403:
        return ObjectResult(target, Effect.FORBIDDEN,
                            f"clusterbot is not allowed to {verb} {resource_plural(target.kind)} "
                            f"in {target.namespace} (RBAC); {untouched}")
    return ObjectResult(target, Effect.FAILED, f"could not {verb} {target}: {error}")


def recreated(target: ObjectRef, untouched: str) -> ObjectResult:
    return ObjectResult(target, Effect.RECREATED,
                        f"{target} was recreated since the proposal; {untouched}")


def overall(results: Iterable[ObjectResult]) -> Result:
    """The result of a run from its objects' results."""
    effects = [r.effect for r in results]
    done = effects.count(Effect.DONE)
    if done:
        return Result.DONE if done == len(effects) else Result.PARTIAL
    if any(e in (Effect.FORBIDDEN, Effect.FAILED) for e in effects):
        return Result.FAILED
    return Result.NO_CHANGE
