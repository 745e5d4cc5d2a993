"""``events.list``: paging, tokens, filters and Google's refusals."""

from __future__ import annotations

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from emulator.server import EmulatorServer
from emulator.testing import control
from tests.emulator.conftest import ALICE, full_sync, timed_event, weekly_series


def insert_ten(service: Resource) -> set[str]:
    ids = set()
    for day in range(1, 11):
        body = timed_event(
            f"Event {day}",
            f"2026-12-{day:02d}T09:00:00Z",
            f"2026-12-{day:02d}T10:00:00Z",
        )
        ids.add(
            service.events().insert(calendarId="primary", body=body).execute()["id"]
        )
    return ids


def test_pages_of_three_join_to_all_events_with_sync_token_only_on_last(
    alice: Resource,
) -> None:
    ids = insert_ten(alice)
    seen: list[str] = []
    pages = []
    page_token = None
    while True:
        page = (
            alice.events()
            .list(calendarId="primary", maxResults=3, pageToken=page_token)
            .execute()
        )
        pages.append(page)
        seen.extend(item["id"] for item in page["items"])
        page_token = page.get("nextPageToken")
        if page_token is None:
            break

    assert sorted(seen) == sorted(ids)
    assert [len(p["items"]) for p in pages] == [3, 3, 3, 1]
    assert all("nextSyncToken" not in p for p in pages[:-1])
    assert "nextPageToken" not in pages[-1] and pages[-1]["nextSyncToken"]
    assert pages[0]["kind"] == "calendar#events"
    assert pages[0]["accessRole"] == "owner"


def test_listed_events_carry_googles_fields(alice: Resource) -> None:
    insert_ten(alice)

    event = alice.events().list(calendarId="primary").execute()["items"][0]

    for name in ("id", "etag", "htmlLink", "created", "updated", "iCalUID", "sequence"):
        assert name in event
    assert event["kind"] == "calendar#event"
    assert event["status"] == "confirmed"
    assert event["updated"].endswith("Z") and len(event["updated"]) == 24
    assert event["organizer"]["email"] == ALICE


def test_max_results_above_2500_is_clamped_to_2500(
    emulator: EmulatorServer, alice: Resource
) -> None:
    seeded = control(
        emulator,
        "seed",
        {"email": ALICE, "events_per_calendar": 2600, "recurring_share": 0},
    )
    calendar_id = seeded["calendars"][0]

    page = alice.events().list(calendarId=calendar_id, maxResults=5000).execute()

    assert len(page["items"]) == 2500
    assert "nextPageToken" in page


def test_sync_token_combined_with_time_min_is_refused(alice: Resource) -> None:
    _, token = full_sync(alice)

    with pytest.raises(HttpError) as caught:
        alice.events().list(
            calendarId="primary", syncToken=token, timeMin="2026-01-01T00:00:00Z"
        ).execute()

    assert caught.value.resp.status == 400


def test_expired_sync_token_answers_410_full_sync_required(
    emulator: EmulatorServer, alice: Resource
) -> None:
    _, token = full_sync(alice)
    control(emulator, "expire-sync-tokens")

    with pytest.raises(HttpError) as caught:
        alice.events().list(calendarId="primary", syncToken=token).execute()

    assert caught.value.resp.status == 410
    assert caught.value.error_details[0]["reason"] == "fullSyncRequired"


def test_unknown_sync_token_answers_410(alice: Resource) -> None:
    with pytest.raises(HttpError) as caught:
        alice.events().list(calendarId="primary", syncToken="bogus").execute()

    assert caught.value.resp.status == 410


def test_time_window_bounds_end_and_start_exclusively(alice: Resource) -> None:
    body = timed_event("Touching", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    alice.events().insert(calendarId="primary", body=body).execute()

    def count(time_min: str, time_max: str) -> int:
        page = (
            alice.events()
            .list(calendarId="primary", timeMin=time_min, timeMax=time_max)
            .execute()
        )
        return len(page["items"])

    assert count("2026-12-01T10:00:00Z", "2026-12-02T00:00:00Z") == 0
    assert count("2026-11-30T00:00:00Z", "2026-12-01T09:00:00Z") == 0
    assert count("2026-12-01T09:59:00Z", "2026-12-01T09:01:00Z") == 1


def test_page_tokens_stay_consistent_while_events_change(alice: Resource) -> None:
    ids = insert_ten(alice)
    first = alice.events().list(calendarId="primary", maxResults=4).execute()
    listed = {item["id"] for item in first["items"]}
    untouched = sorted(ids - listed)
    alice.events().patch(
        calendarId="primary", eventId=untouched[0], body={"summary": "Renamed"}
    ).execute()
    new = timed_event("Late", "2026-12-20T09:00:00Z", "2026-12-20T10:00:00Z")
    late = alice.events().insert(calendarId="primary", body=new).execute()

    rest: list[str] = []
    page_token = first["nextPageToken"]
    while page_token:
        page = (
            alice.events()
            .list(calendarId="primary", maxResults=4, pageToken=page_token)
            .execute()
        )
        rest.extend(item["id"] for item in page["items"])
        page_token = page.get("nextPageToken")
    changes = alice.events().list(calendarId="primary", syncToken=page["nextSyncToken"])
    changed = {item["id"] for item in changes.execute()["items"]}

    assert listed.isdisjoint(rest)
    assert listed | set(rest) | changed == ids | {late["id"]}
    assert {untouched[0], late["id"]} <= changed


def test_cancelled_occurrence_is_listed_without_show_deleted(alice: Resource) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    alice.events().delete(
        calendarId="primary", eventId=f"{master['id']}_20261210T090000Z"
    ).execute()

    items = alice.events().list(calendarId="primary").execute()["items"]
    expanded = alice.events().list(calendarId="primary", singleEvents=True).execute()

    assert {i["status"] for i in items} == {"confirmed", "cancelled"}
    assert len(expanded["items"]) == 5
    assert all(i["recurringEventId"] == master["id"] for i in expanded["items"])


def test_instances_list_skips_cancelled_and_shows_moved_occurrences(
    alice: Resource,
) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    alice.events().delete(
        calendarId="primary", eventId=f"{master['id']}_20261210T090000Z"
    ).execute()
    moved = timed_event(
        "Moved", "2026-12-17T15:00:00+01:00", "2026-12-17T15:30:00+01:00"
    )
    alice.events().patch(
        calendarId="primary", eventId=f"{master['id']}_20261217T090000Z", body=moved
    ).execute()

    items = alice.events().instances(calendarId="primary", eventId=master["id"])
    summaries = [i["summary"] for i in items.execute()["items"]]

    assert summaries == [
        "Weekly sync",
        "Moved",
        "Weekly sync",
        "Weekly sync",
        "Weekly sync",
    ]


def test_other_accounts_calendar_is_not_found(
    alice: Resource, mallory: Resource
) -> None:
    with pytest.raises(HttpError) as caught:
        mallory.events().list(calendarId=ALICE).execute()

    assert caught.value.resp.status == 404
