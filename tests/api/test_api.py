"""The JSON API: a caller sees its own calendars and events, and nothing else."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command

from calendars.models import ApiToken
from tests.conftest import make_account, make_calendar, make_event

# Authentication reads the database from the shared thread pool, so what a
# test stores has to be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def token(owner) -> str:
    output = StringIO()
    call_command("create_api_token", "owner", stdout=output)
    return output.getvalue().strip()


def test_create_api_token_prints_a_token_and_stores_only_its_digest(owner, token):
    stored = ApiToken.objects.get(owner=owner)

    assert token.startswith("chr_") and len(token) > 40
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.digest, stored.prefix)


def test_create_api_token_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")


def test_calendars_lists_the_callers_calendars(client, owner_calendar, outsider, token):
    make_calendar(make_account(outsider), summary="Not yours")

    response = client.get("/api/calendars", **bearer(token))

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": owner_calendar.pk,
            "account_email": "owner@example.com",
            "summary": "Work",
            "color": "",
            "time_zone": "Europe/Berlin",
            "selected": True,
            "sync_state": "idle",
            "last_sync_at": None,
            "invalid_series": [],
        }
    ]


def test_the_session_of_a_signed_in_browser_works_too(owner_client, owner_calendar):
    response = owner_client.get("/api/calendars")

    assert response.status_code == 200
    assert [calendar["id"] for calendar in response.json()] == [owner_calendar.pk]


def test_a_wrong_token_gets_401_with_a_readable_detail(client):
    response = client.get("/api/calendars", **bearer("chr_not-a-token"))

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Sign in, or send Authorization: Bearer <token>."
    }


def hydrate(client, token, calendar_ids, **window):
    query = {"calendar_ids": calendar_ids, **window}
    return client.get("/api/calendar/events", query, **bearer(token))


def streamed_json(response):
    assert response.status_code == 200

    async def collect():
        return b"".join([chunk async for chunk in response.streaming_content])

    return json.loads(async_to_sync(collect)())


@pytest.fixture
def stored(owner_calendar):
    make_event(
        owner_calendar,
        "single",
        start="2026-12-02T09:00:00Z",
        end="2026-12-02T10:00:00Z",
        resource={"id": "single", "summary": "Lunch", "status": "confirmed"},
    )
    make_event(
        owner_calendar,
        "later",
        start="2027-03-02T09:00:00Z",
        end="2027-03-02T10:00:00Z",
        resource={"id": "later", "summary": "Later"},
    )
    make_event(
        owner_calendar,
        "series",
        start="2026-11-02T09:00:00Z",
        end="2026-11-02T10:00:00Z",
        recurrence=["RRULE:FREQ=WEEKLY"],
        resource={"id": "series", "recurrence": ["RRULE:FREQ=WEEKLY"]},
    )
    make_event(
        owner_calendar,
        "series_20261207T090000Z",
        status="cancelled",
        recurring_event_id="series",
        original_start="2026-12-07T09:00:00Z",
        resource={"id": "series_20261207T090000Z", "status": "cancelled"},
    )
    return owner_calendar


def test_hydration_sorts_events_masters_and_exceptions(client, token, stored):
    body = streamed_json(hydrate(client, token, str(stored.pk)))

    assert sorted(event["id"] for event in body["events"]) == ["later", "single"]
    assert [event["id"] for event in body["masters"]] == ["series"]
    assert [event["id"] for event in body["exceptions"]] == ["series_20261207T090000Z"]
    assert all(
        event["calendar_id"] == stored.pk
        for events in body.values()
        for event in events
    )
    assert body["events"][0]["summary"] in {"Lunch", "Later"}


def test_hydration_reads_every_event_once_across_chunks(
    client, token, owner_calendar, monkeypatch
):
    monkeypatch.setattr("calendars.api.STREAM_CHUNK_ROWS", 3)
    second = make_calendar(owner_calendar.account, google_id="second@example.com")
    expected = set()
    for index in range(8):
        calendar = (owner_calendar, second)[index % 2]
        make_event(calendar, f"event{index}", start="2026-12-01T09:00:00Z")
        expected.add((calendar.pk, f"event{index}"))

    body = streamed_json(hydrate(client, token, f"{owner_calendar.pk},{second.pk}"))

    ids = [(event["calendar_id"], event["id"]) for event in body["events"]]
    assert len(ids) == 8
    assert set(ids) == expected


def test_hydration_keeps_to_the_time_window(client, token, stored):
    response = hydrate(
        client,
        token,
        str(stored.pk),
        time_min="2026-12-01T00:00:00Z",
        time_max="2026-12-31T00:00:00Z",
    )

    body = streamed_json(response)
    assert [event["id"] for event in body["events"]] == ["single"]
    assert [event["id"] for event in body["masters"]] == ["series"]
    assert len(body["exceptions"]) == 1


def test_hydration_refuses_a_window_that_ends_before_it_starts(client, token, stored):
    response = hydrate(
        client,
        token,
        str(stored.pk),
        time_min="2026-12-31T00:00:00Z",
        time_max="2026-12-01T00:00:00Z",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "time_min must be before time_max."


def test_hydration_refuses_a_malformed_time(client, token, stored):
    response = hydrate(client, token, str(stored.pk), time_min="yesterday")

    assert response.status_code == 400
    assert "time_min" in response.json()["detail"]


def test_hydration_of_another_users_calendar_is_404(client, outsider, token):
    foreign = make_calendar(make_account(outsider))

    response = hydrate(client, token, str(foreign.pk))

    assert response.status_code == 404
    assert response.json() == {"detail": f"No calendar with id {foreign.pk}."}


def test_sync_status_reports_each_calendar_and_the_latest_sync(
    client, token, owner_calendar
):
    owner_calendar.sync_state.last_sync_at = "2026-12-01T10:00:00Z"
    owner_calendar.sync_state.last_error = ""
    owner_calendar.sync_state.save()

    response = client.get(
        "/api/calendar/sync-status",
        {"calendar_ids": str(owner_calendar.pk)},
        **bearer(token),
    )

    assert response.json() == {
        "lastSyncAt": "2026-12-01T10:00:00Z",
        "calendars": [
            {
                "id": owner_calendar.pk,
                "last_sync_at": "2026-12-01T10:00:00Z",
                "state": "idle",
                "last_error": None,
            }
        ],
    }


def test_sync_status_without_any_sync_has_null_last_sync(client, token, owner_calendar):
    response = client.get("/api/calendar/sync-status", **bearer(token))

    assert response.json()["lastSyncAt"] is None


def test_the_schema_and_the_docs_are_served(owner_client):
    schema = owner_client.get("/api/openapi.json")
    docs = owner_client.get("/api/docs")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/calendars",
        "/api/calendar/events",
        "/api/calendar/sync-status",
        "/api/calendar/sync",
        "/api/stream",
    ]:
        assert path in paths
    assert docs.status_code == 200
