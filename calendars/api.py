"""API routes for the caller's calendars, events and sync status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router, Schema
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from calendars.invalid import invalid_series
from calendars.models import Calendar, Event, SyncState
from chronos.api import ApiError, errors

router = Router(tags=["calendars"])

STREAM_CHUNK_ROWS = 2000
# Exceptions are matched to occurrences by their original start, which may
# lie up to a day from where the exception now sits.
EXCEPTION_SLACK = timedelta(days=1)
# The window is widened by that slack, which the ends of what a datetime
# holds leave no room for; no event lies out there anyway.
EARLIEST = datetime.min.replace(tzinfo=UTC) + 2 * EXCEPTION_SLACK
LATEST = datetime.max.replace(tzinfo=UTC) - 2 * EXCEPTION_SLACK


class InvalidSeriesOut(Schema):
    """A recurring event no view can show, with the reason."""

    event_id: str
    summary: str
    message: str


class CalendarOut(Schema):
    id: int
    account_email: str
    summary: str
    color: str
    time_zone: str
    selected: bool
    sync_state: str
    last_sync_at: datetime | None
    invalid_series: list[InvalidSeriesOut]


class CalendarStatusOut(Schema):
    id: int
    last_sync_at: datetime | None
    state: str
    last_error: str | None


class EventsOut(Schema):
    events: list[dict[str, Any]]
    masters: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]


class SyncStatusOut(Schema):
    lastSyncAt: datetime | None  # noqa: N815 - the contract's field name
    calendars: list[CalendarStatusOut]


def owned_calendars(request: HttpRequest) -> QuerySet[Calendar]:
    owner = request.auth  # type: ignore[attr-defined]
    return Calendar.objects.filter(account__owner=owner)


def parse_calendar_ids(raw: str | None) -> list[int]:
    """``1,2,3`` as ids; anything else is a 400 that says what to send."""
    if not raw:
        raise ApiError(400, "calendar_ids is required: comma-separated calendar ids.")
    try:
        ids = [int(part) for part in raw.split(",")]
    except ValueError:
        raise ApiError(
            400, "calendar_ids must be comma-separated calendar ids, like 3,7."
        ) from None
    if any(calendar_id <= 0 for calendar_id in ids):
        raise ApiError(400, "calendar_ids must be positive integers.")
    return list(dict.fromkeys(ids))


def resolve_calendars(request: HttpRequest, raw: str | None) -> list[int]:
    """The requested ids, all of them the caller's; otherwise a 404."""
    ids = parse_calendar_ids(raw)
    owned = set(
        owned_calendars(request).filter(pk__in=ids).values_list("pk", flat=True)
    )
    if missing := [calendar_id for calendar_id in ids if calendar_id not in owned]:
        # Another user's calendar answers exactly like one that does not exist.
        raise ApiError(404, f"No calendar with id {missing[0]}.")
    return ids


@router.get("/calendars", response={200: list[CalendarOut], **errors()})
def list_calendars(request: HttpRequest) -> list[CalendarOut]:
    calendars = list(owned_calendars(request).select_related("account", "sync_state"))
    invalid = _invalid_series_by_calendar([calendar.pk for calendar in calendars])
    return [
        CalendarOut(
            id=calendar.pk,
            account_email=calendar.account.email,
            summary=calendar.summary,
            color=calendar.color,
            time_zone=calendar.time_zone,
            selected=calendar.selected,
            sync_state=_state_of(calendar).state,
            last_sync_at=_state_of(calendar).last_sync_at,
            invalid_series=invalid.get(calendar.pk, []),
        )
        for calendar in calendars
    ]


def _invalid_series_by_calendar(
    calendar_ids: list[int],
) -> dict[int, list[InvalidSeriesOut]]:
    found: dict[int, list[InvalidSeriesOut]] = {}
    for series in invalid_series(calendar_ids):
        found.setdefault(series.calendar_id, []).append(
            InvalidSeriesOut(
                event_id=series.event_id, summary=series.summary, message=series.message
            )
        )
    return found


def _state_of(calendar: Calendar) -> SyncState:
    try:
        return calendar.sync_state
    except SyncState.DoesNotExist:
        return SyncState(calendar=calendar)


