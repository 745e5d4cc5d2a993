"""Celery tasks: every call to Google happens here, on the workers.

Tasks take primary keys, are idempotent, and separate what is worth
retrying (rate limits, server errors, lost database connections) from what
is not (dead grants, other 4xx answers, which are recorded on the sync
state for people to read).
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from calendars.models import Calendar, GoogleAccount
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from syncengine.google import GoogleError, ReauthRequired, RetryableGoogleError
from syncengine.sync import AccountInactive, sync_calendar
from webhooks import channels
from webhooks.tasks import ensure_channel_task

logger = logging.getLogger(__name__)

RETRY_COUNTDOWN_SECONDS = 30
MAX_TASK_RETRIES = 3
BACKGROUND_SYNCS_CLAIM = "background-syncs-scheduled"


@shared_task(name="syncengine.sync_calendar", bind=True, max_retries=MAX_TASK_RETRIES)
def sync_calendar_task(self: Task, calendar_pk: int, debounce: bool = False) -> None:
    """Sync the calendar; with ``debounce``, once requests for it pause."""
    if debounce and dispatch.postpone_while_requested(calendar_pk):
        return
    try:
        result = sync_calendar(calendar_pk)
    except Calendar.DoesNotExist:
        logger.info("Calendar gone before its sync ran: calendar=%s", calendar_pk)
        return
    except (ReauthRequired, AccountInactive):
        return
    except (RetryableGoogleError, OperationalError, InterfaceError) as error:
        countdown = RETRY_COUNTDOWN_SECONDS * 2**self.request.retries
        logger.warning(
            "Sync will be retried: calendar=%s error=%s countdown=%s",
            calendar_pk,
            type(error).__name__,
            countdown,
        )
        raise self.retry(countdown=countdown, exc=error) from error
    except GoogleError:
        return
    if not result.ran:
        return

    logger.info(
        "Calendar synced: calendar=%s full=%s added=%s changed=%s deleted=%s "
        "seconds=%.2f",
        calendar_pk,
        result.full,
        result.added,
        result.changed,
        result.deleted,
        result.seconds,
    )
    _watch_if_needed(calendar_pk)


def _watch_if_needed(calendar_pk: int) -> None:
    """After a successful sync, start push notifications if none arrive."""
    if not channels.needs_channel(calendar_pk):
        return

    try:
        dispatch.enqueue(ensure_channel_task, calendar_pk)
    except dispatch.QueueUnavailable:
        # The next successful sync asks again.
        return


@shared_task(name="syncengine.sync_account", bind=True, max_retries=MAX_TASK_RETRIES)
def sync_account_task(self: Task, account_pk: int) -> None:
    """Refresh the account's calendar list, then sync its chosen calendars."""
    account = GoogleAccount.objects.filter(
        pk=account_pk, status=GoogleAccount.Status.ACTIVE
    ).first()
    if account is None:
        return
    try:
        calendars = discover_calendars(account)
    except ReauthRequired:
        return
    except RetryableGoogleError as error:
        raise self.retry(countdown=RETRY_COUNTDOWN_SECONDS, exc=error) from error
    for calendar in calendars:
        if calendar.selected:
            dispatch.request_sync(calendar.pk)


@shared_task(name="syncengine.schedule_background_syncs")
def schedule_background_syncs() -> int:
    """Backstop for lost notifications: sync every active calendar.

    Spread over a quarter of the interval so that Google never sees every
    account at the same second.
    """
    interval = settings.BACKGROUND_SYNC_INTERVAL_SECONDS
    if not _claim_interval(interval):
        logger.info("Background syncs already scheduled by another beat")
        return 0

    spread = interval / 4
    calendars = Calendar.objects.filter(
        selected=True, account__status=GoogleAccount.Status.ACTIVE
    ).values_list("pk", flat=True)
    count = 0
    for calendar_pk in calendars:
        delay = random.uniform(0, spread)  # noqa: S311 - spreading load
        dispatch.enqueue(request_sync_task, calendar_pk, countdown=delay)
        count += 1
    return count


def _claim_interval(interval: int) -> bool:
    """Take this interval's background syncs; False if another beat has.

    Two beats (a second one left running by a deploy) send every periodic
    task twice. The claim lasts three quarters of an interval, well over
    half and well under a whole one: however the two beats' ticks
    interleave, one run per interval goes ahead, and a lone beat whose
    task starts late never holds itself back.
    """
    claim_seconds = max(1, interval * 3 // 4)
    return bool(cache.add(BACKGROUND_SYNCS_CLAIM, True, claim_seconds))


@shared_task(name="syncengine.request_sync")
def request_sync_task(calendar_pk: int) -> None:
    """Ask for a coalesced sync later, when a delay was wanted."""
    dispatch.request_sync(calendar_pk)
