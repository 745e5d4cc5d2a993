"""Celery tasks for watch channels; every call to Google for them is here."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from calendars.models import Calendar, GoogleAccount
from syncengine.google import GoogleError, RetryableGoogleError
from webhooks import channels

logger = logging.getLogger(__name__)

RETRY_COUNTDOWN_SECONDS = 60
MAX_TASK_RETRIES = 3


@shared_task(name="webhooks.ensure_channel", bind=True, max_retries=MAX_TASK_RETRIES)
def ensure_channel_task(self: Task, calendar_pk: int) -> None:
    try:
        channels.ensure_channel(calendar_pk)
    except RetryableGoogleError as error:
        countdown = RETRY_COUNTDOWN_SECONDS * 2**self.request.retries
        raise self.retry(countdown=countdown, exc=error) from error
    except GoogleError as error:
        # Refused for good (a bad address, a dead grant): the next
        # successful sync tries again, the periodic sync covers meanwhile.
        logger.warning(
            "Calendar not watched: calendar=%s status=%s reason=%s",
            calendar_pk,
            error.status,
            error.reason,
        )


@shared_task(name="webhooks.renew_channels")
def renew_channels_task() -> int:
    return len(channels.renew_channels())


@shared_task(name="webhooks.stop_channels")
def stop_channels_task(calendar_pk: int) -> int:
    """Stop a deselected calendar's channels off the request path."""
    calendar = Calendar.objects.select_related("account").filter(pk=calendar_pk).first()
    if calendar is None:
        return 0
    return channels.stop_channels(calendar)


@shared_task(name="webhooks.disconnect_account")
def disconnect_account_task(account_pk: int) -> None:
    account = GoogleAccount.objects.filter(pk=account_pk).first()
    if account is None:
        return
    channels.disconnect_account(account)
