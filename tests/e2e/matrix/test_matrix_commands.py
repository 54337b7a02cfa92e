"""Alice asks the bot in a Matrix room, through a real Synapse, and reads what comes back."""

from __future__ import annotations

import struct
import zlib

import pytest

from bot.chat.base import Image, Reply
from bot.chat.matrix import MatrixAdapter
from bot.chat.matrix_format import PREFIX
from bot.report.render import render
from commands import Context
from tests.e2e.matrix.bots import Bots
from tests.e2e.matrix.chat_user import ChatUser, Event, in_reply_to

LIMIT = 16_000  # small enough that the demo cluster's `issues` and `report` are split


@pytest.fixture(scope="module", autouse=True)
def bot(module_bots: Bots, room: str, human: ChatUser) -> MatrixAdapter:
    return module_bots.serve(room, human, message_limit=LIMIT)


def green_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    pixels = b"".join(b"\x00" + b"\x00\xff\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels))
            + chunk(b"IEND", b""))


def contents(answers: list[Event]) -> list[dict[str, object]]:
    return [a["content"] for a in answers]


@pytest.mark.parametrize(("verb", "sign"), [
    ("health", "Overall Health"), ("nodes", "<table>"), ("storage", "longhorn"),
    ("issues", "ErrImageNeverPull"), ("report", "Executive Summary")])
def test_a_report_command_is_answered_in_text_and_html_from_the_same_view(
        verb: str, sign: str, human: ChatUser, room: str, bot_id: str,
        demo_context: Context) -> None:
    command = human.say(room, f"{PREFIX} {verb}")
    answers = human.answers_to(room, command, bot_id)

    assert answers and in_reply_to(answers[0]) == command
    parts = contents(answers)
    assert {(p["msgtype"], p["format"]) for p in parts} == {
        ("m.notice", "org.matrix.custom.html")}
    report = demo_context.report()
    html = "".join(str(p["formatted_body"]) for p in parts)
    assert html == render(verb, report, "html", prefix=PREFIX)
    assert sign in html
    plain = "markdown" if len(parts) > 1 else "text"
    assert "".join(str(p["body"]) for p in parts) == render(verb, report, plain, prefix=PREFIX)


def test_the_weekly_report_is_posted_with_its_chart(
        bot: MatrixAdapter, human: ChatUser, room: str, bot_id: str,
        demo_context: Context) -> None:
    chart = green_png(64, 32)
    weekly = Reply(view="report", report=demo_context.report(),
                   images=(Image("clusterbot-week.png", "This week", chart),))

    bot.post(room, weekly)

    picture = human.wait_for(room, lambda e: e["content"].get("msgtype") == "m.image")
    content = picture["content"]
    assert content["body"] == "This week" and content["filename"] == "clusterbot-week.png"
    assert (content["info"]["w"], content["info"]["h"]) == (64, 32)
    assert human.download(content["url"]) == chart
    timeline = human.timeline(room)
    report_parts = [e for e in timeline[:timeline.index(picture)] if e["sender"] == bot_id
                    and "Executive Summary" in str(e["content"].get("body", ""))]
    assert report_parts, "the report itself comes before its chart"


def test_a_long_report_comes_in_several_messages_each_within_the_limit(
        human: ChatUser, room: str, bot_id: str) -> None:
    parts = contents(human.ask(room, f"{PREFIX} report", bot_id))

    assert len(parts) > 1
    for part in parts:
        assert len(str(part["body"]).encode()) + len(str(part["formatted_body"]).encode()) <= LIMIT
        assert str(part["body"]).startswith("#")  # each part begins at a section heading
    text = "".join(str(p["body"]) for p in parts)
    assert text.index("Executive Summary") < text.index("Issues & Recommendations")


@pytest.mark.parametrize("asked", ["help", ""])
def test_help_lists_the_matrix_commands(asked: str, human: ChatUser, room: str,
                                        bot_id: str) -> None:
    [answer] = contents(human.ask(room, f"{PREFIX} {asked}".strip(), bot_id))

    assert answer["msgtype"] == "m.notice"
    for verb in ("health", "nodes", "storage", "issues", "report"):
        assert f"{PREFIX} {verb}" in str(answer["body"])


def test_checks_lists_the_catalogue(human: ChatUser, room: str, bot_id: str) -> None:
    [answer] = contents(human.ask(room, f"{PREFIX} checks", bot_id))

    assert "POD-CRASHLOOP" in str(answer["body"])


def test_an_unknown_command_gets_the_closest_match(human: ChatUser, room: str,
                                                  bot_id: str) -> None:
    [answer] = contents(human.ask(room, f"{PREFIX} nodez", bot_id))

    assert str(answer["body"]).startswith("unknown command `nodez`, did you mean `nodes`?")
    assert f"{PREFIX} health" in str(answer["body"])


def test_a_bad_argument_gets_one_short_line(human: ChatUser, room: str, bot_id: str) -> None:
    [answer] = contents(human.ask(room, f"{PREFIX} issues no-such-namespace", bot_id))

    body = str(answer["body"])
    assert body.startswith("no namespace 'no-such-namespace'") and "\n" not in body.strip()


def test_fixes_are_refused_plainly_where_remediation_is_not_set_up(
        human: ChatUser, room: str, bot_id: str) -> None:
    [answer] = contents(human.ask(room, f"{PREFIX} fix 8", bot_id))

    assert str(answer["body"]).startswith("fixes are not available here")


@pytest.mark.parametrize(("body", "msgtype"), [
    (f"{PREFIX} health", "m.notice"),      # what bots say: answering it could loop
    (f"hey, {PREFIX} health?", "m.text"),  # not a command
    (f"{PREFIX}health", "m.text"),
])
def test_notices_and_chatter_are_not_answered(body: str, msgtype: str, human: ChatUser,
                                              room: str, bot_id: str) -> None:
    assert human.ask(room, body, bot_id, msgtype=msgtype) == []


def test_the_bot_ignores_its_own_account(human: ChatUser, bot_elsewhere: ChatUser, room: str,
                                         bot_id: str) -> None:
    command = bot_elsewhere.say(room, f"{PREFIX} health")

    assert human.answers_to(room, command, bot_id) == []


def test_an_invite_to_a_room_outside_matrix_rooms_is_declined(
        human: ChatUser, bot_id: str) -> None:
    elsewhere = human.create_room(invite=(bot_id,))

    human.wait_for_membership(elsewhere, bot_id, "leave")


def test_a_room_outside_matrix_rooms_is_not_answered_even_when_the_bot_is_in_it(
        human: ChatUser, bot_elsewhere: ChatUser, room: str, bot_id: str) -> None:
    elsewhere = bot_elsewhere.create_room(invite=(human.user_id,))  # the bot's account is in it
    human.join(elsewhere)
    command = human.say(elsewhere, f"{PREFIX} health")
    # Two questions in the allowed room: the second is fetched after the bot finished the sync
    # batch that held `command`, so by its answer the bot has had its chance to answer it.
    human.ask(room, f"{PREFIX} help", bot_id)
    human.ask(room, f"{PREFIX} help", bot_id)

    timeline = human.timeline(elsewhere)
    after = timeline[[e["event_id"] for e in timeline].index(command) + 1:]
    assert [e for e in after if e["sender"] == bot_id] == []
