"""Incremental ``events.list`` after every kind of change a client makes."""

from __future__ import annotations

from typing import Any

from googleapiclient.discovery import Resource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.server import EmulatorServer
from emulator.testing import calendar_service, control
from tests.emulator.conftest import full_sync, timed_event, weekly_series

OCCURRENCE = "_20261210T090000Z"


def changes_since(service: Resource, token: str) -> list[dict[str, Any]]:
    page = service.events().list(calendarId="primary", syncToken=token).execute()
    assert "nextPageToken" not in page and page["nextSyncToken"]
    return list(page["items"])


def standup(service: Resource) -> dict[str, Any]:
    body = timed_event("Stand-up", "2026-12-03T09:00:00Z", "2026-12-03T09:15:00Z")
    return dict(service.events().insert(calendarId="primary", body=body).execute())


def test_incremental_list_reports_inserted_event(alice: Resource) -> None:
    _, token = full_sync(alice)

    created = standup(alice)

    assert [e["id"] for e in changes_since(alice, token)] == [created["id"]]


def test_incremental_list_is_empty_when_nothing_changed(alice: Resource) -> None:
    standup(alice)
    _, token = full_sync(alice)

    assert changes_since(alice, token) == []


def test_incremental_list_reports_patched_event(alice: Resource) -> None:
    created = standup(alice)
    _, token = full_sync(alice)

    alice.events().patch(
        calendarId="primary", eventId=created["id"], body={"summary": "Daily"}
    ).execute()

    [changed] = changes_since(alice, token)
    assert changed["summary"] == "Daily"
    assert changed["etag"] != created["etag"]
    assert changed["updated"] >= created["updated"]


def test_incremental_list_reports_deleted_event_as_cancelled(alice: Resource) -> None:
    created = standup(alice)
    _, token = full_sync(alice)

    alice.events().delete(calendarId="primary", eventId=created["id"]).execute()

    [gone] = changes_since(alice, token)
    assert gone["id"] == created["id"]
    assert gone["status"] == "cancelled"


def test_get_of_deleted_event_returns_it_cancelled(alice: Resource) -> None:
    created = standup(alice)
    alice.events().delete(calendarId="primary", eventId=created["id"]).execute()

    fetched = alice.events().get(calendarId="primary", eventId=created["id"]).execute()

    assert fetched["status"] == "cancelled"


def test_cancelling_an_occurrence_reports_a_cancelled_exception(
    alice: Resource,
) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    _, token = full_sync(alice)

    alice.events().delete(
        calendarId="primary", eventId=master["id"] + OCCURRENCE
    ).execute()

    [exception] = changes_since(alice, token)
    assert exception["id"] == master["id"] + OCCURRENCE
    assert exception["status"] == "cancelled"
    assert exception["recurringEventId"] == master["id"]
    assert exception["originalStartTime"]["dateTime"] == "2026-12-10T10:00:00+01:00"


def test_patching_an_occurrence_to_cancelled_also_cancels_it(alice: Resource) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    _, token = full_sync(alice)

    alice.events().patch(
        calendarId="primary",
        eventId=master["id"] + OCCURRENCE,
        body={"status": "cancelled"},
    ).execute()

    [exception] = changes_since(alice, token)
    assert exception["status"] == "cancelled"


def test_moving_an_occurrence_reports_an_exception_with_original_start(
    alice: Resource,
) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    _, token = full_sync(alice)
    later = timed_event(
        "Weekly sync", "2026-12-10T14:00:00+01:00", "2026-12-10T14:30:00+01:00"
    )

    alice.events().patch(
        calendarId="primary", eventId=master["id"] + OCCURRENCE, body=later
    ).execute()

    [moved] = changes_since(alice, token)
    assert moved["status"] == "confirmed"
    assert moved["recurringEventId"] == master["id"]
    assert moved["originalStartTime"]["dateTime"] == "2026-12-10T10:00:00+01:00"
    assert moved["start"]["dateTime"] == "2026-12-10T14:00:00+01:00"
    assert "recurrence" not in moved


