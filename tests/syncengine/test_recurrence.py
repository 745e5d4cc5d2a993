"""Expanding stored Google Calendar events into occurrences in a window."""

import time as clock
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from syncengine.recurrence import (
    MAX_OCCURRENCES_PER_SERIES,
    Expansion,
    Occurrence,
    expand_occurrences,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WORK = "work@example.com"
HOME = "home@example.com"


def timed(
    event_id: str,
    start: datetime,
    end: datetime | None = None,
    *,
    calendar: str = WORK,
    **extra: Any,
) -> dict[str, Any]:
    """Build an event the way events.list returns it, with a named zone."""
    event: dict[str, Any] = {
        "id": event_id,
        "calendar_id": calendar,
        "status": "confirmed",
        "start": _when(start),
        **extra,
    }
    if end is not None:
        event["end"] = _when(end)
    return event


def all_day(
    event_id: str, start: date, end: date, *, calendar: str = WORK, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "calendar_id": calendar,
        "status": "confirmed",
        "start": {"date": start.isoformat()},
        "end": {"date": end.isoformat()},
        **extra,
    }


def _when(moment: datetime) -> dict[str, str]:
    when = {"dateTime": moment.isoformat()}
    if isinstance(moment.tzinfo, ZoneInfo):
        when["timeZone"] = moment.tzinfo.key
    return when


def weekly_standup(*recurrence: str) -> dict[str, Any]:
    """Mondays 09:00-09:30 Berlin from 1 January 2024."""
    return timed(
        "standup",
        datetime(2024, 1, 1, 9, tzinfo=BERLIN),
        datetime(2024, 1, 1, 9, 30, tzinfo=BERLIN),
        recurrence=list(recurrence) or ["RRULE:FREQ=WEEKLY"],
    )


def expand(
    *events: dict[str, Any], start: datetime, end: datetime, **kwargs: Any
) -> Expansion:
    return expand_occurrences(events, start, end, **kwargs)


def starts(expansion: Expansion) -> list[datetime | date]:
    return [occurrence.start for occurrence in expansion.occurrences]


def january(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=BERLIN)


def test_a_weekly_series_skips_its_exdates() -> None:
    standup = weekly_standup(
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "EXDATE;TZID=Europe/Berlin:20240108T090000",
    )

    expansion = expand(standup, start=january(1), end=january(31))

    assert starts(expansion) == [january(1, 9), january(15, 9), january(22, 9)] + [
        january(29, 9)
    ]
    assert expansion.invalid == []


def test_exdates_in_date_and_utc_forms_hide_the_occurrence() -> None:
    standup = weekly_standup(
        "RRULE:FREQ=WEEKLY",
        "EXDATE;VALUE=DATE:20240108",
        "EXDATE:20240115T080000Z,20240122T080000Z",
    )

    expansion = expand(standup, start=january(1), end=january(31))

    assert starts(expansion) == [january(1, 9), january(29, 9)]


def test_occurrences_carry_google_instance_ids_and_the_master() -> None:
    standup = weekly_standup()

    (occurrence,) = expand(standup, start=january(8), end=january(9)).occurrences

    assert occurrence == Occurrence(
        event=standup,
        calendar_id=WORK,
        start=january(8, 9),
        end=datetime(2024, 1, 8, 9, 30, tzinfo=BERLIN),
        all_day=False,
        instance_id="standup_20240108T080000Z",
        recurring_event_id="standup",
    )
    assert occurrence.event is standup


def test_a_moved_occurrence_replaces_the_original_and_a_cancelled_one_hides() -> None:
    moved = timed(
        "standup_20240108T080000Z",
        datetime(2024, 1, 9, 14, tzinfo=BERLIN),
        datetime(2024, 1, 9, 15, tzinfo=BERLIN),
        recurringEventId="standup",
        originalStartTime=_when(january(8, 9)),
        summary="Standup, moved",
    )
    cancelled = {
        "id": "standup_20240115T080000Z",
        "calendar_id": WORK,
        "status": "cancelled",
        "recurringEventId": "standup",
        "originalStartTime": {"dateTime": "2024-01-15T08:00:00Z"},
    }

    expansion = expand(
        weekly_standup(), moved, cancelled, start=january(1), end=january(23)
    )

    assert starts(expansion) == [january(1, 9), january(9, 14), january(22, 9)]
    replaced = expansion.occurrences[1]
    assert replaced.event is moved
    assert replaced.instance_id == "standup_20240108T080000Z"
    assert replaced.end == datetime(2024, 1, 9, 15, tzinfo=BERLIN)


def test_an_exception_moved_into_the_window_shows_though_its_original_is_outside() -> (
    None
):
    moved_in = timed(
        "standup_20240129T080000Z",
        january(17, 11),
        january(17, 12),
        recurringEventId="standup",
        originalStartTime=_when(january(29, 9)),
    )

    week = expand(weekly_standup(), moved_in, start=january(15), end=january(22))
    original_week = expand(
        weekly_standup(), moved_in, start=january(29), end=january(31)
    )

    assert starts(week) == [january(15, 9), january(17, 11)]
    assert starts(original_week) == []


def test_exceptions_only_apply_to_masters_of_the_same_calendar() -> None:
    cancelled_at_home = {
        "id": "standup_20240108T080000Z",
        "calendar_id": HOME,
        "status": "cancelled",
        "recurringEventId": "standup",
        "originalStartTime": {"dateTime": "2024-01-08T09:00:00+01:00"},
    }

    expansion = expand(
        weekly_standup(), cancelled_at_home, start=january(8), end=january(9)
    )

    assert starts(expansion) == [january(8, 9)]


def test_an_exception_of_an_unknown_master_shows_on_its_own() -> None:
    orphan = timed(
        "gone_20240108T080000Z",
        january(8, 9),
        january(8, 10),
        recurringEventId="gone",
        originalStartTime=_when(january(8, 9)),
    )

    (occurrence,) = expand(orphan, start=january(8), end=january(9)).occurrences

    assert occurrence.instance_id == "gone_20240108T080000Z"
    assert occurrence.recurring_event_id == "gone"


def test_cancelled_events_and_series_show_nothing() -> None:
    cancelled_single = timed(
        "lunch", january(8, 12), january(8, 13), status="cancelled"
    )
    deleted_series = {"id": "standup", "calendar_id": WORK, "status": "cancelled"}
    exception_of_deleted = timed(
        "standup_20240108T080000Z",
        january(8, 10),
        january(8, 11),
        recurringEventId="standup",
        originalStartTime=_when(january(8, 9)),
    )
    cancelled_master = weekly_standup() | {"id": "retro", "status": "cancelled"}

    expansion = expand(
        cancelled_single,
        deleted_series,
        exception_of_deleted,
        cancelled_master,
        start=january(1),
        end=january(31),
    )

    assert expansion == Expansion([], [])


def test_a_new_york_meeting_stays_at_nine_local_across_both_dst_changes() -> None:
    meeting = timed(
        "sync",
        datetime(2024, 3, 1, 9, tzinfo=NEW_YORK),
        datetime(2024, 3, 1, 10, tzinfo=NEW_YORK),
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=FR"],
    )

    march = expand(
        meeting,
        start=datetime(2024, 3, 1, tzinfo=UTC),
        end=datetime(2024, 3, 16, tzinfo=UTC),
    )
    november = expand(
        meeting,
        start=datetime(2024, 10, 28, tzinfo=UTC),
        end=datetime(2024, 11, 9, tzinfo=UTC),
    )

    assert [o.start.isoformat() for o in march.occurrences] == [
        "2024-03-01T09:00:00-05:00",
        "2024-03-08T09:00:00-05:00",
        "2024-03-15T09:00:00-04:00",
    ]
    assert [o.start.isoformat() for o in november.occurrences] == [
        "2024-11-01T09:00:00-04:00",
        "2024-11-08T09:00:00-05:00",
    ]
    assert [o.instance_id for o in november.occurrences] == [
        "sync_20241101T130000Z",
        "sync_20241108T140000Z",
    ]


def test_multi_day_all_day_events_cover_their_days_and_end_exclusive() -> None:
    trip = all_day("trip", date(2024, 1, 10), date(2024, 1, 13))
    fortnightly_weekend = all_day(
        "weekend",
        date(2024, 1, 6),
        date(2024, 1, 8),
        recurrence=["RRULE:FREQ=WEEKLY;INTERVAL=2"],
    )

    on_12th = expand(trip, start=january(12), end=january(13), tz=BERLIN)
    on_13th = expand(trip, start=january(13), end=january(14), tz=BERLIN)
    sunday_21st = expand(fortnightly_weekend, start=january(21), end=january(22))

    assert [(o.start, o.end, o.all_day) for o in on_12th.occurrences] == [
        (date(2024, 1, 10), date(2024, 1, 13), True)
    ]
    assert on_13th.occurrences == []
    (weekend,) = sunday_21st.occurrences
    assert (weekend.start, weekend.end) == (date(2024, 1, 20), date(2024, 1, 22))
    assert weekend.instance_id == "weekend_20240120"


def test_all_day_dates_are_placed_at_midnight_in_the_viewers_zone() -> None:
    holiday = all_day("holiday", date(2024, 1, 10), date(2024, 1, 11))
    # 23:30 UTC on the 9th is already the 10th in Berlin.
    late_evening_utc = datetime(2024, 1, 9, 23, 30, tzinfo=UTC)
    window_end = late_evening_utc + timedelta(minutes=15)

    for_berlin = expand(holiday, start=late_evening_utc, end=window_end, tz=BERLIN)
    for_utc = expand(holiday, start=late_evening_utc, end=window_end)

    assert starts(for_berlin) == [date(2024, 1, 10)]
    assert starts(for_utc) == []


def test_a_split_series_continues_without_gap_or_overlap() -> None:
    old = weekly_standup("RRULE:FREQ=WEEKLY;UNTIL=20240114T225959Z")
    new = timed(
        "standup_R20240115",
        january(15, 10),
        january(15, 10) + timedelta(minutes=30),
        recurrence=["RRULE:FREQ=WEEKLY"],
    )

    expansion = expand(old, new, start=january(1), end=january(30))

    assert [(o.recurring_event_id, o.start) for o in expansion.occurrences] == [
        ("standup", january(1, 9)),
        ("standup", january(8, 9)),
        ("standup_R20240115", january(15, 10)),
        ("standup_R20240115", january(22, 10)),
        ("standup_R20240115", january(29, 10)),
    ]


def test_rdates_add_occurrences_in_every_form() -> None:
    standup = weekly_standup(
        "RRULE:FREQ=WEEKLY;COUNT=1",
        "RDATE;TZID=America/New_York:20240103T100000",
        "RDATE;VALUE=DATE:20240104",
        "RDATE:20240105T120000Z",
        "RDATE;VALUE=PERIOD:20240106T070000Z/PT1H",
    )

    expansion = expand(standup, start=january(1), end=january(31))

    assert starts(expansion) == [
        january(1, 9),
        january(3, 16),
        january(4, 9),
        january(5, 13),
        january(6, 8),
    ]


def test_count_ends_a_series_including_its_first_instance() -> None:
    standup = weekly_standup("RRULE:FREQ=WEEKLY;COUNT=3")

    expansion = expand(standup, start=january(1), end=january(31))

    assert starts(expansion) == [january(1, 9), january(8, 9), january(15, 9)]


@pytest.mark.parametrize(
    "until",
    ["20240115T080000Z", "20240115T090000", "20240115"],
    ids=["utc", "floating", "date"],
)
def test_until_includes_its_own_instance_in_any_form(until: str) -> None:
    standup = weekly_standup(f"RRULE:FREQ=WEEKLY;UNTIL={until}")

    expansion = expand(standup, start=january(1), end=january(31))

    assert starts(expansion) == [january(1, 9), january(8, 9), january(15, 9)]


def test_an_all_day_series_accepts_a_utc_until() -> None:
    birthdays = all_day(
        "cake",
        date(2024, 1, 1),
        date(2024, 1, 2),
        recurrence=["RRULE:FREQ=DAILY;UNTIL=20240103T000000Z"],
    )

    expansion = expand(birthdays, start=january(1), end=january(31))

    assert starts(expansion) == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]


