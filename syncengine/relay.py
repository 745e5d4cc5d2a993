"""The relay: one subscription per web process, fanned out to its streams.

Workers publish every stored batch (see ``syncengine.publish``). Each web
process keeps one :class:`Hub` on its event loop, holding a single Redis
subscription (or a local one in embedded mode), and hands each message to
the open streams that watch its calendar. Frames are encoded once and
shared by every stream.

Batches are delivered in cursor order. Cursors are handed out in commit
order, so a batch that arrives early waits for the ones before it; if they
do not come (a lost message, a restarted Redis, a worker killed between
commit and publish) the hub reads them from the database. ``watermark`` is
the cursor up to which everything has been delivered, which is what lets a
stream that subscribes replay ``(Last-Event-ID, watermark]`` from the
database and take the rest live, with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis
import redis.asyncio
from django.conf import settings

from chronos.db import pooled
from syncengine import publish
from syncengine.changes import Change, changes_between

logger = logging.getLogger(__name__)

# How long a batch that arrived ahead of its predecessors waits for them
# before they are read from the database.
GAP_WAIT_SECONDS = 0.25
# Even with no message at all, look this often for batches that committed
# but were never announced.
POLL_SECONDS = 5.0
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
# A stream further behind than this is ended; its client reconnects and
# replays from the database instead of the process holding its backlog.
MAX_QUEUED_MESSAGES = 1000
# Keep-alive rounds per SSE_KEEPALIVE_SECONDS.
KEEPALIVE_ROUNDS = 4


@dataclass(eq=False)
class Message:
    kind: str
    calendar_id: int
    cursor: int
    # Bytes as they came from Redis: a batch of megabytes is never decoded.
    data: str | bytes
    count: int = 0

    @cached_property
    def frame(self) -> bytes:
        # Only batches carry an id: a status's cursor is a watermark, and a
        # client's Last-Event-ID must never move backwards.
        event_id = self.cursor if self.kind == "events" else None
        return sse_frame(self.kind, self.data, event_id)

    @cached_property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value

    @classmethod
    def parse(cls, raw: str | bytes) -> Message:
        if isinstance(raw, str):
            raw = raw.encode()
        header, _, data = raw.partition(b"\n")
        kind, calendar_id, cursor, count = header.decode().split(" ")
        return cls(kind, int(calendar_id), int(cursor), data, int(count))

    @classmethod
    def from_change(cls, change: Change) -> Message:
        return cls(
            change.kind, change.calendar_id, change.cursor, change.data, change.count
        )


def sse_frame(event: str, data: str | bytes, event_id: int | None = None) -> bytes:
    head = f"event: {event}\n"
    if event_id is not None:
        head += f"id: {event_id}\n"
    # JSON never holds a raw newline, so the data is always one line.
    body = data if isinstance(data, bytes) else data.encode()
    return b"".join((head.encode(), b"data: ", body, b"\n\n"))


class StreamOverflow(Exception):
    """The stream fell too far behind and must reconnect."""


@dataclass(eq=False)
class Subscription:
    """What one open stream receives: messages for its calendars.

    A None in the queue asks the stream for a keep-alive: the hub queues it
    for streams that had nothing for a while, so waiting for the next
    message costs no timer per stream and message.
    """

    calendar_ids: frozenset[int]
    start: int
    queue: asyncio.Queue[Message | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    # Whether anything was queued since the hub's last keep-alive round,
    # and how many rounds in a row found nothing queued.
    active: bool = False
    idle_rounds: int = 0

    def push(self, message: Message) -> None:
        self.active = True
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            self.overflowed = True
            return
        self.queue.put_nowait(message)

    def keep_alive_round(self) -> None:
        """Ask for a keep-alive once a whole interval passed in silence.

        With rounds a quarter of an interval apart, an idle stream hears
        from the server every 1 to 1.25 intervals.
        """
        self.idle_rounds = 0 if self.active else self.idle_rounds + 1
        self.active = False
        if self.idle_rounds < KEEPALIVE_ROUNDS:
            return
        self.idle_rounds = 0
        if self.queue.empty():
            self.queue.put_nowait(None)

    async def next(self, timeout: float | None = None) -> Message | None:
        """The next message, or None for a keep-alive.

        With ``timeout``, None also when it passes without a message.
        """
        if self.overflowed:
            raise StreamOverflow
        if not self.queue.empty():
            return self.queue.get_nowait()
        if timeout is None:
            return await self.queue.get()
        # A timeout scope costs one timer; wait_for would add a task.
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None


class Hub:
    """Per-process fan-out of published changes to subscriptions."""

    def __init__(self) -> None:
        self.watermark = 0
        self._pending: dict[int, Message] = {}
        self._held: list[Message] = []
        self._by_calendar: dict[int, set[Subscription]] = defaultdict(set)
        self._subscriptions: set[Subscription] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._gap_task: asyncio.Task[None] | None = None
        self._unsubscribe_local: Any = None

    async def start(self) -> None:
        self.watermark = await pooled(publish.committed_cursor)()
        if settings.DISTRIBUTED:
            self._tasks.append(asyncio.create_task(self._listen_redis()))
        else:
            loop = asyncio.get_running_loop()

            def from_worker_thread(raw: str) -> None:
                loop.call_soon_threadsafe(self.receive, raw)

            self._unsubscribe_local = publish.local_broker.subscribe(from_worker_thread)
        self._tasks.append(asyncio.create_task(self._poll()))
        self._tasks.append(asyncio.create_task(self._keep_alive()))

    async def stop(self) -> None:
        if self._unsubscribe_local is not None:
            self._unsubscribe_local()
        tasks = [*self._tasks, *([self._gap_task] if self._gap_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def stream_count(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, calendar_ids: Collection[int]) -> Subscription:
        subscription = Subscription(frozenset(calendar_ids), start=self.watermark)
        self._subscriptions.add(subscription)
        for calendar_id in subscription.calendar_ids:
            self._by_calendar[calendar_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        for calendar_id in subscription.calendar_ids:
            subscribers = self._by_calendar.get(calendar_id)
            if subscribers is None:
                continue
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_calendar[calendar_id]

    def receive(self, raw: str | bytes) -> None:
        try:
            message = Message.parse(raw)
        except ValueError:
            logger.warning("Dropping a malformed change message")
            return
        if message.kind == "events":
            if message.cursor > self.watermark:
                self._pending[message.cursor] = message
        else:
            self._held.append(message)
        self._advance()

    def _deliver(self, message: Message) -> None:
        for subscription in self._by_calendar.get(message.calendar_id, ()):
            subscription.push(message)

    def _advance(self) -> None:
        while self.watermark + 1 in self._pending:
            self.watermark += 1
            self._deliver(self._pending.pop(self.watermark))
        self._release_held()
        if (self._pending or self._held) and self._gap_task is None:
            self._gap_task = asyncio.create_task(self._fill_gap_later())

    def _release_held(self) -> None:
        ready = [message for message in self._held if message.cursor <= self.watermark]
        if not ready:
            return
        self._held = [
            message for message in self._held if message.cursor > self.watermark
        ]
        for message in ready:
            self._deliver(message)

    async def _fill_gap_later(self) -> None:
        try:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            target = max(
                [*self._pending, *(message.cursor for message in self._held)],
                default=self.watermark,
            )
            await self.catch_up(target)
        finally:
            self._gap_task = None
        if self._pending or self._held:
            self._advance()

    async def catch_up(self, target: int | None = None) -> None:
        """Deliver everything committed up to ``target`` from the database."""
        if target is None:
            target = await pooled(publish.committed_cursor)()
        if target <= self.watermark:
            return
        after = self.watermark
        stored = await pooled(changes_between)(after, target)
        logger.info("Relay read missed batches: after=%s upto=%s", after, target)
        from_database = {change.cursor: change for change in stored}
        for cursor in range(after + 1, target + 1):
            if cursor <= self.watermark:
                continue
            message = self._pending.pop(cursor, None)
            if message is None and cursor in from_database:
                message = Message.from_change(from_database[cursor])
            self.watermark = cursor
            if message is not None:
                self._deliver(message)
        self._advance()

    async def _keep_alive(self) -> None:
        """Give every stream a keep-alive round a few times an interval."""
        while True:
            await asyncio.sleep(settings.SSE_KEEPALIVE_SECONDS / KEEPALIVE_ROUNDS)
            for subscription in self._subscriptions:
                subscription.keep_alive_round()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.catch_up()
            except Exception:
                logger.exception("Relay poll failed")

    async def _listen_redis(self) -> None:
        failures = 0
        while True:
            client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(publish.channel())
                    # Whatever was published while unsubscribed is lost.
                    await self.catch_up()
                    failures = 0
                    async for item in pubsub.listen():
                        if item["type"] == "message":
                            self.receive(item["data"])
            except (redis.RedisError, OSError):
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                logger.warning("Relay lost Redis, reconnecting: delay=%s", delay)
                await asyncio.sleep(delay)
            finally:
                await client.aclose()


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}
_hub_lock: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


async def get_hub() -> Hub:
    """The hub of the running event loop, started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is not None:
        return hub
    lock = _hub_lock.setdefault(loop, asyncio.Lock())
    async with lock:
        hub = _hubs.get(loop)
        if hub is None:
            hub = Hub()
            await hub.start()
            _hubs[loop] = hub
    return hub


async def stop_hub() -> None:
    """Stop the hub of the running loop (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.pop(loop, None)
    _hub_lock.pop(loop, None)
    if hub is not None:
        await hub.stop()
