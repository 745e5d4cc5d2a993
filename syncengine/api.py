"""API routes for the two Server-Sent Event streams."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Header, Router

from calendars.api import owned_calendars, parse_calendar_ids, resolve_calendars
from chronos.api import EVENT_STREAM, ApiError, errors
from chronos.db import pooled
from syncengine.streams import SyncStream, live_stream

router = Router(tags=["streams"])


class EventStreamResponse(StreamingHttpResponse):
    """Server-Sent Events, handed to the server frame by frame as they are.

    The frames are bytes already, so Django's wrapping of every part (two
    async generators and a conversion) is skipped: a batch relayed to
    thousands of live streams would pay for it thousands of times.
    """

    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        super().__init__(frames, content_type="text/event-stream")
        self._frames = frames
        self["Cache-Control"] = "no-cache"
        # Tells nginx and similar proxies not to buffer the stream.
        self["X-Accel-Buffering"] = "no"

    def __aiter__(self) -> AsyncIterator[bytes]:
        # Content replaced since, by a middleware say, takes Django's path.
        if getattr(self, "_iterator", None) is not self._frames:
            return super().__aiter__()
        return self._frames


@router.get(
    "/calendar/sync",
    response={200: None, **errors(400, 404, 429)},
    openapi_extra=EVENT_STREAM,
)
async def calendar_sync(request: HttpRequest, calendar_ids: str) -> EventStreamResponse:
    """Sync the calendars now and stream the sync as Server-Sent Events."""
    ids = parse_calendar_ids(calendar_ids)
    if len(ids) > settings.MAX_CALENDARS_PER_SYNC:
        raise ApiError(
            400,
            f"At most {settings.MAX_CALENDARS_PER_SYNC} calendars per sync; "
            f"split the {len(ids)} into several requests.",
        )
    await pooled(resolve_calendars)(request, calendar_ids)
    await _take_sync_slot(request.auth.pk)  # type: ignore[attr-defined]
    return EventStreamResponse(SyncStream(ids).frames())


async def _take_sync_slot(user_id: int) -> None:
    """One sync start per user per SYNC_RATE_LIMIT_SECONDS, across processes."""
    limit = settings.SYNC_RATE_LIMIT_SECONDS
    if limit <= 0:
        return
    key = f"sync-started:{user_id}"
    now = time.time()
    if await cache.aadd(key, now + limit, timeout=limit):
        return
    free_at = await cache.aget(key) or now + limit
    retry_after = max(1, math.ceil(free_at - now))
    raise ApiError(
        429,
        f"A sync was started moments ago; try again in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


@router.get("/stream", response={200: None, **errors(400)}, openapi_extra=EVENT_STREAM)
async def stream(
    request: HttpRequest,
    last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
    after: str | None = None,
) -> EventStreamResponse:
    """Every change stored for the caller's calendars, live.

    Resumes after the ``Last-Event-ID`` header, which browsers send when
    they reconnect, or after ``?after=``: a page passes the cursor it was
    rendered at, so nothing stored in between is missed.
    """
    resume_after = _cursor(last_event_id or after)
    ids = await pooled(_all_calendar_ids)(request)
    return EventStreamResponse(live_stream(ids, resume_after))


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        cursor = int(value)
    except ValueError:
        cursor = -1
    if cursor < 0:
        raise ApiError(400, "Last-Event-ID must be an event id from this stream.")
    return cursor


def _all_calendar_ids(request: HttpRequest) -> list[int]:
    return list(owned_calendars(request).values_list("pk", flat=True))