@router.get("/calendar/sync-status", response={200: SyncStatusOut, **errors(400, 404)})
def sync_status(request: HttpRequest, calendar_ids: str | None = None) -> SyncStatusOut:
    calendars = owned_calendars(request)
    if calendar_ids is not None:
        calendars = calendars.filter(pk__in=resolve_calendars(request, calendar_ids))
    states = [
        CalendarStatusOut(
            id=calendar.pk,
            last_sync_at=_state_of(calendar).last_sync_at,
            state=_state_of(calendar).state,
            last_error=_state_of(calendar).last_error or None,
        )
        for calendar in calendars.select_related("sync_state")
    ]
    synced = [state.last_sync_at for state in states if state.last_sync_at]
    return SyncStatusOut(lastSyncAt=max(synced, default=None), calendars=states)


@router.get("/calendar/events", response={200: EventsOut, **errors(400, 404)})
async def calendar_events(
    request: HttpRequest,
    calendar_ids: str,
    time_min: datetime | None = None,
    time_max: datetime | None = None,
) -> StreamingHttpResponse:
    """Stored events in Google's shape plus ``calendar_id``, streamed.

    ``events`` are single events overlapping the window, ``masters`` the
    recurring series that start before its end, ``exceptions`` the changed
    or cancelled occurrences near it.
    """
    check_window(time_min, time_max)
    ids = await sync_to_async(resolve_calendars)(request, calendar_ids)
    return StreamingHttpResponse(
        _hydration(ids, time_min, time_max), content_type="application/json"
    )


def check_window(time_min: datetime | None, time_max: datetime | None) -> None:
    """A 400 for a window no events can be looked up in."""
    for name, moment in (("time_min", time_min), ("time_max", time_max)):
        if moment is None:
            continue
        if moment.tzinfo is None:
            raise ApiError(400, f"{name} needs an offset, like 2026-03-02T09:00:00Z.")
        if not _within_reach(moment):
            raise ApiError(400, f"{name} must lie between the years 2 and 9998.")
    if time_min and time_max and time_min >= time_max:
        raise ApiError(400, "time_min must be before time_max.")


def _within_reach(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


async def _hydration(
    ids: list[int], time_min: datetime | None, time_max: datetime | None
) -> AsyncIterator[bytes]:
    events = Event.objects.filter(calendar_id__in=ids)
    singles = events.filter(recurrence=[], recurring_event_id="")
    masters = events.exclude(recurrence=[])
    exceptions = events.exclude(recurring_event_id="")
    if time_max is not None:
        singles = singles.filter(start__lt=time_max)
        masters = masters.filter(start__lt=time_max)
        exceptions = exceptions.filter(
            Q(start__lt=time_max) | Q(original_start__lt=time_max + EXCEPTION_SLACK)
        )
    if time_min is not None:
        singles = singles.filter(end__gt=time_min)
        exceptions = exceptions.filter(
            Q(end__gt=time_min) | Q(original_start__gt=time_min - EXCEPTION_SLACK)
        )

    for index, (name, rows) in enumerate(
        (("events", singles), ("masters", masters), ("exceptions", exceptions))
    ):
        yield (b"{" if index == 0 else b",") + f'"{name}":['.encode()
        async for chunk in _stored_json(rows):
            yield chunk
        yield b"]"
    yield b"}"


async def _stored_json(rows: QuerySet[Event]) -> AsyncIterator[bytes]:
    """The stored resources as they are, each with ``calendar_id`` added."""
    # The generator is made here but only ever advanced on the request's
    # thread, where its cursor belongs.
    chunks = _spliced_chunks(rows)
    separator = b""
    while chunk := await sync_to_async(_next_chunk)(chunks):
        yield separator + chunk
        separator = b","


def _spliced_chunks(rows: QuerySet[Event]) -> Iterator[bytes]:
    """Chunks of stored resources, joined, with ``calendar_id`` spliced in.

    The stored JSON is read as bytes and never parsed: the key goes in
    right after its opening brace. Every stored resource has an id (the
    store refuses events without one), so none is an empty object.
    """
    texts = (
        rows.order_by()
        .annotate(text=Cast("resource", TextField()))
        .values_list("calendar_id", "text")
    )
    sql, params = texts.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.cursor.adapters.register_loader("text", _TextAsBytes)
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(STREAM_CHUNK_ROWS):
            parts: list[bytes | memoryview] = []
            for calendar_id, text in batch:
                stored = text if isinstance(text, bytes) else text.encode()
                parts += (b'{"calendar_id":%d,' % calendar_id, memoryview(stored)[1:])
                parts.append(b",")
            parts.pop()
            yield b"".join(parts)


def _next_chunk(chunks: Iterator[bytes]) -> bytes:
    return next(chunks, b"")


class _TextAsBytes(Loader):
    """Text from PostgreSQL as the bytes it came in: sent on, never decoded."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)
