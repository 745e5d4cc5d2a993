"""Expansion of recurring events (RRULE, EXRULE, RDATE, EXDATE).

Rules expand in the master's wall-clock time, as RFC 5545 and Google do, so a
weekly 10:00 meeting stays at 10:00 across daylight-saving changes.
Occurrences are naive local datetimes; ``Series`` turns them into instants.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from emulator.times import boundary, local_iso, zone

__all__ = ["Series", "parse_series", "split_instance_id"]

_UNTIL = re.compile(r"UNTIL=([0-9TZ]+)", re.IGNORECASE)
_INSTANCE_ID = re.compile(r"^(.+)_(\d{8}(?:T\d{6}Z)?)$")
_FAR_FUTURE = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Series:
    """A parsed recurrence: where it starts, how long each occurrence lasts."""

    tz_name: str
    tz: ZoneInfo
    all_day: bool
    dtstart: datetime
    duration: timedelta
    rules: rruleset
    finite: bool

    def instant(self, local: datetime) -> float:
        return local.replace(tzinfo=self.tz).timestamp()

    def to_local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)

    def iterate(self, after: datetime | None = None) -> Iterator[datetime]:
        if after is None or after <= self.dtstart:
            return iter(self.rules)
        return self.rules.xafter(after, inc=True)

    def occurrences(
        self, lo: float | None, hi: float | None, limit: int = 2000
    ) -> list[datetime]:
        """Occurrences ending after ``lo`` and starting before ``hi``.

        Open-ended series stop three years ahead, as an unbounded listing
        has to end somewhere.
        """
        span = self.duration.total_seconds()
        hi_ts = hi if hi is not None else self.instant(datetime.now() + _FAR_FUTURE)
        after = None if lo is None else self.to_local(lo - span) - timedelta(days=1)
        found: list[datetime] = []
        for local in self.iterate(after):
            start = self.instant(local)
            if start >= hi_ts or len(found) >= limit:
                break
            if lo is not None and start + span <= lo:
                continue
            found.append(local)
        return found

    def is_occurrence(self, local: datetime) -> bool:
        return bool(self.rules.between(local, local, inc=True))

    def span(self) -> tuple[float, float]:
        """First start and last end of the series (``inf`` when open-ended)."""
        first = next(self.iterate(), self.dtstart)
        start = self.instant(first)
        if not self.finite:
            return start, math.inf

        tail = deque(self.rules, maxlen=1)
        last = tail[0] if tail else self.dtstart
        return start, self.instant(last) + self.duration.total_seconds()

    def suffix(self, local: datetime) -> str:
        """The part of an instance id after the master id."""
        if self.all_day:
            return local.strftime("%Y%m%d")
        moment = local.replace(tzinfo=self.tz).astimezone(UTC)
        return moment.strftime("%Y%m%dT%H%M%SZ")

    def parse_suffix(self, suffix: str) -> datetime | None:
        if self.all_day and len(suffix) == 8:
            return datetime.strptime(suffix, "%Y%m%d")
        if self.all_day or len(suffix) != 16:
            return None

        moment = datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def bounds(self, local: datetime) -> tuple[dict[str, str], dict[str, str]]:
        """The ``start`` and ``end`` objects of one occurrence."""
        if self.all_day:
            end_day = (local + self.duration).date()
            return {"date": local.date().isoformat()}, {"date": end_day.isoformat()}

        start = local.replace(tzinfo=self.tz)
        end = (start.astimezone(UTC) + self.duration).astimezone(self.tz)
        return (
            {"dateTime": local_iso(start), "timeZone": self.tz_name},
            {"dateTime": local_iso(end), "timeZone": self.tz_name},
        )


def parse_series(master: dict[str, Any], default_tz: str) -> Series:
    """Parse a master event's recurrence; raises ``ValueError`` if malformed."""
    start, end = master["start"], master["end"]
    all_day = bool(start.get("date"))
    tz_name = start.get("timeZone") or default_tz
    tz = zone(tz_name)
    if all_day:
        dtstart = datetime.combine(date.fromisoformat(start["date"]), time())
        duration = datetime.combine(date.fromisoformat(end["date"]), time()) - dtstart
    else:
        first = boundary(start, tz_name, "start")
        dtstart = first.astimezone(tz).replace(tzinfo=None)
        duration = boundary(end, tz_name, "end") - first

    rules = rruleset()
    finite = True
    has_rule = False
    for line in master.get("recurrence") or []:
        name, _, value = str(line).partition(":")
        key, *params = name.split(";")
        key = key.upper()
        if key in ("RRULE", "EXRULE"):
            rule = _rule(_local_until(value, tz, all_day), dtstart)
            if key == "EXRULE":
                rules.exrule(rule)
                continue
            has_rule = True
            upper = value.upper()
            finite = finite and ("COUNT=" in upper or "UNTIL=" in upper)
            rules.rrule(rule)
        elif key in ("RDATE", "EXDATE"):
            for item in value.split(","):
                local = _local_value(item.strip(), params, tz, dtstart)
                (rules.rdate if key == "RDATE" else rules.exdate)(local)
        else:
            raise ValueError(f"unsupported recurrence line {line!r}")

    if not has_rule:
        rules.rdate(dtstart)
    return Series(tz_name, tz, all_day, dtstart, duration, rules, finite)


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """Split ``<masterId>_20261203T100000Z`` into master id and suffix."""
    match = _INSTANCE_ID.match(event_id)
    if match is None:
        return None
    return match.group(1), match.group(2)


def _rule(value: str, dtstart: datetime) -> rrule:
    parsed = rrulestr(value, dtstart=dtstart)
    if not isinstance(parsed, rrule):
        raise ValueError(f"not a single rule: {value!r}")
    return parsed


def _local_until(value: str, tz: ZoneInfo, all_day: bool) -> str:
    """Rewrite UNTIL in wall-clock time, matching the naive DTSTART.

    dateutil refuses to mix a naive DTSTART with a UTC UNTIL, and clients
    send both UTC datetimes and bare dates.
    """
    match = _UNTIL.search(value)
    if match is None:
        return value

    raw = match.group(1).upper()
    if raw.endswith("Z"):
        moment = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        local = moment.astimezone(tz).replace(tzinfo=None)
    elif len(raw) == 8:
        local = datetime.strptime(raw, "%Y%m%d")
        local = local if all_day else local.replace(hour=23, minute=59, second=59)
    else:
        local = datetime.strptime(raw, "%Y%m%dT%H%M%S")
    return (
        value[: match.start(1)]
        + local.strftime("%Y%m%dT%H%M%S")
        + value[match.end(1) :]
    )


def _local_value(
    raw: str, params: list[str], tz: ZoneInfo, dtstart: datetime
) -> datetime:
    if len(raw) == 8:
        return datetime.combine(datetime.strptime(raw, "%Y%m%d").date(), dtstart.time())
    if raw.upper().endswith("Z"):
        moment = datetime.strptime(raw.upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return moment.astimezone(tz).replace(tzinfo=None)

    local = datetime.strptime(raw, "%Y%m%dT%H%M%S")
    tzid = next((p[5:] for p in params if p.startswith("TZID=")), None)
    if tzid is None:
        return local
    return local.replace(tzinfo=zone(tzid)).astimezone(tz).replace(tzinfo=None)
