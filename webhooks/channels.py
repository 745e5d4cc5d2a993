"""Google watch channels: made after a calendar's first sync, renewed before
they expire, stopped when Chronos no longer needs them.

Google cannot renew a channel. A new one is made first and the old one is
stopped afterwards; the receiver accepts both while they overlap. Every
channel row is saved before Google is asked to watch, because the first
(``sync``) message can arrive before the watch call returns.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from calendars.models import Calendar, GoogleAccount, WatchChannel
from syncengine.google import GoogleError, GoogleSession

__all__ = [
    "disconnect_account",
    "ensure_channel",
    "needs_channel",
    "renew_channel",
    "renew_channels",
    "session_for",
    "stop_channel",
    "stop_channels",
    "tidy_channels",
]

logger = logging.getLogger(__name__)

# Google's answers for a calendar it will not watch (holiday and other
# read-only calendars among them).
UNWATCHABLE_STATUS = 404
UNWATCHABLE_REASONS = {"pushNotSupportedForRequestedResource"}
# A channel still pending after this long lost its watch call with a
# crashed worker; it no longer stops a new channel from being made.
PENDING_STALE_AFTER = timedelta(minutes=10)
# Stopped channels stay this long for people reading the admin.
STOPPED_KEPT_FOR = timedelta(days=7)
NOT_STOPPED = [
    WatchChannel.State.PENDING,
    WatchChannel.State.ACTIVE,
    WatchChannel.State.STOPPING,
]


def needs_channel(calendar_pk: int) -> bool:
    """Whether the calendar should be watched and is not; one query."""
    if not settings.WEBHOOK_BASE_URL:
        return False

    watched = WatchChannel.objects.filter(
        _live(timezone.now()), calendar=OuterRef("pk")
    )
    return (
        _watchable_calendars().filter(pk=calendar_pk).filter(~Exists(watched)).exists()
    )


def ensure_channel(calendar_pk: int) -> WatchChannel | None:
    """Watch the calendar unless a live channel already does.

    Returns the new channel, or None when none was needed or possible.
    Raises ``GoogleError`` when Google failed in a way worth retrying later.
    """
    if not settings.WEBHOOK_BASE_URL:
        return None
    calendars = _watchable_calendars().select_related("account")
    calendar = calendars.filter(pk=calendar_pk).first()
    if calendar is None:
        return None

    channel = _new_channel_unless_watched(calendar)
    if channel is None:
        return None
    return _watch(GoogleSession(calendar.account), calendar, channel)


def renew_channel(channel_pk: int) -> WatchChannel | None:
    """Replace the channel with a new one, then stop it at Google.

    Safe to run twice at once: only the run that claims the old channel
    makes a new one, the other returns None.
    """
    old = (
        WatchChannel.objects.select_related("calendar__account")
        .filter(pk=channel_pk, state=WatchChannel.State.ACTIVE)
        .first()
    )
    if old is None or not _is_watchable(old.calendar):
        return None

    new = _claim_for_renewal(old)
    if new is None:
        logger.info("Channel renewal already under way: channel=%s", old.channel_id)
        return None
    session = GoogleSession(old.calendar.account)
    renewed = _watch(session, old.calendar, new)
    if renewed is None:
        return None
    stop_channel(old, session=session)
    logger.info(
        "Channel renewed: calendar=%s old=%s new=%s",
        old.calendar_id,
        old.channel_id,
        renewed.channel_id,
    )
    return renewed


def renew_channels(*, now: datetime | None = None) -> list[WatchChannel]:
    """Tidy up, then renew every channel expiring within the buffer.

    One channel failing does not hold up the others; the next run tries it
    again while it has not expired.
    """
    now = now or timezone.now()
    tidy_channels(now=now)
    horizon = now + timedelta(hours=settings.WEBHOOK_CHANNEL_BUFFER_HOURS)
    due = WatchChannel.objects.filter(
        state=WatchChannel.State.ACTIVE,
        replaced_by__isnull=True,
        expires_at__lte=horizon,
        calendar__in=_watchable_calendars(),
    ).values_list("pk", flat=True)

    renewed = []
    for channel_pk in list(due):
        try:
            channel = renew_channel(channel_pk)
        except GoogleError as error:
            logger.warning(
                "Channel renewal failed: channel=%s status=%s reason=%s",
                channel_pk,
                error.status,
                error.reason,
            )
            continue
        if channel is not None:
            renewed.append(channel)
    return renewed


def tidy_channels(*, now: datetime | None = None) -> None:
    """Mark dead channels stopped, without calling Google.

    Dead: expired, left pending by a crashed worker, or belonging to an
    account that needs re-authorisation (whose grant could not stop them).
    """
    now = now or timezone.now()
    live = WatchChannel.objects.filter(state__in=NOT_STOPPED)
    dead = (
        Q(expires_at__lte=now)
        | Q(state=WatchChannel.State.PENDING, created_at__lt=now - PENDING_STALE_AFTER)
        | ~Q(calendar__account__status=GoogleAccount.Status.ACTIVE)
    )
    # A join in an UPDATE is not allowed, so the dead are chosen by pk.
    dead_pks = list(live.filter(dead).values_list("pk", flat=True))
    stopped = WatchChannel.objects.filter(pk__in=dead_pks).update(
        state=WatchChannel.State.STOPPED, updated_at=now
    )
    purged, _ = WatchChannel.objects.filter(
        state=WatchChannel.State.STOPPED, updated_at__lt=now - STOPPED_KEPT_FOR
    ).delete()
    if stopped or purged:
        logger.info("Channels tidied: stopped=%s purged=%s", stopped, purged)


def stop_channels(calendar: Calendar, *, session: GoogleSession | None = None) -> int:
    """Stop the calendar's channels at Google, then mark them stopped.

    Call it when a calendar is deselected or is about to be deleted, while
    the account's tokens still exist: only they can stop the channels.
    """
    channels = list(calendar.watch_channels.filter(state__in=NOT_STOPPED))
    if not channels:
        return 0

    session = session or session_for(calendar.account)
    return sum(stop_channel(channel, session=session) for channel in channels)


def disconnect_account(account: GoogleAccount) -> None:
    """Stop the account's channels, then delete it with its tokens and data."""
    session = session_for(account)
    for calendar in account.calendars.all():
        stop_channels(calendar, session=session)
    account_pk = account.pk
    account.delete()
    logger.info("Google account disconnected: account=%s", account_pk)


