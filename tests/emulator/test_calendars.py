"""``calendarList`` and ``calendars``: the account's calendars."""

from __future__ import annotations

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from tests.emulator.conftest import ALICE


def test_removed_calendar_is_reported_deleted_in_calendar_list_sync(
    alice: Resource,
) -> None:
    trips = alice.calendars().insert(body={"summary": "Trips"}).execute()
    token = alice.calendarList().list().execute()["nextSyncToken"]

    alice.calendarList().delete(calendarId=trips["id"]).execute()

    changes = alice.calendarList().list(syncToken=token).execute()["items"]
    listed = alice.calendarList().list().execute()["items"]
    assert changes == [
        {
            "kind": "calendar#calendarListEntry",
            "etag": changes[0]["etag"],
            "id": trips["id"],
            "deleted": True,
        }
    ]
    assert [entry["id"] for entry in listed] == [ALICE]


def test_primary_calendar_cannot_be_deleted(alice: Resource) -> None:
    with pytest.raises(HttpError) as caught:
        alice.calendars().delete(calendarId="primary").execute()

    assert caught.value.resp.status == 403
