"""Asking for syncs: coalesced, and run off the request path.

``request_sync`` keeps at most one running and one pending sync per
calendar however often it is called, and holds a burst's second sync back
until the burst pauses: a burst of push notifications costs at most two
runs. In distributed mode tasks go to Celery workers; in
embedded mode they run on a small thread pool in this process.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from calendars.models import SyncState
from syncengine.sync import fold_into_running

logger = logging.getLogger(__name__)

# A queued sync whose task never started (its message was lost with a
# restarted broker that keeps nothing on disk) is queued again by the next
# request after this long. Queuing it twice only costs a folded task.
QUEUED_STALE_AFTER = timedelta(minutes=2)


class QueueUnavailable(Exception):
    """The task queue could not be reached; nothing was enqueued."""


class Requested(enum.StrEnum):
    QUEUED = "queued"
    FOLDED = "folded"
    ALREADY_PENDING = "already_pending"


def request_sync(calendar_pk: int, *, full: bool = False) -> Requested:
    """Make sure a sync of the calendar runs after this call.

    The first request after a pause starts a sync at once. One that comes
    while a sync is queued or running joins it, and one that comes soon
    after a sync ended belongs to the same burst: its sync waits until
    requests pause, so a burst costs at most two runs.
    """
    if full:
        SyncState.objects.get_or_create(calendar_id=calendar_pk)
        SyncState.objects.filter(calendar_id=calendar_pk).update(
            full_sync_requested=True
        )
    for _ in range(3):
        now = timezone.now()
        # In a burst the sync is queued most of the time, so that is asked
        # first: most requests then cost one update.
        if _join_queued(calendar_pk, now):
            return Requested.ALREADY_PENDING
        if fold_into_running(calendar_pk, now):
            return Requested.FOLDED
        if _queue_if_idle(calendar_pk, now):
            return Requested.QUEUED
        # No state yet, or the state moved on between the updates.
        SyncState.objects.get_or_create(calendar_id=calendar_pk)
    return Requested.ALREADY_PENDING


def _join_queued(calendar_pk: int, now: datetime) -> bool:
    joined = SyncState.objects.filter(
        calendar_id=calendar_pk,
        state=SyncState.State.QUEUED,
        queued_at__gte=now - QUEUED_STALE_AFTER,
    ).update(requested_at=now)
    return bool(joined)


@transaction.atomic
def _queue_if_idle(calendar_pk: int, now: datetime) -> bool:
    from syncengine.tasks import sync_calendar_task

    idle = SyncState.objects.filter(
        Q(state__in=[SyncState.State.IDLE, SyncState.State.ERROR])
        | Q(state=SyncState.State.QUEUED, queued_at__lt=now - QUEUED_STALE_AFTER)
        | Q(state=SyncState.State.RUNNING, lease_expires_at__lt=now),
        calendar_id=calendar_pk,
    )
    queued = {"state": SyncState.State.QUEUED, "queued_at": now, "requested_at": now}
    paused = Q(requested_at__isnull=True) | Q(requested_at__lt=now - _quiet())
    # Enqueued inside the transaction: if the queue is down, the state change
    # rolls back and the caller can answer 503.
    if idle.filter(paused).update(**queued):
        enqueue(sync_calendar_task, calendar_pk)
        return True
    if idle.update(**queued):
        countdown = _quiet().total_seconds()
        enqueue(sync_calendar_task, calendar_pk, True, countdown=countdown)
        return True
    return False


def postpone_while_requested(calendar_pk: int) -> bool:
    """Put a queued sync off while requests for it keep coming.

    Returns whether it was put off. However steady the requests, a sync
    waits at most ``SYNC_COALESCE_MAX_SECONDS`` after it was queued.
    """
    from syncengine.tasks import sync_calendar_task

    waiting = (
        SyncState.objects.filter(calendar_id=calendar_pk, state=SyncState.State.QUEUED)
        .values_list("requested_at", "queued_at")
        .first()
    )
    if waiting is None:
        return False
    requested_at, queued_at = waiting
    if requested_at is None or queued_at is None:
        return False

    cap = timedelta(seconds=settings.SYNC_COALESCE_MAX_SECONDS)
    start_at = min(requested_at + _quiet(), queued_at + cap)
    delay = (start_at - timezone.now()).total_seconds()
    if delay <= 0:
        return False
    try:
        enqueue(sync_calendar_task, calendar_pk, True, countdown=delay)
    except QueueUnavailable:
        return False
    return True


def _quiet() -> timedelta:
    return timedelta(seconds=settings.SYNC_COALESCE_SECONDS)


def enqueue(task: Task, *args: Any, countdown: float | None = None) -> None:
    if not settings.DISTRIBUTED:
        future = _embedded_pool().submit(_run_embedded, task, args, countdown or 0)
        with _pending_lock:
            _pending.add(future)
        future.add_done_callback(_forget)
        return
    try:
        task.apply_async(args=args, countdown=countdown or 0)
    except Exception as error:
        # Kombu raises several unrelated types when the broker is down.
        logger.warning("Enqueueing failed: task=%s", task.name)
        raise QueueUnavailable(str(type(error).__name__)) from error


_pending: set[Future[None]] = set()
_pending_lock = threading.Lock()


@lru_cache(maxsize=1)
def _embedded_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=settings.EMBEDDED_WORKER_THREADS,
        thread_name_prefix="chronos-task",
    )


def _run_embedded(task: Task, args: tuple[Any, ...], countdown: float) -> None:
    # A pool thread waits out the countdown: embedded mode has no broker to
    # hold the task, and only ever a few such waits at once.
    time.sleep(countdown)
    try:
        task.apply(args=args)
    except Exception:
        logger.exception("Embedded task failed: task=%s", task.name)
    finally:
        close_old_connections()
        connection.close()


def _forget(future: Future[None]) -> None:
    with _pending_lock:
        _pending.discard(future)


def wait_for_embedded_tasks(timeout: float = 30) -> None:
    """Block until the embedded pool is idle, tasks they enqueued included."""
    deadline = time.monotonic() + timeout
    while True:
        with _pending_lock:
            pending = list(_pending)
        if not pending:
            return
        wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        if time.monotonic() > deadline:
            raise TimeoutError("embedded tasks still running")