def session_for(account: GoogleAccount) -> GoogleSession | None:
    """A session to stop channels with; None when the grant is not usable."""
    if account.status != GoogleAccount.Status.ACTIVE:
        return None
    return GoogleSession(account)


def stop_channel(channel: WatchChannel, *, session: GoogleSession | None) -> bool:
    """Stop one channel; without a session, only in the database.

    Returns False when the channel was already stopped or being stopped.
    """
    claimed = WatchChannel.objects.filter(
        pk=channel.pk,
        state__in=[WatchChannel.State.PENDING, WatchChannel.State.ACTIVE],
    ).update(state=WatchChannel.State.STOPPING, updated_at=timezone.now())
    if not claimed:
        return False

    try:
        if session is not None and channel.resource_id:
            _stop_at_google(session, channel.channel_id, channel.resource_id)
    finally:
        WatchChannel.objects.filter(pk=channel.pk).update(
            state=WatchChannel.State.STOPPED, updated_at=timezone.now()
        )
    logger.info("Channel stopped: channel=%s", channel.channel_id)
    return True


def _stop_at_google(session: GoogleSession, channel_id: str, resource_id: str) -> None:
    body = {"id": channel_id, "resourceId": resource_id}
    try:
        session.execute(session.service.channels().stop(body=body))
    except GoogleError as error:
        # The channel then lives on at Google until it expires; the
        # receiver ignores what it still sends.
        logger.warning(
            "Google did not stop a channel: channel=%s status=%s reason=%s",
            channel_id,
            error.status,
            error.reason,
        )


def _watchable_calendars() -> QuerySet[Calendar]:
    return Calendar.objects.filter(
        selected=True,
        push_supported=True,
        account__status=GoogleAccount.Status.ACTIVE,
    )


