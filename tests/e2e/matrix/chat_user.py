"""A Matrix user the tests drive with matrix-nio: creates rooms, talks, reacts, reads the timeline.

Synchronous on purpose (each call runs the client's own event loop to completion), so tests read
like a conversation. Every wait is bounded; a timeout fails the test with what was seen.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from tests.e2e.matrix.homeserver import Account

WAIT = 30.0  # long enough for a homeserver restart plus the bot's backoff
POLL_MS = 500
PROBE = "!cluster help"
T = TypeVar("T")
Event = dict[str, Any]


def in_reply_to(event: Event) -> str | None:
    relation = event.get("content", {}).get("m.relates_to", {})
    return relation.get("m.in_reply_to", {}).get("event_id")


class ChatUser:
    def __init__(self, homeserver: str, account: Account) -> None:
        self.user_id = account.user_id
        self._homeserver, self._token = homeserver, account.access_token
        self._loop = asyncio.new_event_loop()
        self._client = AsyncClient(homeserver, account.user_id,
                                   config=AsyncClientConfig(max_timeouts=5, request_timeout=20))
        self._client.access_token = account.access_token
        self._client.user_id = account.user_id
        self._timelines: dict[str, list[Event]] = {}
        self._run(self._sync(0))

    def close(self) -> None:
        self._run(self._client.close())
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = WAIT) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    async def _sync(self, timeout_ms: int) -> None:
        response = await self._client.sync(
            timeout=timeout_ms, sync_filter={"room": {"timeline": {"limit": 1000}}})
        if not isinstance(response, SyncResponse):
            raise AssertionError(f"sync failed: {response}")
        for room_id, room in response.rooms.join.items():
            self._timelines.setdefault(room_id, []).extend(e.source for e in room.timeline.events)

    def create_room(self, invite: tuple[str, ...] = ()) -> str:
        created = self._run(self._client.room_create(invite=list(invite),
                                                     preset=RoomPreset.private_chat))
        assert isinstance(created, RoomCreateResponse), created
        return str(created.room_id)

    def join(self, room_id: str) -> None:
        joined = self._run(self._client.join(room_id))
        assert not hasattr(joined, "status_code"), joined

    def invite(self, room_id: str, user_id: str) -> None:
        invited = self._run(self._client.room_invite(room_id, user_id))
        assert not hasattr(invited, "status_code"), invited

    def say(self, room_id: str, body: str, msgtype: str = "m.text") -> str:
        return self._send(room_id, "m.room.message", {"msgtype": msgtype, "body": body})

    def react(self, room_id: str, event_id: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return self._send(room_id, "m.reaction", {"m.relates_to": relation})

    def _send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        sent = self._run(self._client.room_send(room_id, event_type, content))
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    def ask(self, room_id: str, body: str, bot_id: str, msgtype: str = "m.text") -> list[Event]:
        """Say `body` and return every message the bot sends in answer (none when ignored)."""
        return self.answers_to(room_id, self.say(room_id, body, msgtype), bot_id)

    def answers_to(self, room_id: str, event_id: str, bot_id: str) -> list[Event]:
        """The bot's messages after `event_id`, up to its answer to a probe sent now.

        The bot answers a room's events in order, so all it says about `event_id` (several
        parts of a split answer, or nothing at all) comes before the probe's answer.
        """
        probe = self.say(room_id, PROBE)
        probe_answer = self.wait_for(room_id, lambda e: in_reply_to(e) == probe)
        timeline = self.timeline(room_id)
        ids = [e["event_id"] for e in timeline]
        start, end = ids.index(event_id), ids.index(probe_answer["event_id"])
        return [e for e in timeline[start + 1:end]
                if e["sender"] == bot_id and e["type"] == "m.room.message"]

    def timeline(self, room_id: str) -> list[Event]:
        return list(self._timelines.get(room_id, []))

    def wait_for(self, room_id: str, matches: Callable[[Event], bool],
                 timeout: float = WAIT) -> Event:
        """The first event in the room's timeline that `matches`, syncing until it arrives."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.timeline(room_id) if matches(e)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event in {room_id} within {timeout:.0f}s; "
                                     f"last events: {self.timeline(room_id)[-5:]}")
            try:
                self._run(self._sync(POLL_MS))
            except (ClientError, OSError, TimeoutError, AssertionError):
                time.sleep(0.2)  # the homeserver is restarting: keep polling until the deadline

    def download(self, mxc: str) -> bytes:
        """A file from the media repository (authenticated, as Synapse requires for new media)."""
        server_and_id = mxc.removeprefix("mxc://")
        request = urllib.request.Request(
            f"{self._homeserver}/_matrix/client/v1/media/download/{server_and_id}",
            headers={"Authorization": f"Bearer {self._token}"})
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return bytes(response.read())

    def membership(self, room_id: str, user_id: str) -> str:
        state = self._run(self._client.room_get_state_event(room_id, "m.room.member", user_id))
        assert isinstance(state, RoomGetStateEventResponse), state
        return str(state.content.get("membership", ""))

    def wait_for_membership(self, room_id: str, user_id: str, membership: str,
                            timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while (current := self.membership(room_id, user_id)) != membership:
            if time.monotonic() > deadline:
                raise AssertionError(f"{user_id} is {current!r} in {room_id}, not {membership!r}")
            time.sleep(0.1)
