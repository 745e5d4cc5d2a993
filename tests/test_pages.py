"""Signing in to the pages."""

import pytest

from tests.conftest import make_account, make_calendar


@pytest.mark.django_db
def test_home_sends_visitors_to_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_sign_in_page_has_the_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text


def test_signing_in_leads_to_the_calendars(client, owner):
    response = client.post(
        "/accounts/login/",
        {"username": "owner", "password": "owner-password"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Your calendars" in response.text


def test_a_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post(
        "/accounts/login/", {"username": "owner", "password": "wrong"}
    )

    assert response.status_code == 200
    assert "didn't match" in response.text


def test_the_home_page_lists_the_callers_calendars_only(
    owner_client, owner_calendar, outsider
):
    make_calendar(make_account(outsider), summary="Outsider private")

    response = owner_client.get("/")

    assert "Work" in response.text
    assert "Outsider private" not in response.text