def _is_watchable(calendar: Calendar) -> bool:
    return (
        calendar.selected
        and calendar.push_supported
        and calendar.account.status == GoogleAccount.Status.ACTIVE
    )


def _live(now: datetime) -> Q:
    return Q(state=WatchChannel.State.PENDING) | Q(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        state=WatchChannel.State.ACTIVE,
    )


@transaction.atomic
def _new_channel_unless_watched(calendar: Calendar) -> WatchChannel | None:
    # The calendar row lock makes two ensure runs take turns, so the second
    # sees the first one's channel.
    Calendar.objects.select_for_update().filter(pk=calendar.pk).first()
    if calendar.watch_channels.filter(_live(timezone.now())).exists():
        return None
    return _new_channel(calendar)


def _claim_for_renewal(old: WatchChannel) -> WatchChannel | None:
    with transaction.atomic():
        new = _new_channel(old.calendar)
        claimed = WatchChannel.objects.filter(
            pk=old.pk, state=WatchChannel.State.ACTIVE, replaced_by__isnull=True
        ).update(replaced_by=new, updated_at=timezone.now())
        if claimed != 1:
            transaction.set_rollback(True)
            return None
    return new


def _new_channel(calendar: Calendar) -> WatchChannel:
    return WatchChannel.objects.create(
        calendar=calendar,
        channel_id=str(uuid.uuid4()),
        token=secrets.token_urlsafe(32),
        state=WatchChannel.State.PENDING,
    )


def _watch(
    session: GoogleSession, calendar: Calendar, channel: WatchChannel
) -> WatchChannel | None:
    body = {
        "id": channel.channel_id,
        "type": "web_hook",
        "address": settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("calendar-webhook"),
        "token": channel.token,
        "params": {"ttl": str(settings.WEBHOOK_CHANNEL_TTL_SECONDS)},
    }
    request = session.service.events().watch(calendarId=calendar.google_id, body=body)
    try:
        answer = session.execute(request)
    except GoogleError as error:
        # Deleting the row also frees the old channel a renewal had claimed.
        channel.delete()
        if not _unwatchable(error):
            raise
        _mark_push_unsupported(calendar, error)
        return None

    return _activate(session, channel, answer)


def _activate(
    session: GoogleSession, channel: WatchChannel, answer: dict[str, Any]
) -> WatchChannel | None:
    channel.resource_id = str(answer.get("resourceId") or "")
    channel.expires_at = _expiry(answer)
    channel.state = WatchChannel.State.ACTIVE
    activated = WatchChannel.objects.filter(
        pk=channel.pk, state=WatchChannel.State.PENDING
    ).update(
        state=channel.state,
        resource_id=channel.resource_id,
        expires_at=channel.expires_at,
        updated_at=timezone.now(),
    )
    if not activated:
        # Stopped while Google was answering (the calendar was deselected):
        # only now is its resource id known to stop it at Google too.
        _stop_at_google(session, channel.channel_id, channel.resource_id)
        return None

    logger.info(
        "Channel watching: calendar=%s channel=%s expires_at=%s",
        channel.calendar_id,
        channel.channel_id,
        channel.expires_at,
    )
    return channel


def _expiry(answer: dict[str, Any]) -> datetime:
    expiration = answer.get("expiration")
    if not expiration:
        ttl = timedelta(seconds=settings.WEBHOOK_CHANNEL_TTL_SECONDS)
        return timezone.now() + ttl
    return datetime.fromtimestamp(int(expiration) / 1000, tz=UTC)


def _unwatchable(error: GoogleError) -> bool:
    return error.status == UNWATCHABLE_STATUS or error.reason in UNWATCHABLE_REASONS


def _mark_push_unsupported(calendar: Calendar, error: GoogleError) -> None:
    logger.info(
        "Google will not watch a calendar, periodic sync covers it: "
        "calendar=%s status=%s reason=%s",
        calendar.pk,
        error.status,
        error.reason,
    )
    Calendar.objects.filter(pk=calendar.pk).update(push_supported=False)
    calendar.push_supported = False
