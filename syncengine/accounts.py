"""Linking Google accounts and discovering their calendars."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from calendars.models import Calendar, GoogleAccount, SyncState
from syncengine.google import GoogleSession
from webhooks.channels import stop_channels

logger = logging.getLogger(__name__)

CALENDAR_LIST_PAGE_SIZE = 250


def connect_account(
    owner: User,
    refresh_token: str,
    *,
    access_token: str = "",
    scopes: list[str] | None = None,
) -> GoogleAccount:
    """Link the Google account behind a grant to ``owner``.

    Reads the account's email (the id of its primary calendar) and its
    calendar list. Connecting an account again replaces its grant.
    """
    pending = GoogleAccount(
        owner=owner,
        refresh_token=refresh_token,
        access_token=access_token,
        scopes=scopes or [],
    )
    session = GoogleSession(pending)
    primary = session.execute(session.service.calendars().get(calendarId="primary"))
    email = primary["id"]

    account, created = GoogleAccount.objects.update_or_create(
        owner=owner,
        email=email,
        defaults={
            "refresh_token": refresh_token,
            "access_token": pending.access_token,
            "access_token_expires_at": pending.access_token_expires_at,
            "scopes": pending.scopes,
            "status": GoogleAccount.Status.ACTIVE,
        },
    )
    logger.info(
        "Google account connected: account=%s owner=%s new=%s",
        account.pk,
        owner.pk,
        created,
    )
    session.account = account
    discover_calendars(account, session=session)
    return account


def discover_calendars(
    account: GoogleAccount, *, session: GoogleSession | None = None
) -> list[Calendar]:
    """Bring the account's calendars in line with its ``calendarList``."""
    session = session or GoogleSession(account)
    listed = {item["id"]: item for item in _calendar_list(session)}
    gone = list(account.calendars.exclude(google_id__in=list(listed)))
    # Before the rows go: a channel can only be stopped with its ids.
    for calendar in gone:
        stop_channels(calendar, session=session)

    with transaction.atomic():
        calendars = [_upsert_calendar(account, item) for item in listed.values()]
        removed = [calendar.pk for calendar in gone]
        Calendar.objects.filter(pk__in=removed).delete()

    if removed:
        logger.info(
            "Calendars removed from Google: account=%s calendars=%s",
            account.pk,
            removed,
        )
    return calendars


def _calendar_list(session: GoogleSession) -> Iterator[dict[str, Any]]:
    page_token: str | None = None
    while True:
        request = session.service.calendarList().list(
            maxResults=CALENDAR_LIST_PAGE_SIZE, pageToken=page_token
        )
        page = session.execute(request)
        yield from page.get("items", [])
        page_token = page.get("nextPageToken")
        if not page_token:
            return


def _upsert_calendar(account: GoogleAccount, item: dict[str, Any]) -> Calendar:
    fields = {
        "summary": item.get("summaryOverride") or item.get("summary") or "",
        "description": item.get("description") or "",
        "color": item.get("backgroundColor") or "",
        "time_zone": item.get("timeZone") or "",
        "access_role": item.get("accessRole") or "",
        "primary": bool(item.get("primary")),
    }
    calendar, created = Calendar.objects.update_or_create(
        account=account, google_id=item["id"], defaults=fields
    )
    if created:
        # Show what the person shows in Google; their primary calendar always.
        calendar.selected = bool(item.get("selected") or item.get("primary"))
        calendar.save(update_fields=["selected"])
        SyncState.objects.get_or_create(calendar=calendar)
    return calendar
