"""The time zone setting, showing and hiding calendars, and sign-up."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User

from calendars.models import Calendar, UserProfile


def test_the_page_asks_the_browser_for_its_zone_until_one_is_known(owner_client):
    first = owner_client.get("/")
    owner_client.post(
        "/settings/time-zone", {"time_zone": "Asia/Tokyo", "reported": "1"}
    )
    later = owner_client.get("/")

    assert "data-report-time-zone" in first.text
    assert "data-report-time-zone" not in later.text


def test_a_reported_zone_is_saved_quietly(owner_client, owner):
    response = owner_client.post(
        "/settings/time-zone", {"time_zone": "Asia/Tokyo", "reported": "1"}
    )

    assert response.status_code == 204
    assert UserProfile.objects.get(user=owner).time_zone == "Asia/Tokyo"


def test_the_settings_page_changes_the_zone(owner_client, owner):
    page = owner_client.get("/settings/time-zone")
    response = owner_client.post("/settings/time-zone", {"time_zone": "America/Lima"})

    assert 'value="America/Lima"' in page.text
    assert response.status_code == 302
    assert UserProfile.objects.get(user=owner).time_zone == "America/Lima"


def test_an_unknown_zone_is_refused_with_a_hint(owner_client, owner):
    response = owner_client.post("/settings/time-zone", {"time_zone": "Mars/Olympus"})

    assert response.status_code == 400
    assert "like Europe/Berlin" in response.text
    assert not UserProfile.objects.filter(user=owner).exclude(time_zone="").exists()


def test_hiding_a_calendar_stops_its_channels(owner_client, owner_calendar):
    with mock.patch("calendars.views.stop_channels") as stop:
        response = owner_client.post(
            f"/calendars/{owner_calendar.pk}/selected",
            {"selected": "off"},
            HTTP_HX_REQUEST="true",
        )

    owner_calendar.refresh_from_db()
    assert not owner_calendar.selected
    stop.assert_called_once_with(owner_calendar)
    assert response["HX-Trigger"] == "chronos-refresh"
    assert 'aria-pressed="false"' in response.text


def test_showing_a_calendar_syncs_it(owner_client, owner_calendar):
    Calendar.objects.filter(pk=owner_calendar.pk).update(selected=False)

    with mock.patch("calendars.views.dispatch.request_sync") as request_sync:
        response = owner_client.post(
            f"/calendars/{owner_calendar.pk}/selected", {"selected": "on"}
        )

    owner_calendar.refresh_from_db()
    assert owner_calendar.selected
    request_sync.assert_called_once_with(owner_calendar.pk)
    assert response.status_code == 302


def test_sign_up_is_closed_unless_allowed(client, db):
    assert client.get("/accounts/signup/").status_code == 404
    assert "Create an account" not in client.get("/accounts/login/").text


@pytest.fixture
def signup_open(settings):
    settings.ALLOW_SIGNUP = True


def test_the_sign_in_page_offers_sign_up_when_allowed(client, db, signup_open):
    assert "Create an account" in client.get("/accounts/login/").text


def test_signing_up_creates_the_user_and_signs_them_in(client, db, signup_open):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": "a-long-calm-password",
            "password2": "a-long-calm-password",
        },
    )

    assert response.status_code == 302
    assert User.objects.filter(username="newcomer").exists()
    assert client.get("/").status_code == 200
    assert client.get("/accounts/signup/")["Location"] == "/"