def test_deleting_a_master_cancels_its_exceptions(alice: Resource) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    alice.events().delete(
        calendarId="primary", eventId=master["id"] + OCCURRENCE
    ).execute()
    _, token = full_sync(alice)

    alice.events().delete(calendarId="primary", eventId=master["id"]).execute()

    changed = {e["id"]: e["status"] for e in changes_since(alice, token)}
    assert changed == {
        master["id"]: "cancelled",
        master["id"] + OCCURRENCE: "cancelled",
    }
    assert full_sync(alice)[0] == []


def test_this_and_following_split_truncates_and_starts_a_new_series(
    alice: Resource,
) -> None:
    master = alice.events().insert(calendarId="primary", body=weekly_series()).execute()
    _, token = full_sync(alice)

    alice.events().patch(
        calendarId="primary",
        eventId=master["id"],
        body={"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20261217T225959Z"]},
    ).execute()
    following = weekly_series("Weekly sync (new time)")
    following["start"]["dateTime"] = "2026-12-24T11:00:00+01:00"
    following["end"]["dateTime"] = "2026-12-24T11:30:00+01:00"
    following["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=3"]
    successor = alice.events().insert(calendarId="primary", body=following).execute()

    changed = {e["id"]: e for e in changes_since(alice, token)}
    old = alice.events().instances(calendarId="primary", eventId=master["id"]).execute()
    assert set(changed) == {master["id"], successor["id"]}
    assert changed[master["id"]]["sequence"] == master["sequence"] + 1
    assert len(old["items"]) == 3


_STEPS = st.lists(
    st.sampled_from(["insert", "patch", "delete", "cancel", "move"]), max_size=8
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(before=_STEPS, after=_STEPS)
def test_incremental_sync_always_converges_to_a_full_sync(
    emulator: EmulatorServer, before: list[str], after: list[str]
) -> None:
    control(emulator, "reset")
    token = control(emulator, "accounts", {"email": "hypo@example.com"})
    service = calendar_service(emulator, token["refresh_token"])
    master = (
        service.events().insert(calendarId="primary", body=weekly_series()).execute()
    )
    occurrences = iter(range(3, 31, 7))
    for step in before:
        _apply(service, step, master["id"], occurrences)
    mirror = {e["id"]: e for e in full_sync(service)[0]}
    _, sync_token = full_sync(service)

    for step in after:
        _apply(service, step, master["id"], occurrences)
    for event in changes_since(service, sync_token):
        mirror[event["id"]] = event

    live = {i: e for i, e in mirror.items() if not _dropped(e, mirror)}
    expected = {e["id"]: e for e in full_sync(service)[0]}
    assert {i: e["etag"] for i, e in live.items()} == {
        i: e["etag"] for i, e in expected.items()
    }


def _dropped(event: dict[str, Any], mirror: dict[str, Any]) -> bool:
    """What a client removes: deleted events and exceptions of dead series."""
    if event["status"] != "cancelled":
        return False
    master = mirror.get(event.get("recurringEventId", ""))
    return master is None or master["status"] == "cancelled"


def _apply(service: Resource, step: str, master_id: str, days: Any) -> None:
    events = service.events()
    singles = [
        e
        for e in events.list(calendarId="primary").execute()["items"]
        if e["status"] == "confirmed"
        and "recurrence" not in e
        and "recurringEventId" not in e
    ]
    if step == "insert" or not singles and step in ("patch", "delete"):
        events.insert(calendarId="primary", body=_lunch()).execute()
    elif step == "patch":
        body = {"summary": "Patched"}
        events.patch(
            calendarId="primary", eventId=singles[0]["id"], body=body
        ).execute()
    elif step == "delete":
        events.delete(calendarId="primary", eventId=singles[-1]["id"]).execute()
    else:
        day = next(days, None)
        if day is None:
            return
        occurrence = f"{master_id}_202612{day:02d}T090000Z"
        body = {"status": "cancelled"} if step == "cancel" else {"summary": "Moved"}
        events.patch(calendarId="primary", eventId=occurrence, body=body).execute()


def _lunch() -> dict[str, Any]:
    return timed_event("Lunch", "2026-12-05T12:00:00Z", "2026-12-05T13:00:00Z")
