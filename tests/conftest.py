"""Personas and builders shared by the whole suite.

Tests read as stories about three people: ``owner`` has a Google account
with calendars, ``outsider`` is another signed-in user who must never see
them, and ``operator`` is a superuser in the admin.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from calendars.models import Calendar, Event, GoogleAccount, SyncState

pytest_plugins = ["tests.googleside"]


@pytest.fixture
def owner(db: Any) -> User:
    return User.objects.create_user("owner", "owner@example.com", "owner-password")


@pytest.fixture
def outsider(db: Any) -> User:
    return User.objects.create_user(
        "outsider", "outsider@example.com", "outsider-password"
    )


@pytest.fixture
def operator(db: Any) -> User:
    return User.objects.create_superuser(
        "operator", "operator@example.com", "operator-password"
    )


@pytest.fixture
def owner_client(owner: User) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def make_account(owner: User, **fields: Any) -> GoogleAccount:
    fields.setdefault("email", f"{owner.username}@example.com")
    fields.setdefault("refresh_token", f"1//refresh-{owner.username}-secret")
    fields.setdefault("access_token", f"ya29.access-{owner.username}-secret")
    return GoogleAccount.objects.create(owner=owner, **fields)


def make_calendar(account: GoogleAccount, **fields: Any) -> Calendar:
    fields.setdefault("google_id", account.email)
    fields.setdefault("summary", "Work")
    fields.setdefault("time_zone", "Europe/Berlin")
    calendar = Calendar.objects.create(account=account, **fields)
    SyncState.objects.create(calendar=calendar)
    return calendar


def make_event(calendar: Calendar, google_id: str, **fields: Any) -> Event:
    fields.setdefault("summary", f"Event {google_id}")
    fields.setdefault("resource", {"id": google_id, "summary": fields["summary"]})
    return Event.objects.create(calendar=calendar, google_id=google_id, **fields)


def token_for(user: User) -> str:
    """A new API token for the user, made the way operators make one."""
    output = StringIO()
    call_command("create_api_token", user.username, stdout=output)
    return output.getvalue().strip()


@pytest.fixture
def owner_auth(owner: User) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(owner)}"}


@pytest.fixture
def outsider_auth(outsider: User) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(outsider)}"}


@pytest.fixture
def owner_account(owner: User) -> GoogleAccount:
    return make_account(owner)


@pytest.fixture
def owner_calendar(owner_account: GoogleAccount) -> Calendar:
    return make_calendar(owner_account)


@pytest.fixture(autouse=True)
def embedded_unless_integration(request: pytest.FixtureRequest, settings: Any) -> None:
    """Unit tests run in embedded mode even when Redis is configured.

    Tests marked ``integration`` keep the distributed mode of the
    environment: real workers, Redis pub/sub and the Redis cache.
    """
    if request.node.get_closest_marker("integration") is None:
        settings.DISTRIBUTED = False
