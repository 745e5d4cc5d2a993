"""Realistic, deterministic calendar data for tests, benchmarks and the demo."""

from __future__ import annotations

import base64
import logging
import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from emulator.resources import (
    build_event,
    instance_resource,
    merge_patch,
    validated_series,
)
from emulator.state import Calendar, Store
from emulator.times import local_iso, zone

__all__ = ["DEMO_EMAIL", "DEMO_REFRESH_TOKEN", "SeedSpec", "seed_account", "seed_demo"]

logger = logging.getLogger(__name__)

DEMO_EMAIL = "demo@example.com"
# Fixed so the demo works after every restart without a consent round trip.
DEMO_REFRESH_TOKEN = "1//emu-demo-refresh-token"

_CALENDAR_STYLES = [
    ("Work", "Europe/Berlin", "9", "work"),
    ("Personal", "America/New_York", "2", "personal"),
    ("Holidays", "Europe/London", "7", "holiday"),
    ("Team", "Asia/Tokyo", "17", "work"),
    ("Family", "Europe/Paris", "24", "personal"),
]
_WORK = [
    "Sprint planning",
    "Design review: sync engine",
    "1:1 with Priya",
    "Customer call - Northwind",
    "Architecture guild",
    "Incident retrospective",
    "Quarterly business review",
    "Hiring loop: backend engineer",
    "Roadmap workshop",
    "Security office hours",
]
_PERSONAL = [
    "Dentist",
    "Dinner with Sam and Alex",
    "Climbing gym",
    "Parent-teacher meeting",
    "Car service",
    "Yoga",
    "Birthday party",
    "Piano lesson",
    "Farmers market",
    "Call mum",
]
_HOLIDAYS = [
    "Bank holiday",
    "Summer break",
    "Company offsite",
    "Conference: PyCon",
    "Ski trip",
    "Team volunteering day",
]
_RECURRING = [
    "Daily stand-up",
    "Weekly team sync",
    "Fortnightly demo",
    "Monthly all-hands",
    "Running club",
    "Language exchange",
]
_PLACES = [
    "Room 4.12 Ada Lovelace, Friedrichstrasse 68, 10117 Berlin",
    "Google Meet",
    "Cafe Central, Herrengasse 14, 1010 Vienna",
    "HQ - Atrium, 1 Market Street, San Francisco, CA 94105",
    "Boulderhalle, Am Tempelhofer Berg 7, 10965 Berlin",
    "Home",
    "Zoom: https://zoom.example.com/j/81234567890",
]
_PEOPLE = [
    ("Priya Raman", "priya.raman@example.com"),
    ("Jonas Becker", "jonas.becker@example.com"),
    ("Amara Okafor", "amara.okafor@example.com"),
    ("Lucas Martin", "lucas.martin@example.org"),
    ("Mei Tanaka", "mei.tanaka@example.net"),
    ("Sofia Rossi", "sofia.rossi@example.com"),
    ("Noah Fischer", "noah.fischer@example.org"),
    ("Zoe Dubois", "zoe.dubois@example.net"),
]
_SENTENCES = [
    "Please review the linked document before the meeting and add comments.",
    "We will go through open action items from last time and agree on owners.",
    "Bring questions about the migration plan; the rollout starts next week.",
    "Agenda: status of each workstream, risks, and decisions we need today.",
    "Dial-in details are attached; join five minutes early to test audio.",
    "Notes from the previous session are in the shared folder under /notes.",
    "If you cannot attend, send a delegate or reply with your update in the doc.",
    "Parking is available in the garage on level -2; visitors sign in at desk.",
]
_RESPONSES = ["accepted", "accepted", "tentative", "needsAction", "declined"]


@dataclass
class SeedSpec:
    calendars: int = 1
    events_per_calendar: int = 100
    recurring_share: float = 0.1
    seed: int = 0
    days: int = 90


