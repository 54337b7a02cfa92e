"""Block Kit for remediation: a finding's plans as buttons, and what a click on one came to.

Mutating plans are red (`danger`) buttons behind Slack's confirm dialog, which names the exact
objects; read-only ones (logs, describe) answer a plain click. A button's `value` is the plan's
signed token, so whichever replica receives the click can verify and run it; its `action_id`
carries the plan id, unique in the message, which finds the button again after the click.
After a click the message is updated in place (`after_click`): a line under the buttons says
who did what and how it went, and the button of a plan that has run (or never can) goes away.
The details go to the message's thread (`thread_reply`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.actions.models import ActionPlan, Outcome, Result
from bot.models import ObjectRef
from bot.report.blocks import (
    MAX_BLOCKS,
    SECTION_CHARS,
    Block,
    IssueActions,
    Message,
    escape,
    text_message,
)

ACTION_PREFIX = "clusterbot-plan-"  # + plan id: the action_id of a plan's button
OUTCOME_PREFIX = "clusterbot-outcome-"  # + plan id: the block_id of its outcome line
BUTTONS_PER_BLOCK = 25  # Slack's limit on an actions block's elements
BUTTON_CHARS, TITLE_CHARS, DIALOG_CHARS, CHOICE_CHARS = 75, 100, 300, 30
# Outcomes after which a plan's button can do nothing more: it ran (a claim now stands in the
# cluster), another click ran it, or its time is up. A refusal, a dry run or a tampered click
# leaves the button for someone allowed, or for the real thing.
SPENT = frozenset({Result.DONE, Result.PARTIAL, Result.NO_CHANGE, Result.ALREADY_DONE,
                   Result.EXPIRED})


def _plain(text: str, limit: int) -> dict[str, str]:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[:limit - 1] + "…"}


def plan_blocks(plans: Sequence[ActionPlan]) -> list[Block]:
    """Actions blocks holding one button per plan."""
    return [{"type": "actions",
             "elements": [_button(p) for p in plans[start:start + BUTTONS_PER_BLOCK]]}
            for start in range(0, len(plans), BUTTONS_PER_BLOCK)]


def issue_buttons(plans: Mapping[int, Sequence[ActionPlan]] | None) -> IssueActions | None:
    """The `render_blocks(actions=...)` seam for the plans `issues` made, by issue number."""
    if not plans:
        return None
    return lambda issue: plan_blocks(plans.get(issue.number, ()))


def with_plans(message: Message, plans: Sequence[ActionPlan]) -> Message:
    """A message with its plans' buttons after its blocks, as many as Slack's limit leaves."""
    room = MAX_BLOCKS - len(message.blocks)
    added = plan_blocks(plans)
    return Message(message.text, (*message.blocks, *added[:room]), message.complete)


def _button(plan: ActionPlan) -> Block:
    button: Block = {"type": "button", "action_id": ACTION_PREFIX + plan.id,
                     "text": _plain(plan.label, BUTTON_CHARS), "value": plan.token}
    if plan.mutating:
        button |= {"style": "danger", "confirm": {
            "title": _plain(plan.title, TITLE_CHARS),
            "text": {"type": "mrkdwn", "text": dialog_text(plan)},
            "confirm": _plain(plan.title.rstrip("?"), CHOICE_CHARS),
            "deny": _plain("Cancel", CHOICE_CHARS), "style": "danger"}}
    return button


def dialog_text(plan: ActionPlan) -> str:
    """What the confirm dialog says: the exact objects, within its 300 characters."""
    warning = f"⚠️ It will be refused: {escape(plan.blocked)}\n" if plan.blocked else ""
    closing = f"\nOnly these exact objects; the plan expires at {plan.expires_at:%H:%M} UTC."
    room = DIALOG_CHARS - len(warning) - len(closing)
    if room < 0:  # a long refusal: it alone matters
        return warning[:DIALOG_CHARS - 1] + "…"
    return warning + _objects(plan.targets, room) + closing


def _objects(targets: Sequence[ObjectRef], room: int) -> str:
    """`Pod ns/a, Pod ns/b, …and 3 more` within `room` characters."""
    text = ""
    for shown, target in enumerate(targets):
        rest = len(targets) - shown - 1
        candidate = (f"{text}, " if text else "") + escape(target)
        more = f", …and {rest} more" if rest else ""
        if len(candidate) + len(more) > room:
            return (text or "…") + f", …and {len(targets) - shown} more"
        text = candidate
    return text


# -- after a click ---------------------------------------------------------------------------


def spent(outcome: Outcome) -> bool:
    """True when the plan's button can do nothing more; a failed run has used its claim."""
    return outcome.result in SPENT or (outcome.result is Result.FAILED and bool(outcome.objects))


def outcome_line(outcome: Outcome, user: str) -> str:
    """Who did what and how it went, for the message that offered the plan."""
    headline = outcome.headline
    if outcome.actor is not None:
        headline = headline.removesuffix(f" — by {outcome.actor}")
    return f"{escape(headline)} — <@{escape(user)}> · details in the thread"


def after_click(blocks: Sequence[Block], action_id: str, line: str, *, remove: bool
                ) -> list[Block]:
    """The message's blocks with `line` under the clicked button (replacing an earlier line
    about the same plan), and the button gone when `remove`."""
    line_id = OUTCOME_PREFIX + action_id.removeprefix(ACTION_PREFIX)
    said: Block = {"type": "context", "block_id": line_id,
                   "elements": [{"type": "mrkdwn", "text": line[:SECTION_CHARS]}]}
    updated: list[Block] = []
    placed = False
    for block in blocks:
        if block.get("block_id") == line_id:
            continue
        elements = (block.get("elements") or []) if block.get("type") == "actions" else []
        clicked = any(e.get("action_id") == action_id for e in elements)
        kept = [e for e in elements if not (remove and e.get("action_id") == action_id)]
        if not clicked or kept:
            updated.append({**block, "elements": kept} if clicked else block)
        if clicked:
            updated.append(said)
            placed = True
    if not placed:
        updated.append(said)
    return updated if len(updated) <= MAX_BLOCKS else [b for b in updated if b is not said]


def thread_reply(outcome: Outcome) -> tuple[Message, str]:
    """The thread reply's message, and the details as a file's text when they are too long
    for it (logs, a long list of objects); "" when they fit."""
    details = "\n".join(outcome.details)
    if len(details) <= SECTION_CHARS - 10:
        return text_message(outcome.text), ""
    return text_message(f"{outcome.headline} (the full output is in the attached file)"), details
