"""Mirroring one Google calendar into the database.

A run claims the calendar by bumping its sync state's version and holding a
lease, fetches pages of ``events.list`` (full without a sync token,
incremental with one), stores each page in one transaction fenced by that
version, and saves the next sync token with the last page. A sync asked for
while a run is going is folded into one more round of that run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from calendars.models import Calendar, GoogleAccount, SyncState
from syncengine import publish
from syncengine.google import (
    FullSyncRequired,
    GoogleError,
    GoogleSession,
    ReauthRequired,
)
from syncengine.store import StoredBatch, Superseded, store_page

logger = logging.getLogger(__name__)

PAGE_SIZE = 2500
CLAIM_ATTEMPTS = 3


class AccountInactive(Exception):
    """The account needs re-authorisation; nothing is called for it."""


@dataclass
class SyncResult:
    """What one run of a calendar's sync did."""

    calendar_id: int
    ran: bool = True
    full: bool = False
    added: int = 0
    changed: int = 0
    deleted: int = 0
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return self.added + self.changed + self.deleted

    def count(self, batch: StoredBatch) -> None:
        self.added += batch.added
        self.changed += batch.changed
        self.deleted += batch.deleted


def sync_calendar(
    calendar_pk: int,
    *,
    full: bool = False,
    on_batch: Callable[[StoredBatch], None] | None = None,
) -> SyncResult:
    """Sync one calendar now, in this thread.

    Returns ``ran=False`` when another run holds the calendar: that run goes
    round once more instead, so the request is not lost.
    """
    if full:
        SyncState.objects.filter(calendar_id=calendar_pk).update(
            full_sync_requested=True
        )
    version = claim(calendar_pk)
    if version is None:
        return SyncResult(calendar_id=calendar_pk, ran=False)

    started = time.monotonic()
    result = SyncResult(calendar_id=calendar_pk)
    try:
        while True:
            _run_once(calendar_pk, version, result, on_batch)
            _settle(calendar_pk, version)
            next_version = finish(calendar_pk, version)
            if next_version is None:
                break
            version = next_version
    except Superseded:
        logger.info("Sync superseded by a newer run: calendar=%s", calendar_pk)
    except BaseException as error:
        fail(calendar_pk, version, error)
        raise
    result.seconds = time.monotonic() - started
    return result


def _run_once(
    calendar_pk: int,
    version: int,
    result: SyncResult,
    on_batch: Callable[[StoredBatch], None] | None,
) -> None:
    calendar = Calendar.objects.select_related("account", "sync_state").get(
        pk=calendar_pk
    )
    account = calendar.account
    if account.status != GoogleAccount.Status.ACTIVE:
        raise AccountInactive(f"account {account.pk} is {account.status}")

    state = calendar.sync_state
    token = "" if state.full_sync_requested else state.sync_token
    session = GoogleSession(account, on_wait=lambda: renew_lease(calendar_pk, version))
    try:
        _fetch_and_store(session, calendar, version, token, result, on_batch)
    except FullSyncRequired:
        if not token:
            raise
        logger.info("Sync token expired, resyncing in full: calendar=%s", calendar_pk)
        _fetch_and_store(session, calendar, version, "", result, on_batch)


def _fetch_and_store(
    session: GoogleSession,
    calendar: Calendar,
    version: int,
    token: str,
    result: SyncResult,
    on_batch: Callable[[StoredBatch], None] | None,
) -> None:
    # Google requires every parameter but the token to stay as it was on the
    # full sync, so both kinds of listing send the same ones.
    params: dict[str, Any] = {
        "calendarId": calendar.google_id,
        "singleEvents": False,
        "maxResults": PAGE_SIZE,
    }
    if token:
        params["syncToken"] = token
    result.full = not token
    page_token: str | None = None
    while True:
        renew_lease(calendar.pk, version)
        request = session.service.events().list(**params, pageToken=page_token)
        page = session.execute(request)
        page_token = page.get("nextPageToken")
        sync_token = None if page_token else page.get("nextSyncToken", "")
        batch = store_page(
            calendar,
            version,
            page.get("items", []),
            sync_token=sync_token,
            sweep=result.full and sync_token is not None,
        )
        if batch is not None:
            result.count(batch)
            _hand_over(batch, on_batch)
        if not page_token:
            return


def _hand_over(
    batch: StoredBatch, on_batch: Callable[[StoredBatch], None] | None
) -> None:
    transaction.on_commit(lambda: publish.publish_batch(batch))
    if on_batch is not None:
        on_batch(batch)


def claim(calendar_pk: int) -> int | None:
    """Take the calendar for a new run and return its version.

    When a live run holds it, ask that run to go round once more and return
    None. A run whose lease ran out (its worker died) is taken over.
    """
    SyncState.objects.get_or_create(calendar_id=calendar_pk)
    for _ in range(CLAIM_ATTEMPTS):
        version = _try_claim(calendar_pk)
        if version is not None:
            publish.publish_status(calendar_pk)
            return version
        if fold_into_running(calendar_pk):
            return None
    return None


