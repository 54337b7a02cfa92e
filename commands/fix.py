"""`/cluster fix <finding>`: the fixes a finding offers, each a plan to confirm or run.

The finding is named as `issues` lists it: by number (`fix 8`), by check code and subject
(`fix JOB-FAILED databases/test-data-load`), or by subject alone (`fix test-data-load`).
Each plan says what it will do (the dry run), what to type instead, and its id for `confirm`;
the plans ride along in the reply's options so an adapter can draw them as buttons.
"""

from __future__ import annotations

from bot.actions.models import ActionPlan
from bot.analyzers.base import CATALOGUE
from bot.chat.base import Reply, Request
from bot.models import ObjectRef
from bot.report.model import Issue
from commands.base import Command, Context, UsageError

USAGE = "fix <number | CODE [subject] | subject>"
SHOWN_MATCHES = 6


def run(ctx: Context, request: Request) -> Reply:
    if not request.args:
        raise UsageError(f"which finding? usage: {USAGE} (numbers as `issues` lists them)")
    remediation = ctx.actions()
    issue = find_issue(ctx.report().issues, request.args)
    plans, skipped = remediation.planner.plans_for(issue.finding, request.user)
    text = "\n".join([f"#{issue.number} {issue.finding.headline} ({issue.finding.code})",
                      *_plan_lines(plans), *(f"Not offered: {why}" for why in skipped),
                      *([] if plans or skipped else ["It offers no fix to run; what to do: "
                                                     + issue.finding.recommendation]),
                      remediation.note()])
    return Reply(text=text, options={"plans": tuple(plans), "finding": issue.finding})


def find_issue(issues: tuple[Issue, ...], words: tuple[str, ...]) -> Issue:
    """The one finding the words name; a usage error listing candidates otherwise."""
    if len(words) == 1 and words[0].isdigit():
        found = [i for i in issues if i.number == int(words[0])]
        if not found:
            raise UsageError(f"there is no finding #{words[0]}: `issues` lists {len(issues)}")
        return found[0]
    code = words[0].upper() if words[0].upper() in CATALOGUE else ""
    subject = words[1:] if code else words
    if len(subject) > 1:
        raise UsageError(f"too many words; usage: {USAGE}")
    matches = [i for i in issues if (not code or i.finding.code == code)
               and (not subject or _names(i.finding.subject, subject[0]))]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no finding matches {' '.join(words)!r}; `issues` lists them with "
                         "their numbers")
    listed = "; ".join(f"#{i.number} {i.finding.headline}" for i in matches[:SHOWN_MATCHES])
    raise UsageError(f"{len(matches)} findings match {' '.join(words)!r}: {listed}. Pick one "
                     "by number.")


def _names(subject: ObjectRef, text: str) -> bool:
    """`name`, `namespace/name`, `kind/name` or `kind/namespace/name`, any case."""
    kind, ns, name = subject.kind.lower(), subject.namespace.lower(), subject.name.lower()
    return text.lower() in {name, f"{ns}/{name}", f"{kind}/{name}", f"{kind}/{ns}/{name}"}


def _plan_lines(plans: list[ActionPlan]) -> list[str]:
    lines = []
    for number, plan in enumerate(plans, start=1):
        kind = "changes the cluster, needs confirmation" if plan.mutating else "read-only"
        until = f" (until {plan.expires_at:%H:%M} UTC)" if plan.mutating else ""
        lines += [f"{number}. {plan.label} · plan {plan.id} · {kind}",
                  f"   {'Dry run' if plan.mutating else 'Shows'}: {plan.description}",
                  f"   By hand: {plan.command}",
                  f"   Run it: confirm {plan.id}{until}"]
        if plan.blocked:
            lines.append(f"   Will be refused: {plan.blocked}")
    return lines


COMMAND = Command("fix", "The fixes a finding offers, with their dry run and plan id", USAGE,
                  run)
