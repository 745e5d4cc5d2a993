"""Expand stored Google Calendar events into occurrences inside a time window.

The input is Calendar API v3 event resources as stored from ``events.list``
with ``singleEvents=false``: single events, recurring masters and the
exceptions that override one occurrence of a master.  Each resource also
carries Chronos's own ``calendar_id``; an exception only applies to a master
of the same calendar.

Recurrence follows RFC 5545 as Google uses it: a series expands in its
``start.timeZone`` (so 09:00 stays 09:00 local across DST changes), DTSTART
is always the first instance, and every occurrence lasts exactly as long as
the master (``end - start``, elapsed time).

Work is bounded: rules without COUNT jump straight to the window instead of
replaying the series from its first instance, a series contributes at most
``MAX_OCCURRENCES_PER_SERIES`` occurrences to one window, and a COUNT rule,
which must be replayed, is abandoned after ``MAX_SCANNED_PER_RULE``
instances; both caps are logged when hit.  Rules that can never occur are
recognised once and dropped, since dateutil would search until year 9999.
Only DAILY and coarser frequencies are expanded, the finest that Google
Calendar's editor offers; a finer FREQ is reported as invalid.
"""

import logging
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

__all__ = [
    "MAX_OCCURRENCES_PER_SERIES",
    "MAX_SCANNED_PER_RULE",
    "Expansion",
    "InvalidEvent",
    "Occurrence",
    "expand_occurrences",
    "recurrence_problem",
]

logger = logging.getLogger(__name__)

MAX_OCCURRENCES_PER_SERIES = 5_000
MAX_SCANNED_PER_RULE = 20_000