def fold_into_running(calendar_pk: int, now: datetime | None = None) -> bool:
    """Ask the live run holding the calendar to go round once more."""
    now = now or timezone.now()
    folded = (
        SyncState.objects.filter(calendar_id=calendar_pk, state=SyncState.State.RUNNING)
        .exclude(lease_expires_at__lt=now)
        .update(rerun_requested=True, requested_at=now)
    )
    return bool(folded)


def _settle(calendar_pk: int, version: int) -> None:
    """Before going round again, wait until requests stop arriving.

    A burst of push notifications then costs one more round, not one per
    notification; the wait is bounded so a steady stream still syncs.
    """
    quiet = timedelta(seconds=settings.SYNC_COALESCE_SECONDS)
    deadline = time.monotonic() + settings.SYNC_COALESCE_MAX_SECONDS
    while time.monotonic() < deadline:
        request = (
            SyncState.objects.filter(calendar_id=calendar_pk, version=version)
            .values("rerun_requested", "requested_at")
            .first()
        )
        if request is None:
            raise Superseded(f"calendar {calendar_pk}: run {version} was superseded")
        if not request["rerun_requested"] or request["requested_at"] is None:
            return
        wait = (request["requested_at"] + quiet - timezone.now()).total_seconds()
        if wait <= 0:
            return
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        renew_lease(calendar_pk, version)


@transaction.atomic
def _try_claim(calendar_pk: int) -> int | None:
    now = timezone.now()
    claimed = (
        SyncState.objects.filter(calendar_id=calendar_pk)
        .filter(~Q(state=SyncState.State.RUNNING) | Q(lease_expires_at__lt=now))
        .update(
            state=SyncState.State.RUNNING,
            version=F("version") + 1,
            lease_expires_at=_lease_end(),
            rerun_requested=False,
            queued_at=None,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    # The update holds the row lock, so this reads the version just taken.
    version: int = SyncState.objects.values_list("version", flat=True).get(
        calendar_id=calendar_pk
    )
    return version


def finish(calendar_pk: int, version: int) -> int | None:
    """End a successful round; return the next version if asked to rerun."""
    now = timezone.now()
    done = SyncState.objects.filter(
        calendar_id=calendar_pk, version=version, rerun_requested=False
    ).update(
        state=SyncState.State.IDLE,
        last_sync_at=now,
        last_error="",
        consecutive_failures=0,
        lease_expires_at=None,
        updated_at=now,
    )
    if done:
        publish.publish_status(calendar_pk)
        return None

    again = SyncState.objects.filter(
        calendar_id=calendar_pk, version=version, rerun_requested=True
    ).update(
        version=F("version") + 1,
        rerun_requested=False,
        last_sync_at=now,
        lease_expires_at=_lease_end(),
        updated_at=now,
    )
    if not again:
        raise Superseded(f"calendar {calendar_pk}: run {version} was superseded")
    return version + 1


def fail(calendar_pk: int, version: int, error: BaseException) -> None:
    failure = failure_of(error)
    message = failure.message
    logger.warning(
        "Sync failed: calendar=%s error=%s", calendar_pk, type(error).__name__
    )
    _drop_dead_connection()
    SyncState.objects.filter(calendar_id=calendar_pk, version=version).update(
        state=SyncState.State.ERROR,
        last_error=message,
        consecutive_failures=F("consecutive_failures") + 1,
        lease_expires_at=None,
        rerun_requested=False,
        updated_at=timezone.now(),
    )
    publish.publish_status(calendar_pk, failure)


def _drop_dead_connection() -> None:
    """Let Django reconnect if the database ended this run's connection.

    A broken connection is only replaced once it is closed. Without this a
    run whose backend was terminated could not release its claim, and the
    task's retry would find the calendar held until the lease ran out.
    """
    if not connection.in_atomic_block:
        close_old_connections()


def failure_of(error: BaseException) -> publish.SyncFailure:
    if isinstance(error, ReauthRequired | AccountInactive):
        return publish.SyncFailure(401, describe(error), retryable=False)
    if isinstance(error, GoogleError):
        code = error.status or 503
        return publish.SyncFailure(code, describe(error), retryable=error.retryable)
    return publish.SyncFailure(500, describe(error), retryable=True)


def describe(error: BaseException) -> str:
    """A message for people: what went wrong and what happens next."""
    if isinstance(error, ReauthRequired | AccountInactive):
        return (
            "Google no longer accepts this account's access. Reconnect the "
            "account to resume syncing."
        )
    if isinstance(error, GoogleError):
        if error.reason == "quotaExceeded":
            return (
                "Google's daily quota for this calendar is used up; syncing "
                "resumes when it resets."
            )
        if error.retryable:
            return f"{error.message}. Chronos will try again shortly."
        return f"{error.message}."
    return f"The sync stopped unexpectedly ({type(error).__name__})."


def renew_lease(calendar_pk: int, version: int) -> None:
    renewed = SyncState.objects.filter(calendar_id=calendar_pk, version=version).update(
        lease_expires_at=_lease_end()
    )
    if not renewed:
        raise Superseded(f"calendar {calendar_pk}: run {version} was superseded")


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
