"""OAuth: consent, code exchange, refresh, revocation and bearer checks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from emulator.server import EmulatorServer
from emulator.testing import (
    CLIENT_ID,
    CLIENT_SECRET,
    calendar_service,
    control,
    credentials,
)
from tests.emulator.conftest import ALICE


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_refresh_token_grants_access_to_own_calendars(alice: Resource) -> None:
    entries = alice.calendarList().list().execute()["items"]

    assert [e["id"] for e in entries] == [ALICE]
    assert entries[0]["primary"] is True
    assert entries[0]["accessRole"] == "owner"


def test_refresh_fails_with_invalid_grant_after_revoke(
    emulator: EmulatorServer, alice_token: str
) -> None:
    control(emulator, f"accounts/{ALICE}/revoke")
    creds = credentials(emulator, alice_token)

    with pytest.raises(RefreshError, match="invalid_grant"):
        calendar_service(emulator, creds).calendarList().list().execute()


def test_access_token_stops_working_after_revoke(
    emulator: EmulatorServer, alice: Resource, alice_token: str
) -> None:
    alice.calendarList().list().execute()
    control(emulator, f"accounts/{ALICE}/revoke")

    with pytest.raises(RefreshError):
        alice.calendarList().list().execute()


def test_unknown_bearer_gets_401(emulator: EmulatorServer) -> None:
    service = build(
        "calendar",
        "v3",
        http=httplib2.Http(),
        client_options={"api_endpoint": emulator.url + "calendar/v3/"},
        static_discovery=True,
    )
    request = service.calendarList().list()
    request.headers["authorization"] = "Bearer ya29.unknown"

    with pytest.raises(HttpError) as caught:
        request.execute()

    assert caught.value.resp.status == 401
    assert caught.value.error_details[0]["reason"] == "authError"


def test_expired_access_token_is_refreshed_after_401(
    emulator: EmulatorServer, alice: Resource
) -> None:
    alice.calendarList().list().execute()
    control(emulator, "expire-access-tokens")

    assert alice.calendarList().list().execute()["items"]


def test_token_cannot_see_another_accounts_calendar(
    alice: Resource, mallory: Resource
) -> None:
    with pytest.raises(HttpError) as caught:
        mallory.calendars().get(calendarId=ALICE).execute()

    assert caught.value.resp.status == 404


def test_primary_aliases_the_accounts_own_calendar(alice: Resource) -> None:
    assert alice.calendars().get(calendarId="primary").execute()["id"] == ALICE


def test_consent_flow_returns_a_code_that_exchanges_for_tokens(
    emulator: EmulatorServer, alice_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    redirect_uri = "http://127.0.0.1:9/oauth/callback"
    flow = Flow.from_client_config(
        {
            "web": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "auth_uri": emulator.url + "o/oauth2/auth",
                "token_uri": emulator.url + "token",
            }
        },
        scopes=["https://www.googleapis.com/auth/calendar"],
        redirect_uri=redirect_uri,
    )
    auth_url, state = flow.authorization_url(access_type="offline", prompt="consent")
    page = urllib.request.urlopen(auth_url).read().decode()
    query = parse_qs(urlsplit(auth_url).query)
    approve = {k: v[0] for k, v in query.items()} | {"email": ALICE}
    opener = urllib.request.build_opener(_NoRedirect)

    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(emulator.url + "o/oauth2/approve?" + urlencode(approve))
    location = redirect.value.headers["Location"]
    flow.fetch_token(authorization_response=location)

    assert ALICE in page
    assert location.startswith(redirect_uri) and f"state={state}" in location
    assert flow.credentials.refresh_token
    service = calendar_service(emulator, flow.credentials)
    assert service.calendarList().list().execute()["items"][0]["id"] == ALICE


def test_userinfo_names_the_account(emulator: EmulatorServer, alice: Resource) -> None:
    alice.calendarList().list().execute()
    token = alice._http.credentials.token

    request = urllib.request.Request(
        emulator.url + "oauth2/v2/userinfo",
        headers={"Authorization": f"Bearer {token}"},
    )
    info = json.loads(urllib.request.urlopen(request).read())

    assert info["email"] == ALICE
    assert info["verified_email"] is True
    assert info["id"]