def test_an_invalid_rrule_is_reported_and_the_rest_still_expands() -> None:
    broken = weekly_standup("RRULE:FREQ=SOMETIMES;BYDAY=XX") | {"id": "broken"}
    not_a_rule = weekly_standup("RRULE:FREQ=DAILY;BYHOUR=25") | {"id": "hour25"}
    lunch = timed("lunch", january(8, 12), january(8, 13))

    expansion = expand(
        broken, not_a_rule, weekly_standup(), lunch, start=january(8), end=january(9)
    )

    assert starts(expansion) == [january(8, 9), january(8, 12)]
    assert [(i.calendar_id, i.event_id) for i in expansion.invalid] == [
        (WORK, "broken"),
        (WORK, "hour25"),
    ]
    assert "BYHOUR=25" in expansion.invalid[1].message


def test_odd_times_fall_back_to_google_defaults() -> None:
    no_end = timed("reminder", january(8, 9))
    unknown_zone = timed("offsite", january(8, 10), january(8, 11))
    unknown_zone["start"]["timeZone"] = "Mars/Olympus_Mons"
    no_zone = {
        "id": "call",
        "calendar_id": WORK,
        "start": {"dateTime": "2024-01-08T11:00:00+01:00"},
        "end": {"dateTime": "2024-01-08T11:30:00+01:00"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
    }
    local_only = {
        "id": "gym",
        "calendar_id": WORK,
        "start": {"dateTime": "2024-01-08T18:00:00", "timeZone": "Europe/Berlin"},
    }
    all_day_no_end = {
        "id": "memo",
        "calendar_id": WORK,
        "start": {"date": "2024-01-08"},
    }

    expansion = expand(
        no_end,
        unknown_zone,
        no_zone,
        local_only,
        all_day_no_end,
        start=january(8),
        end=january(10),
    )

    assert [(o.instance_id, o.start, o.end) for o in expansion.occurrences] == [
        ("memo", date(2024, 1, 8), date(2024, 1, 9)),
        ("reminder", january(8, 9), january(8, 9)),
        ("offsite", january(8, 10), january(8, 11)),
        (
            "call_20240108T100000Z",
            january(8, 11),
            january(8, 11) + timedelta(minutes=30),
        ),
        ("gym", january(8, 18), january(8, 18)),
        (
            "call_20240109T100000Z",
            january(9, 11),
            january(9, 11) + timedelta(minutes=30),
        ),
    ]
    assert expansion.invalid == []


def test_a_rule_that_can_never_occur_keeps_only_its_first_instance_quickly() -> None:
    february_30th = weekly_standup("RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")

    began = clock.perf_counter()
    expansion = expand(
        february_30th, start=january(1), end=january(1) + timedelta(days=3650)
    )

    assert starts(expansion) == [january(1, 9)]
    assert clock.perf_counter() - began < 2


def test_hourly_rules_are_reported_instead_of_expanded() -> None:
    hourly = weekly_standup("RRULE:FREQ=HOURLY")

    expansion = expand(hourly, start=january(1), end=january(2))

    assert expansion.occurrences == []
    assert "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY" in expansion.invalid[0].message


def test_an_event_without_a_start_is_reported() -> None:
    headless = {"id": "headless", "calendar_id": WORK, "summary": "?"}

    expansion = expand(headless, start=january(8), end=january(9))

    assert expansion.occurrences == []
    assert expansion.invalid[0].event_id == "headless"


def test_a_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expand_occurrences([], datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_a_daily_series_over_a_century_is_capped() -> None:
    daily = timed(
        "water", january(1, 8), january(1, 9), recurrence=["RRULE:FREQ=DAILY"]
    )

    expansion = expand(daily, start=january(1), end=january(1) + timedelta(days=36500))

    assert len(expansion.occurrences) == MAX_OCCURRENCES_PER_SERIES
    assert expansion.occurrences[-1].start == january(1, 8) + timedelta(days=4999)


def test_a_series_started_decades_ago_jumps_to_the_window() -> None:
    daily = timed(
        "water",
        datetime(1990, 1, 1, 8, tzinfo=BERLIN),
        datetime(1990, 1, 1, 9, tzinfo=BERLIN),
        recurrence=["RRULE:FREQ=DAILY;INTERVAL=3"],
    )

    expansion = expand(daily, start=january(1), end=january(8))

    # 12418 days after 1 January 1990 is divisible by three.
    assert starts(expansion) == [january(3, 8), january(6, 8)]


def test_a_busy_week_expands_within_a_few_milliseconds() -> None:
    events = [
        timed(f"single{n}", january(1 + n % 28, 9), january(1 + n % 28, 10))
        for n in range(900)
    ] + [
        timed(
            f"weekly{n}",
            datetime(2019, 1, 1 + n % 28, 9, tzinfo=BERLIN),
            datetime(2019, 1, 1 + n % 28, 10, tzinfo=BERLIN),
            recurrence=["RRULE:FREQ=WEEKLY", "EXDATE:20190301T080000Z"],
        )
        for n in range(100)
    ]
    expand_occurrences(events, january(15), january(22))

    timings = []
    for _ in range(3):
        began = clock.perf_counter()
        expansion = expand_occurrences(events, january(15), january(22))
        timings.append(clock.perf_counter() - began)

    assert len(expansion.occurrences) == 7 * 32 + 100
    assert min(timings) < 0.05


# Properties


WINDOW_STARTS = st.datetimes(
    min_value=datetime(2015, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.just(UTC),
)
RULES = st.builds(
    "FREQ={};INTERVAL={}{}".format,
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    st.integers(1, 4),
    st.sampled_from(
        ["", ";BYDAY=MO,TH", ";BYDAY=-1FR", ";BYMONTHDAY=31", ";BYDAY=SU;WKST=SU"]
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    rule=RULES,
    first=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1)),
    window_start=WINDOW_STARTS,
    days=st.integers(1, 90),
)
def test_jumping_ahead_yields_what_replaying_the_whole_series_would(
    rule: str, first: datetime, window_start: datetime, days: int
) -> None:
    dtstart = first.replace(microsecond=0, tzinfo=BERLIN)
    hour = timedelta(hours=1)
    series = timed("s", dtstart, dtstart + hour, recurrence=[f"RRULE:{rule}"])
    window_end = window_start + timedelta(days=days)

    expansion = expand(series, start=window_start, end=window_end)

    replayed = rrulestr(rule, dtstart=dtstart).between(window_start - hour, window_end)
    expected = sorted({dtstart, *replayed} - {window_start - hour})
    expected = [s for s in expected if s < window_end and s + hour > window_start]
    # Compared as instants: dateutil keeps wall times that a DST gap skips
    # (02:30 on a spring-forward day), the expansion shows the real moment.
    assert [cast(datetime, s).astimezone(UTC) for s in starts(expansion)] == [
        s.astimezone(UTC) for s in expected
    ]


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 24 * 60), min_size=1, max_size=30),
    window_start=WINDOW_STARTS,
    minutes=st.integers(0, 24 * 60 * 14),
)
def test_every_occurrence_overlaps_the_window_once_and_in_order(
    offsets: list[int], window_start: datetime, minutes: int
) -> None:
    origin = window_start - timedelta(days=3)
    events = [
        timed(
            f"e{n}",
            origin + timedelta(minutes=offset * 5),
            origin + timedelta(minutes=offset * 5 + 45),
            recurrence=["RRULE:FREQ=DAILY;INTERVAL=2"] if n % 2 else [],
        )
        for n, offset in enumerate(offsets)
    ]
    window_end = window_start + timedelta(minutes=minutes)

    occurrences = expand(*events, start=window_start, end=window_end).occurrences

    assert all(o.start < window_end and o.end > window_start for o in occurrences)
    ids = [o.instance_id for o in occurrences]
    assert len(ids) == len(set(ids))
    assert occurrences == sorted(occurrences, key=lambda o: (o.start, o.instance_id))
