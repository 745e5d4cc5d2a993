"""Storing pages of Google events: idempotent upserts, one transaction each.

A page is written in one transaction that also takes the next change
cursor, so everything a batch changed carries one cursor and batches become
visible in cursor order. PostgreSQL takes a fast path (COPY into a staging
table, then one ``INSERT ... ON CONFLICT``); other databases use Django's
``bulk_create`` with conflict updates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from calendars.models import Calendar, DeletedEvent, Event, SyncState

logger = logging.getLogger(__name__)

# Columns written from a Google resource, in COPY order.
# A calendar's first page this large goes straight into the events table.
DIRECT_COPY_MIN_ROWS = 100
EVENT_COLUMNS = (
    "google_id",
    "status",
    "summary",
    "description",
    "location",
    "start",
    "end",
    "start_date",
    "end_date",
    "all_day",
    "time_zone",
    "recurrence",
    "recurring_event_id",
    "original_start",
    "etag",
    "google_created",
    "google_updated",
    "resource",
)


class Superseded(Exception):
    """A newer run owns the calendar; this run's writes were refused."""


@dataclass
class StoredBatch:
    """What one transaction stored, as handed to the publisher.

    ``event_texts`` holds each event as the JSON text that was stored, so
    publishing it costs no second encoding.
    """

    calendar_id: int
    cursor: int
    event_texts: list[str]
    added: int = 0
    changed: int = 0
    deleted: int = 0


@dataclass
class PageWrite:
    """The writes of one page, split by kind."""

    upserts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    removals: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_items(cls, items: Iterable[Mapping[str, Any]]) -> PageWrite:
        write = cls()
        for item in items:
            event_id = item.get("id")
            if not isinstance(event_id, str) or not event_id:
                logger.warning("Skipping an event without an id")
                continue
            # A cancelled occurrence of a series hides that occurrence and is
            # kept; any other cancelled event is gone from Google.
            if item.get("status") == "cancelled" and not item.get("recurringEventId"):
                write.upserts.pop(event_id, None)
                write.removals[event_id] = item
            else:
                write.removals.pop(event_id, None)
                write.upserts[event_id] = item
        return write


def store_page(
    calendar: Calendar,
    version: int,
    items: Sequence[Mapping[str, Any]],
    *,
    sync_token: str | None = None,
    sweep: bool = False,
) -> StoredBatch | None:
    """Store one page of ``events.list`` for a run holding ``version``.

    With ``sync_token`` the page is the last one: the token is saved in the
    same transaction, and with ``sweep`` every event the run did not see is
    removed (the end of a mark-and-sweep full sync).
    """
    write = PageWrite.from_items(items)
    last_page = sync_token is not None
    with transaction.atomic():
        _check_fence(calendar.pk, version)
        batch = _write_page(calendar, version, write, sweep=sweep, tidy=last_page)
        if sync_token is not None:
            _save_sync_token(calendar.pk, version, sync_token)
    return batch


def _check_fence(calendar_pk: int, version: int) -> None:
    current = (
        SyncState.objects.select_for_update()
        .filter(calendar_id=calendar_pk)
        .values_list("version", flat=True)
        .first()
    )
    if current != version:
        raise Superseded(f"calendar {calendar_pk}: run {version} was superseded")


def _write_page(
    calendar: Calendar, version: int, write: PageWrite, *, sweep: bool, tidy: bool
) -> StoredBatch | None:
    if not write.upserts and not write.removals and not sweep and not tidy:
        return None

    cursor = LazyCursor()
    texts = [encode_json(resource) for resource in write.upserts.values()]
    added = 0
    if write.upserts:
        added = _upsert(calendar.pk, cursor, version, write.upserts, texts)
    removed = _remove_events(calendar.pk, cursor, write.removals)
    if sweep:
        removed += _sweep_unseen(calendar.pk, cursor, version)
    if tidy:
        removed += _remove_orphaned_cancellations(calendar.pk, cursor)
    if not cursor.taken:
        return None

    texts += [
        encode_json({"id": event_id, "status": "cancelled"}) for event_id in removed
    ]
    return StoredBatch(
        calendar_id=calendar.pk,
        cursor=cursor(),
        event_texts=texts,
        added=added,
        changed=len(write.upserts) - added,
        deleted=len(removed),
    )


def encode_json(value: Any) -> str:
    """Compact JSON text, as stored and as sent to browsers."""
    return orjson.dumps(value).decode()


