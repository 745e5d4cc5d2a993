"""Connecting Google accounts and keeping their calendar lists current."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from calendars.models import Calendar, Event, GoogleAccount
from emulator.testing import control
from syncengine.accounts import connect_account, discover_calendars
from tests.googleside import OWNER_EMAIL


def test_the_command_links_an_account_and_lists_its_calendars(owner, google_grant):
    output = StringIO()

    call_command(
        "connect_google_account",
        "owner",
        "--refresh-token",
        google_grant,
        stdout=output,
    )

    account = GoogleAccount.objects.get(owner=owner)
    assert account.email == OWNER_EMAIL
    assert account.refresh_token == google_grant
    assert account.access_token
    assert f"Connected {OWNER_EMAIL} to owner" in output.getvalue()
    primary = account.calendars.get()
    assert primary.google_id == OWNER_EMAIL
    assert primary.primary and primary.selected


def test_the_command_names_an_unknown_user(db, google_grant):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command(
            "connect_google_account", "nobody", "--refresh-token", google_grant
        )


def test_the_command_refuses_a_dead_refresh_token(owner, emulator):
    with pytest.raises(CommandError, match="Google refused the account"):
        call_command(
            "connect_google_account", "owner", "--refresh-token", "1//not-a-grant"
        )

    assert not GoogleAccount.objects.exists()


def test_connecting_again_replaces_the_grant_and_reactivates(owner, emulator):
    first = control(emulator, "accounts", {"email": OWNER_EMAIL})["refresh_token"]
    account = connect_account(owner, first)
    GoogleAccount.objects.filter(pk=account.pk).update(
        status=GoogleAccount.Status.NEEDS_REAUTH
    )
    second = control(emulator, "accounts", {"email": OWNER_EMAIL})["refresh_token"]

    again = connect_account(owner, second)

    assert again.pk == account.pk
    assert again.refresh_token == second
    assert again.status == GoogleAccount.Status.ACTIVE


def test_discovery_adds_updates_and_removes_calendars(google, connected):
    team = google.calendars().insert(body={"summary": "Team"}).execute()
    trips = google.calendars().insert(body={"summary": "Trips"}).execute()
    discover_calendars(connected)
    doomed = Calendar.objects.get(google_id=trips["id"])
    Event.objects.create(calendar=doomed, google_id="evt1", resource={"id": "evt1"})

    google.calendars().patch(
        calendarId=team["id"], body={"summary": "Team A"}
    ).execute()
    google.calendarList().delete(calendarId=trips["id"]).execute()
    discover_calendars(connected)

    summaries = set(connected.calendars.values_list("summary", flat=True))
    assert "Team A" in summaries
    assert "Trips" not in summaries
    assert not Event.objects.filter(google_id="evt1").exists()
