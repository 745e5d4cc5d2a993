"""Event and calendar resources in Google's JSON shapes."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from emulator.errors import ApiError
from emulator.recurrence import Series, parse_series
from emulator.times import boundary, rfc3339

__all__ = [
    "build_event",
    "cancelled_view",
    "check_client_id",
    "html_link",
    "instance_resource",
    "merge_patch",
    "new_id",
    "replace_body",
    "validated_series",
]

EVENT_KIND = "calendar#event"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
_VALID_ID = re.compile(r"^[0-9a-v]{5,1024}$")

# Fields the server owns: a client may send them back but never changes them.
_SERVER_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "organizer",
        "iCalUID",
        "recurringEventId",
        "originalStartTime",
    }
)
# Changing any of these is a reschedule, which Google marks with a new
# sequence number so invitees' copies are replaced.
_RESCHEDULE_FIELDS = ("start", "end", "recurrence", "location", "status")


def new_id() -> str:
    """A fresh event id in Google's base32hex alphabet."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def check_client_id(event_id: str) -> None:
    if not _VALID_ID.match(event_id):
        raise ApiError(400, "invalid", "Invalid resource id value.")


def build_event(
    body: dict[str, Any],
    *,
    event_id: str,
    calendar_id: str,
    calendar_summary: str,
    owner: str,
    now: float,
) -> dict[str, Any]:
    stamp = rfc3339(now)
    resource: dict[str, Any] = {
        "kind": EVENT_KIND,
        "etag": "",
        "id": event_id,
        "status": body.get("status", "confirmed"),
        "htmlLink": html_link(event_id, calendar_id),
        "created": stamp,
        "updated": stamp,
    }
    resource.update(_client_fields(body))
    resource["status"] = resource.get("status") or "confirmed"
    resource["creator"] = {"email": owner, "self": True}
    resource["organizer"] = {
        "email": calendar_id,
        "displayName": calendar_summary,
        "self": True,
    }
    resource["iCalUID"] = body.get("iCalUID") or f"{event_id}@google.com"
    resource["sequence"] = int(body.get("sequence") or 0)
    resource.setdefault("reminders", {"useDefault": True})
    resource.setdefault("eventType", "default")
    return resource


def merge_patch(
    resource: dict[str, Any], body: dict[str, Any], now: float
) -> dict[str, Any]:
    """Apply patch semantics: the fields sent replace the stored ones."""
    merged = dict(resource)
    merged.update(_client_fields(body))
    return _touch(resource, merged, body, now)


def replace_body(
    resource: dict[str, Any], body: dict[str, Any], now: float
) -> dict[str, Any]:
    """Apply update semantics: the body replaces every client field."""
    merged = {k: v for k, v in resource.items() if k in _SERVER_FIELDS}
    merged["status"] = "confirmed"
    merged.update(_client_fields(body))
    merged.setdefault("reminders", {"useDefault": True})
    merged.setdefault("eventType", "default")
    return _touch(resource, merged, body, now)


def validated_series(resource: dict[str, Any], default_tz: str) -> Series | None:
    """Check start, end and recurrence the way Google does on every write."""
    start = boundary(resource.get("start"), default_tz, "start")
    end = boundary(resource.get("end"), default_tz, "end")
    if bool(resource["start"].get("date")) != bool(resource["end"].get("date")):
        raise ApiError(
            400,
            "invalid",
            "Start and end must both be dates or both be date-times.",
        )
    if end < start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    if not resource.get("recurrence") or resource.get("recurringEventId"):
        return None

    timed = not resource["start"].get("date")
    if timed and not resource["start"].get("timeZone"):
        raise ApiError(400, "invalid", "Missing time zone definition for start time.")
    try:
        return parse_series(resource, default_tz)
    except (ValueError, TypeError, KeyError):
        raise ApiError(400, "invalid", "Invalid recurrence rule.") from None


def instance_resource(
    master: dict[str, Any], series: Series, local: Any
) -> dict[str, Any]:
    """One virtual occurrence of a series, as ``events.instances`` shows it."""
    instance = {k: v for k, v in master.items() if k != "recurrence"}
    start, end = series.bounds(local)
    instance["id"] = f"{master['id']}_{series.suffix(local)}"
    instance["htmlLink"] = html_link(instance["id"], master["organizer"]["email"])
    instance["start"] = start
    instance["end"] = end
    instance["recurringEventId"] = master["id"]
    instance["originalStartTime"] = dict(start)
    return instance


def cancelled_view(resource: dict[str, Any]) -> dict[str, Any]:
    """The minimal form Google lists for deleted events and occurrences."""
    view = {
        "kind": EVENT_KIND,
        "etag": resource["etag"],
        "id": resource["id"],
        "status": "cancelled",
    }
    if resource.get("recurringEventId"):
        view["recurringEventId"] = resource["recurringEventId"]
        view["originalStartTime"] = resource["originalStartTime"]
    return view


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode())
    return "https://www.google.com/calendar/event?eid=" + eid.decode().rstrip("=")


def _client_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _SERVER_FIELDS}


def _touch(
    old: dict[str, Any], new: dict[str, Any], body: dict[str, Any], now: float
) -> dict[str, Any]:
    new["updated"] = rfc3339(now)
    if "sequence" not in body and any(
        old.get(f) != new.get(f) for f in _RESCHEDULE_FIELDS
    ):
        new["sequence"] = int(old.get("sequence") or 0) + 1
    return new
