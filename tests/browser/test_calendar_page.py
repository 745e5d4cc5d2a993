"""The calendar page in Chromium: connecting, the first sync, live changes."""

from __future__ import annotations

import os
import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from emulator.testing import control
from tests.googleside import OWNER_EMAIL

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-week.png"


def this_monday() -> date:
    today = datetime.now(BERLIN).date()
    return today - timedelta(days=today.weekday())


def at(day: date, hour: int, minute: int = 0) -> dict[str, str]:
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)
    return {"dateTime": moment.isoformat(), "timeZone": "Europe/Berlin"}


@pytest.fixture
def known_events(google: Any) -> dict[str, Any]:
    """A standup on Mondays and Wednesdays, a lunch on Tuesday, a trip at
    the weekend, in the owner's primary calendar this week."""
    monday = this_monday()
    events = google.events()
    standup = events.insert(
        calendarId="primary",
        body={
            "summary": "Standup",
            "start": at(monday - timedelta(days=14), 9),
            "end": at(monday - timedelta(days=14), 9, 15),
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE"],
        },
    ).execute()
    lunch = events.insert(
        calendarId="primary",
        body={
            "summary": "Lunch with Ada",
            "location": "Café Einstein",
            "start": at(monday + timedelta(days=1), 12, 30),
            "end": at(monday + timedelta(days=1), 13, 30),
        },
    ).execute()
    trip = events.insert(
        calendarId="primary",
        body={
            "summary": "Climbing trip",
            "start": {"date": (monday + timedelta(days=5)).isoformat()},
            "end": {"date": (monday + timedelta(days=7)).isoformat()},
        },
    ).execute()
    return {"standup": standup, "lunch": lunch, "trip": trip}


def day_column(page: Any, day: date) -> Any:
    label = f"{day:%A} {day.day} {day:%B}"
    return page.locator(f'section.day-column[aria-label="{label}"]')


def connect_google(page: Any) -> None:
    page.get_by_role("button", name="Connect a Google account").first.click()
    page.get_by_role("link", name=f"Allow as {OWNER_EMAIL}").click()
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))


def wait_for_channel(emulator: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channels = control(emulator, "channels", method="GET")
        listed = (
            channels.get("channels", channels)
            if isinstance(channels, dict)
            else channels
        )
        if listed:
            return
        time.sleep(0.1)
    raise AssertionError("no watch channel was made after the first sync")


def test_connecting_runs_a_first_sync_with_progress_then_shows_the_week(
    signed_in, emulator, known_events
):
    control(emulator, "faults", {"method": "calendar.events.list", "latency_ms": 600})
    page = signed_in

    connect_google(page)

    panel = page.locator("#sync-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(re.compile(r"\d+ of 1 calendars done"))
    expect(panel).to_contain_text("Sync complete")
    monday = this_monday()
    expect(day_column(page, monday)).to_contain_text("09:00 – 09:15")
    expect(day_column(page, monday)).to_contain_text("Standup")
    expect(day_column(page, monday + timedelta(days=2))).to_contain_text("Standup")
    expect(day_column(page, monday + timedelta(days=1))).not_to_contain_text("Standup")
    expect(page.locator(".banners")).to_contain_text("Climbing trip")


def test_event_details_open_in_a_dialog(signed_in, emulator, known_events):
    page = signed_in
    connect_google(page)
    expect(page.locator("#sync-panel")).to_contain_text("Sync complete")

    page.get_by_role("link", name=re.compile("Lunch with Ada")).click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Café Einstein")
    expect(dialog.get_by_role("link", name="Open in Google Calendar")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_an_event_changed_in_google_appears_without_a_reload(
    signed_in, emulator, google, known_events
):
    page = signed_in
    connect_google(page)
    expect(page.locator("#sync-panel")).to_contain_text("Sync complete")
    wait_for_channel(emulator)
    page.evaluate("window.sameDocument = true")

    google.events().patch(
        calendarId="primary",
        eventId=known_events["lunch"]["id"],
        body={"summary": "Lunch with Grace"},
    ).execute()

    lunch_day = day_column(page, this_monday() + timedelta(days=1))
    expect(lunch_day).to_contain_text("Lunch with Grace", timeout=2000)
    assert page.evaluate("window.sameDocument") is True


def test_stop_ends_a_running_sync(signed_in, emulator, known_events):
    control(emulator, "faults", {"method": "calendar.events.list", "latency_ms": 3000})
    page = signed_in
    connect_google(page)
    panel = page.locator("#sync-panel")
    expect(panel).to_contain_text("Syncing")

    panel.get_by_role("button", name="Stop").click()

    expect(panel).to_contain_text("Sync stopped")
    expect(panel.get_by_role("button", name="Stop")).to_be_hidden()
    assert page.evaluate("window.chronosSync.controller") is None


def test_month_and_agenda_views(signed_in, emulator, known_events):
    page = signed_in
    connect_google(page)
    expect(page.locator("#sync-panel")).to_contain_text("Sync complete")
    monday = this_monday()

    page.get_by_role("link", name="Month").click()
    expect(page.locator("#view-title")).to_have_text(f"{date.today():%B %Y}")
    standups = page.locator(".month-events", has_text="Standup")
    expect(standups.first).to_be_visible()
    assert "view=month" in page.url

    page.get_by_role("link", name="Agenda").click()
    saturday = page.locator(
        ".agenda-day", has_text=f"{monday + timedelta(days=5):%-d %b}"
    )
    expect(page.locator(".agenda")).to_contain_text("Standup")
    expect(saturday.first).to_contain_text("Climbing trip")

    page.get_by_role("link", name="Week").click()
    # Wait for the week to be swapped in: "Next" of the agenda moves further.
    expect(day_column(page, monday)).to_be_visible()
    page.get_by_role("link", name="Next").click()
    next_monday = monday + timedelta(days=7)
    expect(day_column(page, next_monday)).to_contain_text("Standup")


def test_the_week_view_looks_right(signed_in, emulator, known_events, tmp_path):
    control(
        emulator,
        "seed",
        {
            "email": OWNER_EMAIL,
            "calendars": 2,
            "events_per_calendar": 90,
            "recurring_share": 0.2,
            "days": 21,
            "seed": 7,
        },
    )
    page = signed_in
    connect_google(page)
    expect(page.locator("#sync-panel")).to_contain_text("Sync complete")
    expect(page.locator("#sync-panel")).to_be_hidden(timeout=10_000)
    page.reload()

    target = SCREENSHOT if os.environ.get("SAVE_SCREENSHOTS") else tmp_path / "week.png"
    target.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
