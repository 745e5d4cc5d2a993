"""The data model keeps one row per Google object."""

import pytest
from django.db import IntegrityError, transaction

from calendars.models import Calendar, SyncState, WatchChannel
from tests.conftest import make_account, make_calendar, make_event


def test_one_user_cannot_connect_the_same_google_account_twice(owner):
    make_account(owner, email="same@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_account(owner, email="same@example.com")


def test_two_users_may_connect_the_same_google_account(owner, outsider):
    make_account(owner, email="shared@example.com")
    make_account(outsider, email="shared@example.com")


def test_a_user_may_connect_several_accounts(owner):
    make_account(owner, email="work@example.com")
    make_account(owner, email="home@example.com")

    assert owner.google_accounts.count() == 2


def test_a_calendar_is_unique_per_account_and_google_id(owner_account):
    make_calendar(owner_account, google_id="team@group.calendar.google.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        Calendar.objects.create(
            account=owner_account, google_id="team@group.calendar.google.com"
        )


def test_an_event_is_unique_per_calendar_and_google_id(owner_calendar):
    make_event(owner_calendar, "evt1")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_event(owner_calendar, "evt1")


def test_the_same_event_id_may_exist_in_two_calendars(owner_account):
    first = make_calendar(owner_account, google_id="a@example.com")
    second = make_calendar(owner_account, google_id="b@example.com")

    make_event(first, "evt1")
    make_event(second, "evt1")


def test_a_calendar_has_exactly_one_sync_state(owner_calendar):
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncState.objects.create(calendar=owner_calendar)


def test_a_channel_id_is_never_reused(owner_calendar):
    WatchChannel.objects.create(
        calendar=owner_calendar, channel_id="chan-1", token="t1"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        WatchChannel.objects.create(
            calendar=owner_calendar, channel_id="chan-1", token="t2"
        )


def test_deleting_an_account_deletes_its_calendars_and_events(owner_account):
    calendar = make_calendar(owner_account)
    make_event(calendar, "evt1")

    owner_account.delete()

    assert not Calendar.objects.exists()