def _upsert(
    calendar_pk: int,
    cursor: LazyCursor,
    version: int,
    upserts: Mapping[str, Mapping[str, Any]],
    texts: list[str],
) -> int:
    """Insert or update the events; return how many were new."""
    if connection.vendor == "postgresql":
        rows = [event_row(resource) for resource in upserts.values()]
        # The run holds the calendar's sync state locked, so no other run
        # adds events between this look and the COPY. Small pages, the
        # incremental syncs, are not worth the look.
        large = len(rows) >= DIRECT_COPY_MIN_ROWS
        if large and not Event.objects.filter(calendar_id=calendar_pk).exists():
            _copy_new_events(calendar_pk, cursor(), version, rows, texts)
            return len(rows)
        # COPY runs before the cursor is taken: the counter row stays locked
        # only for the upsert itself.
        _copy_to_stage(rows, texts)
        return _upsert_staged(calendar_pk, cursor(), version)
    existing = _existing_ids(calendar_pk, upserts)
    rows = [event_row(resource) for resource in upserts.values()]
    _upsert_generic(calendar_pk, cursor(), version, rows)
    return len(upserts) - len(existing)


def _existing_ids(calendar_pk: int, upserts: Mapping[str, Any]) -> set[str]:
    return set(
        Event.objects.filter(
            calendar_id=calendar_pk, google_id__in=list(upserts)
        ).values_list("google_id", flat=True)
    )


class LazyCursor:
    """The batch's change cursor, taken on first use.

    A page that ends up changing nothing takes none, so cursors that streams
    see are never skipped by a batch that does not exist.
    """

    def __init__(self) -> None:
        self._value: int | None = None

    @property
    def taken(self) -> bool:
        return self._value is not None

    def __call__(self) -> int:
        if self._value is None:
            self._value = next_cursor()
        return self._value


def next_cursor() -> int:
    """Take the next change cursor inside the current transaction.

    The counter row stays locked until commit, which orders commits of
    batches by cursor.
    """
    with connection.cursor() as db:
        db.execute(
            "INSERT INTO calendars_changecounter (id, value) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE "
            "SET value = calendars_changecounter.value + 1 RETURNING value"
        )
        row = db.fetchone()
    return int(row[0])


def _save_sync_token(calendar_pk: int, version: int, sync_token: str) -> None:
    SyncState.objects.filter(calendar_id=calendar_pk, version=version).update(
        sync_token=sync_token, full_sync_requested=False
    )


def _copy_to_stage(rows: list[dict[str, Any]], resource_texts: list[str]) -> None:
    with connection.cursor() as db:
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS chronos_event_stage ("
            "google_id text, status text, summary text, description text, "
            'location text, start timestamptz, "end" timestamptz, '
            "start_date date, end_date date, all_day boolean, time_zone text, "
            "recurrence jsonb, recurring_event_id text, "
            "original_start timestamptz, etag text, google_created timestamptz, "
            "google_updated timestamptz, resource jsonb"
            ") ON COMMIT DELETE ROWS"
        )
        # Empty it anyway: inside an outer transaction there was no commit.
        db.execute("TRUNCATE chronos_event_stage")
        columns = ", ".join(f'"{name}"' for name in EVENT_COLUMNS)
        with db.cursor.copy(f"COPY chronos_event_stage ({columns}) FROM STDIN") as copy:
            copy.write(_copy_lines(rows, resource_texts))


def _copy_new_events(
    calendar_pk: int,
    cursor: int,
    version: int,
    rows: list[dict[str, Any]],
    resource_texts: list[str],
) -> None:
    """A calendar's first events, copied straight into the table.

    With nothing to conflict with, staging them first would only double
    the database's work, on the page every new calendar starts with.
    """
    names = (*EVENT_COLUMNS, "calendar_id", "cursor", "seen_version")
    columns = ", ".join(f'"{name}"' for name in names)
    shared = (str(calendar_pk), str(cursor), str(version))
    with (
        connection.cursor() as db,
        db.cursor.copy(f"COPY calendars_event ({columns}) FROM STDIN") as copy,
    ):
        copy.write(_copy_lines(rows, resource_texts, shared))


def _copy_lines(
    rows: list[dict[str, Any]],
    resource_texts: list[str],
    shared: Sequence[str] = (),
) -> str:
    """The rows as COPY text, each followed by the ``shared`` fields.

    Written at once: psycopg's write_row adapts every field on its own, at
    several times the cost.
    """
    lines = []
    for row, resource_text in zip(rows, resource_texts, strict=True):
        row["recurrence"] = encode_json(row["recurrence"])
        row["resource"] = resource_text
        fields = [_copy_field(row[name]) for name in EVENT_COLUMNS]
        lines.append("\t".join([*fields, *shared]))
    lines.append("")
    return "\n".join(lines)


