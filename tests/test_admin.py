"""Operators can inspect everything in the admin, and never see a token."""

import pytest
from django.urls import reverse

from calendars.models import WatchChannel
from tests.conftest import make_event

SECRETS = ["1//refresh-owner-secret", "ya29.access-owner-secret", "channel-secret"]
MODELS = ["googleaccount", "calendar", "event", "syncstate", "watchchannel"]


@pytest.fixture
def stored(owner_calendar):
    owner_calendar.sync_state.sync_token = "sync-token-value"
    owner_calendar.sync_state.save()
    event = make_event(owner_calendar, "evt1")
    channel = WatchChannel.objects.create(
        calendar=owner_calendar, channel_id="chan-1", token="channel-secret"
    )
    return {
        "googleaccount": owner_calendar.account,
        "calendar": owner_calendar,
        "event": event,
        "syncstate": owner_calendar.sync_state,
        "watchchannel": channel,
    }


@pytest.mark.parametrize("model", MODELS)
def test_changelist_loads_and_shows_no_token(operator_client, stored, model):
    response = operator_client.get(reverse(f"admin:calendars_{model}_changelist"))

    assert response.status_code == 200
    assert str(stored[model]) in response.text
    for secret in SECRETS:
        assert secret not in response.text


@pytest.mark.parametrize("model", MODELS)
def test_change_page_loads_and_shows_no_token(operator_client, stored, model):
    url = reverse(f"admin:calendars_{model}_change", args=[stored[model].pk])

    response = operator_client.get(url)

    assert response.status_code == 200
    for secret in [*SECRETS, "sync-token-value"]:
        assert secret not in response.text


def test_search_finds_an_account_by_email(operator_client, stored):
    url = reverse("admin:calendars_googleaccount_changelist")

    response = operator_client.get(url, {"q": "owner@"})

    assert "owner@example.com" in response.text


def test_the_admin_refuses_people_who_are_not_staff(owner_client, stored):
    response = owner_client.get(reverse("admin:calendars_event_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
