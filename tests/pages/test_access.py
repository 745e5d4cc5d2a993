"""Every page wants a signed-in owner; other people's ids do not exist."""

from __future__ import annotations

import pytest
from django.test import Client

from calendars.models import Calendar, GoogleAccount
from tests.conftest import make_account, make_calendar
from tests.pages.conftest import store, timed_event

PAGES = [
    "/",
    "/calendar/view",
    "/calendar/sidebar",
    "/settings/time-zone",
    "/events/1",
]
POSTS = [
    "/calendars/1/selected",
    "/settings/time-zone",
    "/accounts/google/connect",
    "/accounts/google/1/disconnect",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES + ["/accounts/google/callback"])
def test_pages_send_visitors_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("path", POSTS)
def test_posts_send_visitors_to_sign_in(client, path):
    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.fixture
def outsider_calendar(outsider) -> Calendar:
    return make_calendar(make_account(outsider), summary="Outsider private")


def test_another_users_event_is_not_found(owner_client, outsider_calendar):
    event = store(
        outsider_calendar,
        timed_event("x", "Secret", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
    )

    response = owner_client.get(f"/events/{event.pk}")

    assert response.status_code == 404
    assert "Secret" not in response.text


def test_another_users_calendar_cannot_be_toggled(owner_client, outsider_calendar):
    response = owner_client.post(
        f"/calendars/{outsider_calendar.pk}/selected", {"selected": "off"}
    )

    assert response.status_code == 404
    outsider_calendar.refresh_from_db()
    assert outsider_calendar.selected


def test_another_users_account_cannot_be_disconnected(owner_client, outsider_calendar):
    account = outsider_calendar.account

    response = owner_client.post(f"/accounts/google/{account.pk}/disconnect")

    assert response.status_code == 404
    assert GoogleAccount.objects.filter(pk=account.pk).exists()


def test_the_calendar_page_never_shows_another_users_calendars(
    owner_client, owner_calendar, outsider_calendar
):
    response = owner_client.get("/")

    assert "Work" in response.text
    assert "Outsider private" not in response.text


@pytest.fixture
def strict_client(owner) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_toggling_a_calendar_without_the_csrf_token_is_refused(
    strict_client, owner_calendar
):
    response = strict_client.post(
        f"/calendars/{owner_calendar.pk}/selected", {"selected": "off"}
    )

    assert response.status_code == 403
    owner_calendar.refresh_from_db()
    assert owner_calendar.selected


def test_disconnecting_without_the_csrf_token_is_refused(strict_client, owner_account):
    response = strict_client.post(f"/accounts/google/{owner_account.pk}/disconnect")

    assert response.status_code == 403
    assert GoogleAccount.objects.filter(pk=owner_account.pk).exists()


@pytest.mark.parametrize(
    "path", ["/accounts/google/connect", "/settings/time-zone", "/accounts/logout/"]
)
def test_other_posts_without_the_csrf_token_are_refused(strict_client, path):
    response = strict_client.post(path, {"time_zone": "Asia/Tokyo"})

    assert response.status_code == 403


def test_changing_things_needs_a_post(owner_client, owner_calendar, owner_account):
    assert (
        owner_client.get(f"/calendars/{owner_calendar.pk}/selected").status_code == 405
    )
    assert owner_client.get("/accounts/google/connect").status_code == 405
    assert (
        owner_client.get(f"/accounts/google/{owner_account.pk}/disconnect").status_code
        == 405
    )