_FREQUENCIES = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Any of these stops dateutil from deriving the day of a rule from DTSTART.
_DAY_PARTS = {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYWEEKDAY", "BYEASTER"}
_STAMP = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?")

# A series start: an aware UTC datetime for timed series, a date for all-day.
_Key = datetime | date


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an event, as the calendar pages show it.

    ``start`` and ``end`` (exclusive) are aware datetimes in the event's own
    time zone for timed events and dates for all-day events.
    """

    event: Mapping[str, Any] = field(compare=False, repr=False)
    calendar_id: Hashable
    start: datetime | date
    end: datetime | date
    all_day: bool
    instance_id: str
    recurring_event_id: str | None


class InvalidEvent(NamedTuple):
    """An event that could not be expanded and was left out."""

    calendar_id: Hashable
    event_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Expansion:
    occurrences: list[Occurrence]
    invalid: list[InvalidEvent]


class _Invalid(Exception):
    """Raised while reading one event; the event is reported and skipped."""


class _When(NamedTuple):
    value: datetime | date
    zone: tzinfo

    @property
    def all_day(self) -> bool:
        return not isinstance(self.value, datetime)


@dataclass(frozen=True, slots=True, eq=False)
class _Rule:
    rule: rrule
    text: str
    dtstart: datetime
    until: datetime | None
    frequency: int
    interval: int
    week_start: int
    movable: bool  # without COUNT it can restart in any later period


# Compared by identity: parsed series are cached, and hashing one by value
# would cost as much as the window lookups the hash serves.
@dataclass(frozen=True, slots=True, eq=False)
class _Series:
    rules: tuple[_Rule, ...]
    exrules: tuple[_Rule, ...]
    rdates: tuple[_Key, ...]
    exdates: frozenset[_Key]


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime
    end: datetime
    tz: tzinfo

    def instant(self, value: datetime | date) -> datetime:
        if isinstance(value, datetime):
            return value

        return datetime.combine(value, time(), self.tz)

    def overlaps(self, start: datetime | date, end: datetime | date) -> bool:
        return self.instant(start) < self.end and self.instant(end) > self.start

    def search_bounds(self, all_day: bool, duration: timedelta) -> tuple[_Key, _Key]:
        """Return the range of series starts that can overlap the window."""
        if all_day:
            # A day past each side covers zones where midnight is skipped.
            first = self.start.astimezone(self.tz).date() - duration
            last = self.end.astimezone(self.tz).date()
            return first - timedelta(days=1), last + timedelta(days=1)

        return (self.start - duration).astimezone(UTC), self.end.astimezone(UTC)


@dataclass
class _Catalogue:
    singles: list[Mapping[str, Any]] = field(default_factory=list)
    masters: list[Mapping[str, Any]] = field(default_factory=list)
    exceptions: list[Mapping[str, Any]] = field(default_factory=list)
    # (calendar_id, instance_id) of occurrences an exception hides or replaces.
    overridden: set[tuple[Hashable, str]] = field(default_factory=set)
    # (calendar_id, event_id) of deleted events, masters included.
    cancelled: set[tuple[Hashable, Any]] = field(default_factory=set)


def expand_occurrences(
    events: Iterable[Mapping[str, Any]],
    window_start: datetime,
    window_end: datetime,
    *,
    tz: tzinfo = UTC,
) -> Expansion:
    """Return the occurrences overlapping ``[window_start, window_end)``.

    All-day dates are floating: they are placed at midnight in ``tz``
    (normally the viewer's zone) to decide whether they overlap the window.
    Occurrences are sorted by start, then instance id.  Events that cannot be
    read, such as a series with a garbage RRULE, are left out and listed in
    ``Expansion.invalid``; they never stop the rest from expanding.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("window_start and window_end must be timezone-aware")

    window = _Window(window_start, window_end, tz)
    catalogue = _catalogue(events)
    occurrences: list[Occurrence] = []
    invalid: list[InvalidEvent] = []
    for event, expand in _work(catalogue):
        try:
            occurrences.extend(expand(event, window, catalogue))
        except _Invalid as error:
            calendar_id = event.get("calendar_id")
            invalid.append(InvalidEvent(calendar_id, event.get("id"), str(error)))

    occurrences.sort(key=lambda item: (window.instant(item.start), item.instance_id))
    return Expansion(occurrences, invalid)


def recurrence_problem(event: Mapping[str, Any]) -> str | None:
    """Why a recurring series cannot be expanded; None when it can.

    Events that are not series, and deleted series, have no such problem.
    """
    if not event.get("recurrence") or event.get("status") == "cancelled":
        return None

    try:
        _series(event.get("recurrence"), _parse_when(event.get("start"), "start"))
    except _Invalid as error:
        return str(error)
    return None


_Expander = Callable[[Mapping[str, Any], _Window, _Catalogue], list[Occurrence]]


def _catalogue(events: Iterable[Mapping[str, Any]]) -> _Catalogue:
    catalogue = _Catalogue()
    for event in events:
        calendar_id = event.get("calendar_id")
        cancelled = event.get("status") == "cancelled"
        if event.get("recurringEventId"):
            _file_exception(catalogue, event, cancelled)
        elif cancelled:
            catalogue.cancelled.add((calendar_id, event.get("id")))
        elif event.get("recurrence"):
            catalogue.masters.append(event)
        else:
            catalogue.singles.append(event)
    return catalogue


def _file_exception(
    catalogue: _Catalogue, event: Mapping[str, Any], cancelled: bool
) -> None:
    instance_id = _exception_instance_id(event)
    if instance_id is not None:
        catalogue.overridden.add((event.get("calendar_id"), instance_id))
    if not cancelled:
        catalogue.exceptions.append(event)


def _work(catalogue: _Catalogue) -> Iterator[tuple[Mapping[str, Any], _Expander]]:
    for event in catalogue.singles:
        yield event, _single_occurrences
    for event in catalogue.masters:
        yield event, _series_occurrences
    for event in catalogue.exceptions:
        yield event, _exception_occurrences


def _single_occurrences(
    event: Mapping[str, Any], window: _Window, catalogue: _Catalogue
) -> list[Occurrence]:
    return _own_occurrences(event, window, str(event.get("id")), None)


def _exception_occurrences(
    event: Mapping[str, Any], window: _Window, catalogue: _Catalogue
) -> list[Occurrence]:
    master_id = str(event["recurringEventId"])
    if (event.get("calendar_id"), master_id) in catalogue.cancelled:
        return []

    # Without a readable originalStartTime the exception is still a real
    # event; its own id is the best stable name left.
    instance_id = _exception_instance_id(event) or str(event.get("id"))
    return _own_occurrences(event, window, instance_id, master_id)


def _own_occurrences(
    event: Mapping[str, Any],
    window: _Window,
    instance_id: str,
    master_id: str | None,
) -> list[Occurrence]:
    start = _parse_when(event.get("start"), "start")
    # Most stored events lie outside the window; skip reading their end.
    if window.instant(start.value) >= window.end:
        return []

    end = _end(event, start)
    if window.instant(end) <= window.start:
        return []

    calendar_id = event.get("calendar_id")
    return [
        Occurrence(
            event, calendar_id, start.value, end, start.all_day, instance_id, master_id
        )
    ]


def _series_occurrences(
    master: Mapping[str, Any], window: _Window, catalogue: _Catalogue
) -> list[Occurrence]:
    calendar_id, master_id = master.get("calendar_id"), str(master.get("id"))
    if (calendar_id, master.get("id")) in catalogue.cancelled:
        return []

    start, end = _span(master)
    series = _series(master.get("recurrence"), start)
    duration = _length(start.value, end)
    first, last = window.search_bounds(start.all_day, duration)
    occurrences = []
    for key in _series_keys(series, first, last, master_id):
        instance_id = f"{master_id}_{_stamp(key)}"
        if (calendar_id, instance_id) in catalogue.overridden:
            continue

        begin, finish = _key_span(key, duration, start.zone)
        if window.overlaps(begin, finish):
            occurrence = Occurrence(
                master,
                calendar_id,
                begin,
                finish,
                start.all_day,
                instance_id,
                master_id,
            )
            occurrences.append(occurrence)
    return occurrences


def _exception_instance_id(event: Mapping[str, Any]) -> str | None:
    try:
        original = _parse_when(event.get("originalStartTime"), "originalStartTime")
    except _Invalid:
        return None

    return f"{event['recurringEventId']}_{_stamp(original.value)}"


def _stamp(value: datetime | date) -> str:
    """Format a start the way Google suffixes instance ids."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        clock = f"T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"
        return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{clock}"

    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _key_span(
    key: _Key, duration: timedelta, zone: tzinfo
) -> tuple[datetime | date, datetime | date]:
    if isinstance(key, datetime):
        return key.astimezone(zone), (key + duration).astimezone(zone)

    return key, key + duration


def _length(start: datetime | date, end: datetime | date) -> timedelta:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return end - start

    return timedelta(days=end.toordinal() - start.toordinal())


# Reading start, end and time zones


def _span(event: Mapping[str, Any]) -> tuple[_When, datetime | date]:
    start = _parse_when(event.get("start"), "start")
    return start, _end(event, start)


def _end(event: Mapping[str, Any], start: _When) -> datetime | date:
    try:
        end: datetime | date | None = _parse_when(event.get("end"), "end").value
    except _Invalid:
        end = None
    return _sane_end(start.value, end)


def _sane_end(start: datetime | date, end: datetime | date | None) -> datetime | date:
    """Return ``end``, or Google's default when it is missing or before start."""
    if isinstance(start, datetime):
        if isinstance(end, datetime) and end >= start:
            return end

        return start

    if end is None or isinstance(end, datetime) or end <= start:
        return start + timedelta(days=1)

    return end


def _parse_when(raw: object, label: str) -> _When:
    if not isinstance(raw, dict | Mapping):
        raise _Invalid(f"{label} is missing; the event needs a date or dateTime")

    zone = _zone(raw.get("timeZone"))
    try:
        if raw.get("date"):
            return _When(date.fromisoformat(raw["date"]), zone or UTC)

        moment = datetime.fromisoformat(raw["dateTime"])
    except (KeyError, TypeError, ValueError) as error:
        raise _Invalid(f"{label} has no valid date or dateTime: {raw!r}") from error

    if moment.tzinfo is None:
        # Google accepts a local dateTime without offset when timeZone is set.
        moment = moment.replace(tzinfo=zone or UTC)
    zone = zone or moment.tzinfo or UTC
    if moment.tzinfo is not zone:
        moment = moment.astimezone(zone)
    return _When(moment, zone)


def _zone(name: object) -> tzinfo | None:
    if not isinstance(name, str) or not name:
        return None

    return _named_zone(name)


@lru_cache(maxsize=512)
def _named_zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        logger.warning("Unknown time zone %r; using the event's UTC offset", name)
        return None


# Reading a series


def _series(recurrence: object, start: _When) -> _Series:
    if not isinstance(recurrence, list | tuple) or not all(
        isinstance(line, str) for line in recurrence
    ):
        raise _Invalid(f"recurrence must be a list of strings, not {recurrence!r}")

    if isinstance(start.value, datetime):
        # dateutil drops microseconds from instances; DTSTART must match.
        dtstart = start.value.replace(microsecond=0)
    else:
        # All-day series expand as naive midnights: dates float.
        dtstart = datetime.combine(start.value, time())
    series = _cached_series(tuple(recurrence), dtstart, start.zone)
    if isinstance(series, str):
        raise _Invalid(series)

    return series


@lru_cache(maxsize=4096)
def _cached_series(
    lines: tuple[str, ...], dtstart: datetime, zone: tzinfo
) -> _Series | str:
    # The zone is part of the key: aware datetimes in different zones that
    # name the same instant compare equal, yet expand differently.
    try:
        return _parse_series(lines, dtstart, zone)
    except _Invalid as error:
        return str(error)


def _parse_series(lines: tuple[str, ...], dtstart: datetime, zone: tzinfo) -> _Series:
    rules: list[_Rule] = []
    exrules: list[_Rule] = []
    # RFC 5545 counts DTSTART as the first instance even off the rule.
    rdates: set[_Key] = {_key(dtstart)}
    exdates: set[_Key] = set()
    for line in lines:
        name, params, value = _split_line(line)
        if name in ("RRULE", "EXRULE"):
            rule = _parse_rule(value, dtstart, zone)
            bucket = rules if name == "RRULE" else exrules
            bucket.extend([rule] if rule is not None else [])
        elif name == "RDATE":
            rdates.update(_parse_dates(params, value, dtstart, zone))
        elif name == "EXDATE":
            exdates.update(_parse_dates(params, value, dtstart, zone))
    return _Series(tuple(rules), tuple(exrules), tuple(rdates), frozenset(exdates))


def _split_line(line: str) -> tuple[str, dict[str, str], str]:
    head, colon, value = line.strip().partition(":")
    if not colon:
        raise _Invalid(f"recurrence line {line!r} has no ':'")

    name, *raw_params = head.split(";")
    params = {}
    for raw in raw_params:
        key, _, param = raw.partition("=")
        params[key.strip().upper()] = param.strip().strip('"')
    return name.strip().upper(), params, value.strip()


def _parse_rule(value: str, dtstart: datetime, zone: tzinfo) -> _Rule | None:
    """Read one RRULE or EXRULE; None for a rule that can never occur."""
    parts = _rule_parts(value)
    frequency = _FREQUENCIES.get(parts.get("FREQ", ""))
    if frequency is None:
        raise _Invalid(
            f"RRULE {value!r} needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY; "
            "fix it in Google"
        )

    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise _Invalid(f"RRULE {value!r} needs a positive INTERVAL; fix it in Google")

    # UNTIL is applied while iterating: dateutil refuses an UNTIL whose
    # awareness differs from DTSTART, which Google data often has.
    until = _parse_until(parts.pop("UNTIL", None), dtstart, zone)
    parts = _with_implied_parts(parts, dtstart)
    week_start = _WEEKDAYS.index(parts["WKST"]) if parts["WKST"] in _WEEKDAYS else 0
    rule = _Rule(
        _build_rule(value, parts, dtstart),
        value,
        dtstart,
        until,
        frequency,
        int(interval),
        week_start,
        movable="COUNT" not in parts,
    )
    # Easter does not follow the 400-year cycle the emptiness test relies on.
    if "BYEASTER" not in parts and _never_occurs(rule):
        return None

    return rule


def _build_rule(value: str, parts: Mapping[str, str], dtstart: datetime) -> rrule:
    text = ";".join(f"{key}={setting}" for key, setting in parts.items())
    try:
        rule = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError, OverflowError) as error:
        raise _Invalid(
            f"RRULE {value!r} is invalid ({error}); fix it in Google"
        ) from error

    if not isinstance(rule, rrule):
        raise _Invalid(f"RRULE {value!r} is not a single rule; fix it in Google")

    return rule


def _never_occurs(rule: _Rule) -> bool:
    """Tell whether the rule has no instance at all.

    dateutil searches up to year 9999 for the next instance, which takes
    seconds for a rule such as BYMONTH=2;BYMONTHDAY=30.  The calendar and
    the rule's periods both repeat every 400 * INTERVAL years, so a rule
    without instances in its last such span before 9999 has none anywhere.
    """
    span_start = date(max(MAXYEAR - 400 * rule.interval - 1, 1), 1, 1)
    free = _restarted(replace(rule, movable=True), span_start)
    return next(iter(free), None) is None


def _rule_parts(value: str) -> dict[str, str]:
    parts = {}
    for part in value.strip().upper().split(";"):
        if not part:
            continue

        key, equals, setting = part.partition("=")
        if not equals:
            raise _Invalid(f"RRULE part {part!r} has no '='")

        parts[key.strip()] = setting.strip()
    return parts


def _with_implied_parts(parts: dict[str, str], dtstart: datetime) -> dict[str, str]:
    """Spell out what dateutil would derive from DTSTART.

    With them explicit the rule no longer depends on DTSTART, other than
    through the alignment of its periods, so it can restart in a later
    period and produce the same instances from there on.
    """
    implied = {
        "WKST": "MO",
        "BYHOUR": str(dtstart.hour),
        "BYMINUTE": str(dtstart.minute),
        "BYSECOND": str(dtstart.second),
    }
    if not parts.keys() & _DAY_PARTS:
        if parts["FREQ"] == "YEARLY":
            implied["BYMONTH"] = str(dtstart.month)
            implied["BYMONTHDAY"] = str(dtstart.day)
        elif parts["FREQ"] == "MONTHLY":
            implied["BYMONTHDAY"] = str(dtstart.day)
        elif parts["FREQ"] == "WEEKLY":
            implied["BYDAY"] = _WEEKDAYS[dtstart.weekday()]
    return implied | parts


def _parse_until(value: str | None, dtstart: datetime, zone: tzinfo) -> datetime | None:
    """Return UNTIL in the same terms as the instances dateutil yields."""
    if value is None:
        return None

    stamp = _parse_stamp(value, zone)
    if dtstart.tzinfo is None:
        if isinstance(stamp, datetime):
            return stamp.astimezone(zone).replace(tzinfo=None)

        return datetime.combine(stamp, time())

    if isinstance(stamp, datetime):
        return stamp

    # A date UNTIL on a timed series keeps that whole local day.
    return datetime.combine(stamp, time.max, zone)


def _parse_dates(
    params: Mapping[str, str], value: str, dtstart: datetime, zone: tzinfo
) -> list[_Key]:
    value_zone = _zone(params.get("TZID")) or zone
    keys = []
    for item in value.split(","):
        # A PERIOD value is "start/end" or "start/duration"; the series
        # duration wins, as for every other instance.
        stamp = _parse_stamp(item.partition("/")[0], value_zone)
        keys.append(_key(_in_series_terms(stamp, dtstart, zone)))
    return keys


def _in_series_terms(
    stamp: datetime | date, dtstart: datetime, zone: tzinfo
) -> datetime:
    if dtstart.tzinfo is None:
        if isinstance(stamp, datetime):
            stamp = stamp.astimezone(zone).date()
        return datetime.combine(stamp, time())

    if isinstance(stamp, datetime):
        return stamp

    # A bare date on a timed series means that day's instance.
    return datetime.combine(stamp, dtstart.timetz())


def _parse_stamp(value: str, zone: tzinfo) -> datetime | date:
    """Read an iCalendar DATE or DATE-TIME; floating times are in ``zone``."""
    match = _STAMP.fullmatch(value.strip().upper())
    if match is None:
        raise _Invalid(f"{value!r} is not an iCalendar date or date-time")

    year, month, day, hour, minute, second, utc = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))

        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC if utc else zone,
        )
    except ValueError as error:
        raise _Invalid(f"{value!r} is not a valid date or date-time") from error


