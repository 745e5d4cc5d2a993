"""Time parsing and formatting in the shapes Google's API uses."""

from __future__ import annotations

import email.utils
import functools
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.errors import ApiError

__all__ = [
    "UTC",
    "boundary",
    "http_date",
    "local_iso",
    "parse_rfc3339",
    "rfc3339",
    "zone",
]


def rfc3339(ts: float) -> str:
    """Format a timestamp as Google does: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(ts, UTC)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def local_iso(moment: datetime) -> str:
    """Format an aware datetime with its offset and no fraction."""
    return moment.replace(microsecond=0).isoformat()


def parse_rfc3339(value: str, parameter: str) -> datetime:
    """Parse a query-string timestamp, which Google insists carry an offset."""
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        raise ApiError(400, "badRequest", f"Bad Request: {parameter}") from None

    if moment.tzinfo is None:
        raise ApiError(400, "badRequest", f"Bad Request: {parameter}")

    return moment


@functools.lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, "timeRangeEmpty", f"Invalid time zone: {name}") from None


def boundary(value: Any, default_tz: str, field: str) -> datetime:
    """Turn an event's ``start`` or ``end`` object into an aware datetime.

    All-day dates start at midnight in the calendar's zone, which is how
    Google places them when filtering by time.
    """
    if not isinstance(value, dict):
        raise ApiError(400, "required", f"Missing {field} time.")

    if value.get("date"):
        day = _parse_date(value["date"], field)
        return datetime.combine(day, time(), zone(default_tz))

    raw = value.get("dateTime")
    if not raw:
        raise ApiError(400, "required", f"Missing {field} time.")

    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ApiError(400, "invalid", f"Invalid {field} time.") from None

    if moment.tzinfo is None:
        tz_name = value.get("timeZone") or default_tz
        moment = moment.replace(tzinfo=zone(tz_name))
    return moment


def _parse_date(raw: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ApiError(400, "invalid", f"Invalid {field} date.") from None
