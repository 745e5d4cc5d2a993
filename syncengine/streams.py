"""The two Server-Sent Event streams, as async generators of frames.

``sync_stream`` starts a sync of some calendars and relays it until every
calendar finished or failed. ``live_stream`` stays open and relays every
batch stored for the caller's calendars, replaying from the database after
``Last-Event-ID``. Both send a keep-alive comment when nothing else was sent
for ``SSE_KEEPALIVE_SECONDS`` and release their subscription however they
end: finished, failed, or the client gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from calendars.models import SyncState
from chronos.db import pooled
from syncengine import dispatch
from syncengine.changes import changes_between
from syncengine.relay import (
    Message,
    StreamOverflow,
    Subscription,
    get_hub,
    sse_frame,
)

logger = logging.getLogger(__name__)

KEEPALIVE = b": keep-alive\n\n"
# Browsers reconnect after this many milliseconds when a stream drops.
RETRY = b"retry: 3000\n\n"
FINISHED_STATES = {SyncState.State.IDLE, SyncState.State.ERROR}


def event_frame(event: str, data: dict[str, Any], event_id: int | None) -> bytes:
    return sse_frame(event, json.dumps(data, separators=(",", ":")), event_id)


async def live_stream(
    calendar_ids: Sequence[int], last_event_id: int | None
) -> AsyncIterator[bytes]:
    hub = await get_hub()
    subscription = hub.subscribe(calendar_ids)
    try:
        yield RETRY
        if last_event_id is not None:
            async for frame in _replay(subscription, last_event_id):
                yield frame
        while True:
            message = await subscription.next()
            yield KEEPALIVE if message is None else message.frame
    except StreamOverflow:
        logger.info("Live stream fell behind and was closed")
    finally:
        hub.unsubscribe(subscription)


async def _replay(subscription: Subscription, after: int) -> AsyncIterator[bytes]:
    """What the client missed up to the moment it subscribed."""
    changes = await pooled(changes_between)(
        after, subscription.start, subscription.calendar_ids
    )
    for change in changes:
        yield Message.from_change(change).frame


@dataclass
class CalendarSync:
    """The sync stream's view of one calendar."""

    calendar_id: int
    version: int = 0
    folded: bool = False
    finished: bool = False

    def is_end(self, status: dict[str, Any]) -> bool:
        """Whether a status reports the end of the sync this stream asked for.

        A request folded into a running sync ends with that run, so its own
        version counts; otherwise only a newer run does.
        """
        if status.get("state") not in FINISHED_STATES:
            return False
        version = int(status.get("version", 0))
        return version > self.version or (self.folded and version == self.version)


class SyncStream:
    """Starts syncs of some calendars and relays them until all are done."""

    def __init__(self, calendar_ids: Sequence[int]) -> None:
        self.calendars = {pk: CalendarSync(pk) for pk in calendar_ids}
        self.waiting = list(calendar_ids)
        self.total_events = 0
        self.last_sync_at: str | None = None
        self.cursor = 0

    async def frames(self) -> AsyncIterator[bytes]:
        hub = await get_hub()
        # Subscribe before anything is enqueued, so no batch slips past.
        subscription = hub.subscribe(self.calendars)
        self.cursor = subscription.start
        try:
            await pooled(self._read_versions)()
            yield RETRY
            for frame in await self._start_next():
                yield frame
            async for frame in self._relay(subscription):
                yield frame
        finally:
            hub.unsubscribe(subscription)

    async def _relay(self, subscription: Subscription) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.MAX_SYNC_DURATION_SECONDS
        while not all(calendar.finished for calendar in self.calendars.values()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                yield self._error(None, 408, "Sync timed out", retryable=True)
                return
            wait = min(settings.SSE_KEEPALIVE_SECONDS, remaining)
            message = await subscription.next(wait)
            if message is None:
                if deadline - loop.time() > 0:
                    yield KEEPALIVE
                continue
            for frame in await self._handle(message):
                yield frame
        yield event_frame(
            "complete",
            {
                "type": "complete",
                "total_events": self.total_events,
                "last_sync_at": self.last_sync_at,
            },
            self.cursor,
        )

    async def _handle(self, message: Message) -> list[bytes]:
        if message.kind == "events":
            self.total_events += message.count
            self.cursor = max(self.cursor, message.cursor)
            return [message.frame]
        calendar = self.calendars.get(message.calendar_id)
        status = message.payload
        if calendar is None or calendar.finished or not calendar.is_end(status):
            return []
        calendar.finished = True
        if status["state"] == SyncState.State.IDLE:
            self.last_sync_at = max(
                filter(None, [self.last_sync_at, status.get("last_sync_at")]),
                default=None,
            )
            frame = event_frame(
                "sync_token",
                {"type": "sync_token", "calendar_id": calendar.calendar_id},
                self.cursor,
            )
        else:
            frame = self._error(
                calendar.calendar_id,
                int(status.get("code") or 500),
                str(status.get("message") or status.get("last_error") or "Sync failed"),
                retryable=bool(status.get("retryable", True)),
            )
        return [frame, *await self._start_next()]

    async def _start_next(self) -> list[bytes]:
        """Start waiting calendars while fewer than the limit are running."""
        frames: list[bytes] = []
        limit = settings.MAX_CONCURRENT_CALENDAR_FETCHES
        while self.waiting and self._running() < limit:
            calendar = self.calendars[self.waiting.pop(0)]
            try:
                outcome = await pooled(dispatch.request_sync)(calendar.calendar_id)
            except dispatch.QueueUnavailable:
                calendar.finished = True
                frames.append(
                    self._error(
                        calendar.calendar_id,
                        503,
                        "The sync queue is unreachable; try again shortly.",
                        retryable=True,
                    )
                )
                continue
            calendar.folded = outcome is dispatch.Requested.FOLDED
        return frames

    def _running(self) -> int:
        started = [
            calendar
            for pk, calendar in self.calendars.items()
            if pk not in self.waiting and not calendar.finished
        ]
        return len(started)

    def _read_versions(self) -> None:
        versions = dict(
            SyncState.objects.filter(calendar_id__in=self.calendars).values_list(
                "calendar_id", "version"
            )
        )
        for pk, calendar in self.calendars.items():
            calendar.version = versions.get(pk, 0)

    def _error(
        self, calendar_id: int | None, code: int, message: str, *, retryable: bool
    ) -> bytes:
        if calendar_id is not None:
            self.calendars[calendar_id].finished = True
        data = {
            "type": "sync_error",
            "calendar_id": calendar_id,
            "code": code,
            "message": message,
            "retryable": retryable,
        }
        return event_frame("sync_error", data, self.cursor)