def _key(moment: datetime) -> _Key:
    if moment.tzinfo is None:
        return moment.date()

    return moment.astimezone(UTC)


# Expanding a series


def _series_keys(
    series: _Series, first: _Key, last: _Key, master_id: str
) -> list[_Key]:
    """Return the series starts in ``[first, last)``, capped and sorted."""
    keys = {key for key in series.rdates if first <= key < last}
    for rule in series.rules:
        keys.update(islice(_rule_keys(rule, first, last), MAX_OCCURRENCES_PER_SERIES))
    for rule in series.exrules:
        keys.difference_update(_rule_keys(rule, first, last))
    keys -= series.exdates
    ordered = sorted(keys)
    if len(ordered) > MAX_OCCURRENCES_PER_SERIES:
        logger.warning(
            "Series %s has %d occurrences in the window; keeping the first %d",
            master_id,
            len(ordered),
            MAX_OCCURRENCES_PER_SERIES,
        )
    return ordered[:MAX_OCCURRENCES_PER_SERIES]


def _rule_keys(rule: _Rule, first: _Key, last: _Key) -> Iterator[_Key]:
    instances = islice(_restarted(rule, first), MAX_SCANNED_PER_RULE)
    scanned = 0
    for moment in instances:
        scanned += 1
        if rule.until is not None and moment > rule.until:
            return

        key = _key(moment)
        if key >= last:
            return

        if key >= first:
            yield key
    if scanned == MAX_SCANNED_PER_RULE:
        logger.warning(
            "Stopped expanding RRULE %r after %d instances",
            rule.text,
            MAX_SCANNED_PER_RULE,
        )