def _copy_field(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no COPY text for {type(value).__name__}")


def _copy_text(text: str) -> str:
    text = text.replace("\\", "\\\\")
    # JSON never holds these raw; the rare summary that does is escaped.
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text


def _upsert_staged(calendar_pk: int, cursor: int, version: int) -> int:
    """Move the staged rows into the events table; return how many were new."""
    columns = ", ".join(f'"{name}"' for name in EVENT_COLUMNS)
    updates = ", ".join(
        f'"{name}" = EXCLUDED."{name}"'
        for name in (*EVENT_COLUMNS[1:], "cursor", "seen_version")
    )
    with connection.cursor() as db:
        db.execute(
            f"INSERT INTO calendars_event (calendar_id, {columns}, cursor, "
            f"seen_version) SELECT %s, {columns}, %s, %s FROM chronos_event_stage "
            f"ON CONFLICT (calendar_id, google_id) DO UPDATE SET {updates} "
            # A row PostgreSQL inserted has no deleting transaction yet.
            "RETURNING xmax = 0",
            [calendar_pk, cursor, version],
        )
        return sum(1 for (inserted,) in db.fetchall() if inserted)


def _upsert_generic(
    calendar_pk: int, cursor: int, version: int, rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return
    Event.objects.bulk_create(
        [
            Event(calendar_id=calendar_pk, cursor=cursor, seen_version=version, **row)
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["calendar", "google_id"],
        update_fields=[*EVENT_COLUMNS[1:], "cursor", "seen_version"],
    )


def _remove_events(
    calendar_pk: int, cursor: LazyCursor, removals: Mapping[str, Any]
) -> list[str]:
    if not removals:
        return []
    ids = list(removals)
    # A removed series takes its exceptions with it.
    doomed = Event.objects.filter(
        Q(google_id__in=ids) | Q(recurring_event_id__in=ids), calendar_id=calendar_pk
    )
    return _delete_with_tombstones(calendar_pk, cursor, doomed)


def _sweep_unseen(calendar_pk: int, cursor: LazyCursor, version: int) -> list[str]:
    unseen = Event.objects.filter(calendar_id=calendar_pk, seen_version__lt=version)
    return _delete_with_tombstones(calendar_pk, cursor, unseen)


def _remove_orphaned_cancellations(calendar_pk: int, cursor: LazyCursor) -> list[str]:
    """Drop cancelled occurrences whose series is no longer stored."""
    cancelled = Event.objects.filter(calendar_id=calendar_pk, status="cancelled")
    live_series = Event.objects.filter(calendar_id=calendar_pk).values("google_id")
    orphans = cancelled.exclude(recurring_event_id__in=live_series)
    return _delete_with_tombstones(calendar_pk, cursor, orphans)


def _delete_with_tombstones(
    calendar_pk: int, cursor: LazyCursor, rows: QuerySet[Event]
) -> list[str]:
    doomed = list(rows.values_list("pk", "google_id", "recurring_event_id"))
    if not doomed:
        return []
    Event.objects.filter(pk__in=[pk for pk, _, _ in doomed]).delete()
    DeletedEvent.objects.bulk_create(
        DeletedEvent(
            calendar_id=calendar_pk,
            google_id=google_id,
            recurring_event_id=series,
            cursor=cursor(),
        )
        for _, google_id, series in doomed
    )
    return [google_id for _, google_id, _ in doomed]


def event_row(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The queryable columns of an event, taken from Google's resource."""
    start = resource.get("start") or {}
    end = resource.get("end") or {}
    all_day = "date" in start and "dateTime" not in start
    start_at, start_date = _moment(start)
    end_at, end_date = _moment(end)
    original_start, _ = _moment(resource.get("originalStartTime") or {})
    return {
        "google_id": resource["id"],
        "status": str(resource.get("status") or "confirmed")[:16],
        "summary": str(resource.get("summary") or ""),
        "description": str(resource.get("description") or ""),
        "location": str(resource.get("location") or ""),
        "start": start_at,
        "end": end_at or start_at,
        "start_date": start_date,
        "end_date": end_date,
        "all_day": all_day,
        "time_zone": str(start.get("timeZone") or "")[:64],
        "recurrence": list(resource.get("recurrence") or []),
        "recurring_event_id": str(resource.get("recurringEventId") or ""),
        "original_start": original_start,
        "etag": str(resource.get("etag") or "")[:128],
        "google_created": _timestamp(resource.get("created")),
        "google_updated": _timestamp(resource.get("updated")),
        "resource": resource,
    }


def _moment(value: Mapping[str, Any]) -> tuple[datetime | None, date | None]:
    """A start or end as an aware datetime, plus the date of all-day ones."""
    if value.get("dateTime"):
        return _timestamp(value["dateTime"]), None
    if value.get("date"):
        try:
            day = date.fromisoformat(value["date"])
        except (TypeError, ValueError):
            return None, None
        return datetime.combine(day, time.min, tzinfo=UTC), day
    return None, None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
