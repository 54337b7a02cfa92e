"""The bot in Matrix rooms, on matrix-nio: `!cluster <verb>` in, `m.notice` answers out.

One asyncio loop in a background thread long-polls `/sync` and answers commands, so the adapter
fits the synchronous `ChatAdapter` protocol (`start`, `stop`, `post`) that `serve` drives.

- No loops: the bot ignores its own events and every `m.notice` (the msgtype bots answer with).
- Rooms: with `MATRIX_ROOMS` set the bot joins those rooms at start, accepts invites only to
  them and ignores commands anywhere else; unset, it joins any room it is invited to.
- No double answers: the sync token is saved to a state file *before* a batch is handled, so a
  restart continues after the last batch seen (a crash mid-batch drops, never repeats, a
  command). With no saved token the first sync's timeline is skipped: a new bot does not answer
  the backlog. Encrypted rooms are not supported (no E2EE keys are kept).
- A homeserver restart or network loss ends the long poll; the loop retries with exponential
  backoff and carries on from the saved token.
- The weekly report comes through `post()`; its pictures are uploaded and shown as `m.image`.
- Remediation: the plans `fix` offers come one notice each, carrying the plan's id and signed
  token (matrix_format.py). A ✅ reaction to such a notice, or `!cluster confirm <id>`, runs the
  command `confirm <token>` as the reacting user, like a Slack click. The id is resolved from
  the bot's own recent messages in the room, not from memory, so any replica (or the bot after
  a restart) can confirm a plan another one posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    ReactionEvent,
    RoomGetEventResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.actions.tokens import is_token
from bot.chat.base import Image, Reply
from bot.chat.matrix_format import (
    CONFIRM_VERB,
    DEFAULT_LIMIT,
    PREFIX,
    TOKEN_KEY,
    command_text,
    image_content,
    is_confirm_key,
    notices,
    posted_token,
)
from bot.chat.worker import Answer
from bot.config import Settings

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 100
POST_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
FATAL_CODES = frozenset({"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_USER_DEACTIVATED"})
CONFIRM_USAGE = f"usage: {PREFIX} {CONFIRM_VERB} <id>"
# How far back `confirm <id>` looks for the plan among the bot's messages: a plan lives 15
# minutes (read-only ones a week), and the bot's messages are all that is read.
HISTORY_PAGES, HISTORY_PAGE = 5, 100


class MatrixError(Exception):
    """Matrix refused or could not be reached; the message says which and why."""


class _Fatal(MatrixError):
    """Retrying cannot help (wrong password, revoked token): the adapter stops."""


# What a lost connection looks like; nio raises these itself because of max_timeouts=0.
TRANSIENT = (MatrixError, ClientError, OSError, TimeoutError)


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user: str = ""
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    rooms: tuple[str, ...] = ()  # room ids or aliases; empty: any room the bot is invited to
    state_file: Path | None = None  # None: keep the sync token in memory only
    message_limit: int = DEFAULT_LIMIT
    answer_timeout: float = 8.0  # seconds a command may take before "cluster API unreachable"
    backoff_initial: float = 1.0
    backoff_max: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MatrixConfig:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        return cls(homeserver=settings.matrix_homeserver, user=settings.matrix_user,
                   password=secret(settings.matrix_password),
                   access_token=secret(settings.matrix_access_token),
                   rooms=tuple(settings.matrix_rooms), state_file=settings.matrix_state_file,
                   answer_timeout=settings.answer_timeout)


@dataclass
class SyncState:
    """What survives a restart: the sync token, and the device to log in as again."""

    path: Path | None
    user_id: str = ""
    device_id: str = ""
    next_batch: str = ""

    @classmethod
    def load(cls, path: Path | None) -> SyncState:
        state = cls(path)
        if path is None or not path.exists():
            return state
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            log.warning("matrix: ignoring unreadable state file %s: %s", path, error)
            return state
        return cls(path, saved.get("user_id", ""), saved.get("device_id", ""),
                   saved.get("next_batch", ""))

    def save(self) -> None:
        if self.path is None:
            return
        data = {"user_id": self.user_id, "device_id": self.device_id,
                "next_batch": self.next_batch}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(data))
            os.replace(partial, self.path)
        except OSError as error:
            log.warning("matrix: cannot save the sync token to %s: %s", self.path, error)


@dataclass
class _Backoff:
    initial: float
    maximum: float
    delay: float = field(init=False, default=0.0)

    def next(self) -> float:
        self.delay = min(self.maximum, self.delay * 2 if self.delay else self.initial)
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


class MatrixAdapter:
    """Serves `!cluster` commands in Matrix rooms from a background thread."""

    name = "matrix"

    def __init__(self, config: MatrixConfig, answer: Answer) -> None:
        self.config = config
        self.answer = answer
        self.state = SyncState.load(config.state_file)
        self.error: str | None = None  # why the adapter gave up, when it did
        self._ready = threading.Event()
        self._client: AsyncClient | None = None
        self._allowed: set[str] = set()
        self._rooms_joined = False
        self._backoff = _Backoff(config.backoff_initial, config.backoff_max)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    # --- the ChatAdapter protocol, called from other threads ---

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the Matrix adapter is already started")
        self.error = None
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(self._main())
        self._thread = threading.Thread(target=self._run_loop, name="matrix", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._loop is None or self._task is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has ended on its own (fatal error)
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(STOP_TIMEOUT)
        self._thread = None
        self._ready.clear()

    def post(self, destination: str, reply: Reply) -> None:
        """Send `reply` to a room (id or alias) the bot has joined; raises MatrixError."""
        if self._loop is None or not self._ready.is_set() or self.error:
            raise MatrixError("the Matrix adapter is not connected")
        future = asyncio.run_coroutine_threadsafe(self._post(destination, reply), self._loop)
        try:
            future.result(POST_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise MatrixError(f"posting to {destination} took over {POST_TIMEOUT:g} s") from None

    def wait_until_ready(self, timeout: float) -> bool:
        """True once logged in and past the first sync; False on timeout or a fatal error."""
        return self._ready.wait(timeout) and self.error is None

    # --- the loop ---

    def _run_loop(self) -> None:
        assert self._loop is not None and self._task is not None
        try:
            self._loop.run_until_complete(self._task)
        finally:
            self._loop.close()

    async def _main(self) -> None:
        try:
            await self._serve()
        except asyncio.CancelledError:
            pass
        except _Fatal as error:
            self.error = str(error)
            log.error("matrix: giving up: %s", error)
            self._ready.set()  # unblock waiters; `error` says why
        finally:
            if self._client is not None:
                await self._client.close()
                self._client = None

    async def _serve(self) -> None:
        while True:
            try:
                if self._client is None:
                    self._client = await self._login()
                if not self._rooms_joined:
                    await self._join_configured_rooms()
                await self._sync_once()
                self._backoff.reset()
            except _Fatal:
                raise
            except Exception as error:  # the homeserver is down, restarting or misbehaving
                delay = self._backoff.next()
                log.warning("matrix: %s; retrying in %.1fs", str(error) or type(error).__name__,
                            delay, exc_info=not isinstance(error, TRANSIENT))
                await asyncio.sleep(delay)

    async def _login(self) -> AsyncClient:
        client = AsyncClient(self.config.homeserver, self.config.user,
                             device_id=self.state.device_id or None,
                             config=AsyncClientConfig(max_timeouts=0, request_timeout=30))
        try:
            await self._authenticate(client)
        except BaseException:
            await client.close()
            raise
        if self.state.user_id != client.user_id:  # another account's token means nothing here
            self.state = SyncState(self.state.path, client.user_id)
        self.state.device_id = client.device_id or ""
        log.info("matrix: logged in as %s on %s", client.user_id, self.config.homeserver)
        return client

    async def _authenticate(self, client: AsyncClient) -> None:
        if self.config.access_token:
            client.access_token = self.config.access_token
            whoami = await client.whoami()
            if not isinstance(whoami, WhoamiResponse):
                raise _error("access token check", whoami)
            client.user_id, client.device_id = whoami.user_id, whoami.device_id
        elif self.config.password:
            login = await client.login(self.config.password, device_name="clusterbot")
            if not isinstance(login, LoginResponse):
                raise _error("login", login)
        else:
            raise _Fatal("set MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")

    async def _join_configured_rooms(self) -> None:
        client = self._connected()
        for room in self.config.rooms:
            room_id = await self._room_id(room)
            if room_id is None:
                log.warning("matrix: no room %s; it is left out", room)
                continue
            self._allowed.add(room_id)
            joined = await client.join(room_id)
            if isinstance(joined, ErrorResponse):
                log.info("matrix: not in %s yet (%s); waiting for an invite", room, joined)
        self._rooms_joined = True

    async def _room_id(self, room: str) -> str | None:
        if not room.startswith("#"):
            return room
        client = self._connected()
        resolved = await client.room_resolve_alias(room)
        return resolved.room_id if isinstance(resolved, RoomResolveAliasResponse) else None

    async def _sync_once(self) -> None:
        client = self._connected()
        first = not self.state.next_batch
        # No long poll before this run's first answer: a one-shot post waits for it, and a
        # token the homeserver never issued (restored from another server) would hang it.
        response = await client.sync(
            timeout=SYNC_TIMEOUT_MS if self._ready.is_set() else 0,
            since=self.state.next_batch or None,
            sync_filter={"room": {"timeline": {"limit": 1 if first else TIMELINE_LIMIT}},
                         "presence": {"types": []}})
        if not isinstance(response, SyncResponse):
            if response.status_code == "M_UNKNOWN_TOKEN" and self.config.password:
                await client.close()
                self._client = None
                raise MatrixError("the session was logged out; logging in again")
            raise _error("sync", response)
        self.state.next_batch = response.next_batch
        self.state.save()
        await self._handle_invites(list(response.rooms.invite))
        if not first:  # the first sync's timeline is the backlog: never answer it
            await self._handle_timelines(response)
        self._ready.set()

    # --- events ---

    def _allows(self, room_id: str) -> bool:
        return not self.config.rooms or room_id in self._allowed

    async def _handle_invites(self, room_ids: list[str]) -> None:
        client = self._connected()
        for room_id in room_ids:
            if self._allows(room_id):
                outcome: Any = await client.join(room_id)
            else:
                outcome = await client.room_leave(room_id)  # declines the invite
                log.info("matrix: declined an invite to %s (not in MATRIX_ROOMS)", room_id)
            if isinstance(outcome, ErrorResponse):
                log.warning("matrix: invite to %s: %s", room_id, outcome)

    async def _handle_timelines(self, response: SyncResponse) -> None:
        client = self._connected()
        for room_id, room in response.rooms.join.items():
            if not self._allows(room_id):
                continue
            for event in self._since_own_join(room.timeline.events):
                if getattr(event, "sender", None) == client.user_id:
                    continue
                try:
                    await self._handle_event(room_id, event)
                except MatrixError as error:
                    log.warning("matrix: %s", error)
                except Exception:  # one bad event must not stop the others
                    log.exception("matrix: handling %s in %s failed",
                                  getattr(event, "event_id", "?"), room_id)

    def _since_own_join(self, events: list[Any]) -> list[Any]:
        """The events after the bot joined, when it joined in this batch: the first sync of a
        newly joined room carries history from before, which nobody asked the bot about."""
        client = self._connected()
        for index in range(len(events) - 1, -1, -1):
            if _is_join_of(client.user_id, events[index].source):
                return events[index + 1:]
        return events

    async def _handle_event(self, room_id: str, event: Any) -> None:
        if isinstance(event, RoomMessageText):  # m.text only: m.notice never triggers
            await self._on_message(room_id, event)
        elif isinstance(event, ReactionEvent) and is_confirm_key(event.key):
            await self._on_confirm_reaction(room_id, event)

    async def _on_message(self, room_id: str, event: RoomMessageText) -> None:
        text = command_text(event.body)
        if text is None:
            return
        verb, *args = text.split() or ["help"]
        if verb.lower() == CONFIRM_VERB:
            reply = await self._confirm_typed(event.sender, args, room_id)
        else:
            reply = await self._answer(text, event.sender, room_id)
        await self._send(room_id, reply, in_reply_to=event.event_id)

    async def _answer(self, text: str, user_id: str, room_id: str) -> Reply:
        # Answers go out in order, so a command the cluster cannot answer must not hold the
        # room up: past the deadline the user hears why, and the late answer is dropped.
        work = asyncio.to_thread(self.answer, text, user_id, room_id)
        try:
            return await asyncio.wait_for(work, self.config.answer_timeout)
        except TimeoutError:
            log.warning("matrix: %r not answered within %.0f s", text,
                        self.config.answer_timeout)
            return Reply(text="cluster API unreachable: no answer from the cluster within "
                              f"{self.config.answer_timeout:g} s", error=True)

    async def _on_confirm_reaction(self, room_id: str, event: ReactionEvent) -> None:
        client = self._connected()
        target = await client.room_get_event(room_id, event.reacts_to)
        if not isinstance(target, RoomGetEventResponse):
            log.info("matrix: cannot read the event %s reacted to: %s", event.reacts_to, target)
            return
        source = target.event.source
        token = source.get("content", {}).get(TOKEN_KEY)
        if source.get("sender") != client.user_id or not token:
            return  # a ✅ on anything but one of our proposals is just a ✅
        reply = await self._answer(f"{CONFIRM_VERB} {token}", event.sender, room_id)
        await self._send(room_id, reply, in_reply_to=event.reacts_to)

    async def _confirm_typed(self, user_id: str, args: list[str], room_id: str) -> Reply:
        """`confirm <id>` (or a whole token): the plan the bot posted here, run as `user_id`."""
        if len(args) != 1:
            return Reply(text=CONFIRM_USAGE, error=True)
        try:
            token = args[0] if is_token(args[0]) else await self._posted_token(room_id, args[0])
        except MatrixError as error:
            return Reply(text=f"cannot look plan {args[0]} up: {error}", error=True)
        if token is None:
            return Reply(text=f"no plan {args[0]} among my recent messages in this room; ask "
                              f"`{PREFIX} fix <finding>` for a fresh one", error=True)
        return await self._answer(f"{CONFIRM_VERB} {token}", user_id, room_id)

    async def _posted_token(self, room_id: str, plan_id: str) -> str | None:
        """The token of plan `plan_id`, from the bot's own recent messages in the room."""
        client = self._connected()
        start = None
        only_ours = {"senders": [client.user_id], "types": ["m.room.message"]}
        for _ in range(HISTORY_PAGES):
            page = await client.room_messages(room_id, start=start, limit=HISTORY_PAGE,
                                              message_filter=only_ours)
            if not isinstance(page, RoomMessagesResponse):
                raise MatrixError(f"reading the history of {room_id}: {page}")
            token = posted_token((e.source.get("content", {}) for e in page.chunk), plan_id)
            if token is not None or not page.chunk or not page.end:
                return token
            start = page.end
        return None

    # --- sending ---

    async def _post(self, destination: str, reply: Reply) -> None:
        room_id = await self._room_id(destination)
        if room_id is None:
            raise MatrixError(f"no room {destination}")
        await self._send(room_id, reply)

    async def _send(self, room_id: str, reply: Reply, in_reply_to: str | None = None) -> None:
        contents = await asyncio.to_thread(notices, reply, self.config.message_limit)
        if in_reply_to:
            contents[0]["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
        for content in contents:
            await self._room_send(room_id, content)
        for image in reply.images:
            await self._room_send(room_id, image_content(image, await self._upload(image)))

    async def _room_send(self, room_id: str, content: dict[str, Any]) -> None:
        client = self._connected()
        try:
            sent = await client.room_send(room_id, "m.room.message", content)
        except TRANSIENT as error:
            raise MatrixError(f"sending to {room_id}: {error or type(error).__name__}") \
                from error
        if isinstance(sent, ErrorResponse):
            raise MatrixError(f"sending to {room_id}: {sent}")

    async def _upload(self, image: Image) -> str:
        """The mxc:// URI of `image` in the homeserver's media repository."""
        uploaded, _ = await self._connected().upload(
            io.BytesIO(image.png), content_type="image/png", filename=image.filename,
            filesize=len(image.png))
        if not isinstance(uploaded, UploadResponse):
            raise MatrixError(f"uploading {image.filename}: {uploaded}")
        return str(uploaded.content_uri)

    def _connected(self) -> AsyncClient:
        if self._client is None:
            raise MatrixError("not connected to the homeserver")
        return self._client


def _is_join_of(user_id: str, event: dict[str, Any]) -> bool:
    """A join, not a profile change (which is a membership event of a member too)."""
    before = event.get("unsigned", {}).get("prev_content", {}).get("membership")
    return (event.get("type") == "m.room.member" and event.get("state_key") == user_id
            and event.get("content", {}).get("membership") == "join" and before != "join")


def _error(what: str, response: ErrorResponse) -> MatrixError:
    kind = _Fatal if response.status_code in FATAL_CODES else MatrixError
    return kind(f"{what} failed: {response.status_code or ''} {response.message}".strip())