def _restarted(rule: _Rule, first: _Key) -> rrule:
    """Return the rule restarted in the period holding ``first`` if possible."""
    if not rule.movable:
        return rule.rule

    if isinstance(first, datetime):
        day = first.astimezone(rule.dtstart.tzinfo).date()
    else:
        day = first
    period = _period_start(rule, day)
    if period is None:
        return rule.rule

    return _rule_from(rule, period)


@lru_cache(maxsize=4096)
def _rule_from(rule: _Rule, period: date) -> rrule:
    # Pages ask for the same few weeks over and over; building the rule
    # is a good part of the cost of expanding a series for one window.
    return rule.rule.replace(
        dtstart=datetime.combine(period, time(), rule.dtstart.tzinfo)
    )


def _period_start(rule: _Rule, day: date) -> date | None:
    """Return the first day of the rule's period holding ``day``.

    None when that is the period of DTSTART, or earlier.
    """
    origin, step = rule.dtstart.date(), rule.interval
    if rule.frequency == YEARLY:
        years = (day.year - origin.year) // step * step
        return date(origin.year + years, 1, 1) if years > 0 else None

    if rule.frequency == MONTHLY:
        start = origin.year * 12 + origin.month - 1
        months = (day.year * 12 + day.month - 1 - start) // step * step
        index = start + months
        return date(index // 12, index % 12 + 1, 1) if months > 0 else None

    if rule.frequency == WEEKLY:
        step *= 7
        origin -= timedelta(days=(origin.weekday() - rule.week_start) % 7)
    days = (day - origin).days // step * step
    return origin + timedelta(days=days) if days > 0 else None
