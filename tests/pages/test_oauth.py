"""Connecting a Google account through the consent page, and disconnecting."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from calendars.models import Calendar, GoogleAccount
from calendars.oauth import SESSION_KEY
from tests.googleside import OWNER_EMAIL


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def approve(consent_url: str, email: str) -> str:
    """Press the emulator's approve button; the URL Google sends back to."""
    parts = urlsplit(consent_url)
    query = parse_qs(parts.query)
    params = {name: values[0] for name, values in query.items()} | {"email": email}
    approve_url = (
        f"{parts.scheme}://{parts.netloc}/o/oauth2/approve?{urlencode(params)}"
    )
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(approve_url)
    assert answer.value.code == 302
    return str(answer.value.headers["Location"])


@pytest.fixture
def consent(settings, emulator, google_grant):
    settings.GOOGLE_AUTH_URL = emulator.url + "o/oauth2/auth"
    return emulator


def start_connecting(client) -> str:
    response = client.post("/accounts/google/connect")
    assert response.status_code == 302
    return str(response["Location"])


def test_connecting_asks_google_for_offline_access_with_a_state(owner_client, consent):
    location = start_connecting(owner_client)

    query = parse_qs(urlsplit(location).query)
    assert location.startswith(consent.url + "o/oauth2/auth?")
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["redirect_uri"] == ["http://testserver/accounts/google/callback"]
    assert query["state"] == [owner_client.session[SESSION_KEY]["state"]]
    assert query["code_challenge_method"] == ["S256"]


def test_the_callback_connects_the_account_google_approved(owner_client, consent):
    back = approve(start_connecting(owner_client), OWNER_EMAIL)

    response = owner_client.get(back.replace("http://testserver", ""))

    assert response.status_code == 302
    assert response["Location"] == "/"
    account = GoogleAccount.objects.get(email=OWNER_EMAIL)
    assert account.refresh_token
    assert Calendar.objects.filter(account=account, primary=True).exists()
    assert SESSION_KEY not in owner_client.session


def test_a_callback_with_another_state_is_refused_and_stores_nothing(
    owner_client, consent
):
    back = approve(start_connecting(owner_client), OWNER_EMAIL)
    forged = back.replace("state=", "state=forged")

    response = owner_client.get(forged.replace("http://testserver", ""))

    assert response.status_code == 400
    assert "does not match a connection started here" in response.text
    assert not GoogleAccount.objects.exists()


def test_a_callback_nobody_started_is_refused(owner_client, db):
    response = owner_client.get(
        "/accounts/google/callback", {"code": "stolen", "state": "guess"}
    )

    assert response.status_code == 400
    assert not GoogleAccount.objects.exists()


def test_a_refused_consent_says_so(owner_client, consent):
    location = start_connecting(owner_client)
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = owner_client.get(
        "/accounts/google/callback", {"error": "access_denied", "state": state}
    )

    assert response.status_code == 400
    assert "Google did not grant access (access_denied)" in response.text
    assert not GoogleAccount.objects.exists()


def test_a_code_google_rejects_stores_nothing(owner_client, consent):
    location = start_connecting(owner_client)
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = owner_client.get(
        "/accounts/google/callback", {"code": "made-up", "state": state}
    )

    assert response.status_code == 400
    assert "did not accept the sign-in" in response.text
    assert not GoogleAccount.objects.exists()


def test_a_reconnect_hints_at_the_account(owner_client, consent):
    response = owner_client.post(
        "/accounts/google/connect", {"login_hint": OWNER_EMAIL}
    )

    assert parse_qs(urlsplit(response["Location"]).query)["login_hint"] == [OWNER_EMAIL]


def test_disconnecting_forgets_the_account(owner_client, owner_calendar):
    account = owner_calendar.account

    response = owner_client.post(f"/accounts/google/{account.pk}/disconnect")

    assert response.status_code == 302
    assert not GoogleAccount.objects.filter(pk=account.pk).exists()
    assert not Calendar.objects.filter(pk=owner_calendar.pk).exists()


def test_an_account_needing_reauthorisation_gets_a_banner(owner_client, owner_account):
    owner_account.status = GoogleAccount.Status.NEEDS_REAUTH
    owner_account.save()

    response = owner_client.get("/")

    assert "Reconnect this account" in response.text
    assert f'name="login_hint" value="{owner_account.email}"' in response.text