def seed_account(store: Store, email: str, spec: SeedSpec) -> list[str]:
    """Add ``spec.calendars`` filled calendars to the account; return their ids."""
    account = store.ensure_account(email)
    rng = random.Random(spec.seed * 7919 + zlib.crc32(email.encode()))
    ids = []
    for index in range(spec.calendars):
        name, tz, color, style = _CALENDAR_STYLES[index % len(_CALENDAR_STYLES)]
        summary = name if index < len(_CALENDAR_STYLES) else f"{name} {index + 1}"
        calendar = store.add_calendar(
            account.email,
            summary,
            description=f"{summary} calendar of {account.name}",
            time_zone=tz,
            color_id=color,
        )
        _fill(store, calendar, rng, spec, style)
        ids.append(calendar.id)
    return ids


def seed_demo(store: Store, seed: int = 0) -> None:
    """The demo account: Work (primary), Personal and Holidays, ~300 events."""
    account = store.ensure_account(DEMO_EMAIL, "Demo User")
    if DEMO_REFRESH_TOKEN not in store.auth.grants:
        store.auth.issue_grant(account.email, refresh_token=DEMO_REFRESH_TOKEN)
    primary = store.calendars[account.email]
    if primary.events:
        return

    rng = random.Random(seed)
    primary.summary = "Work"
    primary.time_zone = "Europe/Berlin"
    primary.color_id = "9"
    _fill(
        store,
        primary,
        rng,
        SeedSpec(events_per_calendar=150, recurring_share=0.12),
        "work",
    )
    for name, tz, color, style, count in (
        ("Personal", "America/New_York", "2", "personal", 100),
        ("Holidays", "Europe/London", "7", "holiday", 50),
    ):
        calendar = store.add_calendar(
            account.email, name, time_zone=tz, color_id=color, description=name
        )
        _fill(store, calendar, rng, SeedSpec(events_per_calendar=count), style)
    logger.info("Demo account %s seeded", DEMO_EMAIL)


def random_event_body(
    rng: random.Random, calendar: Calendar, days: int
) -> dict[str, Any]:
    """A plausible single event within ``days`` of today."""
    style = "holiday" if "holiday" in calendar.summary.lower() else "work"
    return _single(rng, calendar.time_zone, style, days)


def _fill(
    store: Store, calendar: Calendar, rng: random.Random, spec: SeedSpec, style: str
) -> None:
    total = spec.events_per_calendar
    created = 0
    while created < total:
        if rng.random() < spec.recurring_share:
            created += _add_series(store, calendar, rng, spec.days, total - created)
        else:
            _add(
                store, calendar, rng, _single(rng, calendar.time_zone, style, spec.days)
            )
            created += 1
    store.changed(calendar)


def _add(
    store: Store, calendar: Calendar, rng: random.Random, body: dict[str, Any]
) -> dict[str, Any]:
    resource = build_event(
        body,
        event_id=_event_id(rng),
        calendar_id=calendar.id,
        calendar_summary=calendar.summary,
        owner=calendar.owner,
        now=store.clock(),
    )
    store.write_event(
        calendar, resource, validated_series(resource, calendar.time_zone)
    )
    return resource


