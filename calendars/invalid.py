"""Stored series that cannot be expanded, for the pages and the API to report.

Google accepts some recurrence rules that Chronos cannot expand, hourly and
minutely ones among them. Such a series is stored like any other event but
appears in no view, so its calendar reports it instead of losing it
without a word.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from calendars.models import Event
from syncengine.recurrence import recurrence_problem

__all__ = ["InvalidSeries", "invalid_series"]


@dataclass(frozen=True)
class InvalidSeries:
    """A recurring event of a calendar that no view can show, and why."""

    pk: int
    calendar_id: int
    calendar: str
    event_id: str
    summary: str
    message: str


def invalid_series(calendar_ids: Collection[int]) -> list[InvalidSeries]:
    """The calendars' series that cannot be expanded, oldest first."""
    if not calendar_ids:
        return []

    masters = (
        Event.objects.filter(calendar_id__in=calendar_ids, recurring_event_id="")
        .exclude(recurrence=[])
        .exclude(status="cancelled")
        .order_by("start", "pk")
    )
    # Only the start is read out of the resource: masters can be large.
    rows = masters.values_list(
        "pk",
        "calendar_id",
        "calendar__summary",
        "google_id",
        "summary",
        "recurrence",
        "resource__start",
    )
    found = []
    for pk, calendar_id, calendar, event_id, summary, recurrence, start in rows:
        message = recurrence_problem({"recurrence": recurrence, "start": start})
        if message is not None:
            found.append(
                InvalidSeries(pk, calendar_id, calendar, event_id, summary, message)
            )
    return found
