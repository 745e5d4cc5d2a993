"""Reading stored batches back from the database, by change cursor.

Streams replay from here after ``Last-Event-ID``, and the relay fills holes
left by lost pub/sub messages. An event changed twice is read once, at its
newest cursor; removed events come from their tombstones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import TextField
from django.db.models.functions import Cast

from calendars.models import DeletedEvent, Event

__all__ = ["Change", "changes_between", "events_message"]


@dataclass(frozen=True)
class Change:
    """One message for streams: its SSE event name, calendar, cursor and data."""

    kind: str
    calendar_id: int
    cursor: int
    data: str
    count: int


def changes_between(
    after: int, upto: int, calendar_ids: Collection[int] | None = None
) -> list[Change]:
    """Batches with a cursor in ``(after, upto]``, in cursor order."""
    if upto <= after:
        return []
    grouped: dict[tuple[int, int], list[str]] = defaultdict(list)

    events = Event.objects.filter(cursor__gt=after, cursor__lte=upto)
    tombstones = DeletedEvent.objects.filter(cursor__gt=after, cursor__lte=upto)
    if calendar_ids is not None:
        events = events.filter(calendar_id__in=calendar_ids)
        tombstones = tombstones.filter(calendar_id__in=calendar_ids)

    rows = events.annotate(text=Cast("resource", TextField())).values_list(
        "cursor", "calendar_id", "text"
    )
    for cursor, calendar_id, text in rows.iterator(chunk_size=2000):
        grouped[(cursor, calendar_id)].append(text)
    for cursor, calendar_id, google_id in tombstones.values_list(
        "cursor", "calendar_id", "google_id"
    ):
        grouped[(cursor, calendar_id)].append(_removal(google_id))

    return [
        Change(
            "events",
            calendar_id,
            cursor,
            events_message(calendar_id, texts),
            len(texts),
        )
        for (cursor, calendar_id), texts in sorted(grouped.items())
    ]


def events_message(calendar_id: int, event_texts: list[str]) -> str:
    """The ``events`` message data, assembled from stored JSON texts."""
    return (
        f'{{"type":"events","calendar_id":{calendar_id},"events":['
        + ",".join(event_texts)
        + "]}"
    )


def _removal(google_id: str) -> str:
    return json.dumps({"id": google_id, "status": "cancelled"})