def _add_series(
    store: Store, calendar: Calendar, rng: random.Random, days: int, room: int
) -> int:
    """A recurring series with some moved and cancelled occurrences."""
    tz = calendar.time_zone
    start = _start_moment(rng, tz, -days, 0)
    rule = rng.choice(
        [
            f"RRULE:FREQ=WEEKLY;BYDAY={_weekday(start)}",
            "RRULE:FREQ=DAILY;COUNT=10",
            f"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY={_weekday(start)}",
            f"RRULE:FREQ=MONTHLY;BYMONTHDAY={start.day}",
            f"RRULE:FREQ=WEEKLY;COUNT=12;BYDAY={_weekday(start)}",
        ]
    )
    body = _timed(rng, rng.choice(_RECURRING), start, rng.choice([30, 45, 60]), tz)
    body["recurrence"] = [rule]
    master = _add(store, calendar, rng, body)
    series = calendar.events[master["id"]].series
    assert series is not None
    occurrences = series.occurrences(None, None, limit=12)
    picks = rng.sample(occurrences, min(len(occurrences), rng.randint(0, 2), room - 1))
    for local in picks:
        instance = instance_resource(master, series, local)
        if rng.random() < 0.5:
            change: dict[str, Any] = {"status": "cancelled"}
        else:
            moved = local.replace(tzinfo=series.tz) + timedelta(
                hours=rng.choice([1, 2, 24])
            )
            ends = moved + series.duration
            change = {
                "start": {"dateTime": local_iso(moved), "timeZone": series.tz_name},
                "end": {"dateTime": local_iso(ends), "timeZone": series.tz_name},
                "summary": instance.get("summary", "") + " (moved)",
            }
        exception = merge_patch(instance, change, store.clock())
        store.write_event(calendar, exception, None)
    return 1 + len(picks)


def _single(rng: random.Random, tz: str, style: str, days: int) -> dict[str, Any]:
    if style == "holiday" or rng.random() < 0.12:
        first = date.today() + timedelta(days=rng.randint(-days, days))
        length = 1 if rng.random() < 0.6 else rng.randint(2, 5)
        titles = _HOLIDAYS if style == "holiday" else _PERSONAL
        body = _base(rng, rng.choice(titles))
        body["start"] = {"date": first.isoformat()}
        body["end"] = {"date": (first + timedelta(days=length)).isoformat()}
        body["transparency"] = "transparent"
        return body

    titles = _WORK if style == "work" else _PERSONAL
    event_tz = tz if rng.random() < 0.85 else rng.choice(_CALENDAR_STYLES)[1]
    start = _start_moment(rng, event_tz, -days, days)
    minutes = rng.choice([15, 30, 45, 60, 90, 120])
    return _timed(rng, rng.choice(titles), start, minutes, event_tz)


def _timed(
    rng: random.Random, title: str, start: datetime, minutes: int, tz: str
) -> dict[str, Any]:
    body = _base(rng, title)
    end = start + timedelta(minutes=minutes)
    body["start"] = {"dateTime": local_iso(start), "timeZone": tz}
    body["end"] = {"dateTime": local_iso(end), "timeZone": tz}
    count = rng.randint(2, 4)
    body["attendees"] = [
        {"email": email, "displayName": name, "responseStatus": rng.choice(_RESPONSES)}
        for name, email in rng.sample(_PEOPLE, count)
    ]
    if rng.random() < 0.5:
        body["hangoutLink"] = f"https://meet.google.com/{_meet_code(rng)}"
    return body


def _base(rng: random.Random, title: str) -> dict[str, Any]:
    return {
        "summary": title,
        "description": " ".join(rng.sample(_SENTENCES, rng.randint(2, 3))),
        "location": rng.choice(_PLACES),
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": rng.choice([5, 10, 30])}],
        },
    }


def _start_moment(rng: random.Random, tz: str, lo_days: int, hi_days: int) -> datetime:
    day = date.today() + timedelta(days=rng.randint(lo_days, hi_days))
    clock = time(rng.randint(8, 18), rng.choice([0, 15, 30, 45]))
    return datetime.combine(day, clock, zone(tz))


def _weekday(moment: datetime) -> str:
    return ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][moment.weekday()]


def _event_id(rng: random.Random) -> str:
    return base64.b32hexencode(rng.randbytes(16)).decode().lower().rstrip("=")


def _meet_code(rng: random.Random) -> str:
    letters = "abcdefghijkmnopqrstuvwxyz"
    parts = ("".join(rng.choice(letters) for _ in range(n)) for n in (3, 4, 3))
    return "-".join(parts)
