"""Asking for syncs: coalesced, and run off the request path.

``request_sync`` keeps at most one running and one pending sync per
calendar however often it is called: a burst of push notifications costs
at most two runs. In distributed mode tasks go to Celery workers; in
embedded mode they run on a small thread pool in this process.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta
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
    """Make sure a sync of the calendar runs after this call."""
    SyncState.objects.get_or_create(calendar_id=calendar_pk)
    if full:
        SyncState.objects.filter(calendar_id=calendar_pk).update(
            full_sync_requested=True
        )
    for _ in range(3):
        if _queue_if_idle(calendar_pk):
            return Requested.QUEUED
        if fold_into_running(calendar_pk):
            return Requested.FOLDED
        # Neither idle nor running: queued, unless the state moved on between
        # the two updates, in which case try again.
        if SyncState.objects.filter(
            calendar_id=calendar_pk, state=SyncState.State.QUEUED
        ).exists():
            return Requested.ALREADY_PENDING
    return Requested.ALREADY_PENDING


@transaction.atomic
def _queue_if_idle(calendar_pk: int) -> bool:
    from syncengine.tasks import sync_calendar_task

    now = timezone.now()
    idle = (
        Q(state__in=[SyncState.State.IDLE, SyncState.State.ERROR])
        | Q(state=SyncState.State.QUEUED, queued_at__lt=now - QUEUED_STALE_AFTER)
        | Q(state=SyncState.State.RUNNING, lease_expires_at__lt=now)
    )
    queued = SyncState.objects.filter(idle, calendar_id=calendar_pk).update(
        state=SyncState.State.QUEUED, queued_at=now
    )
    if not queued:
        return False
    # Enqueued inside the transaction: if the queue is down, the state change
    # rolls back and the caller can answer 503.
    enqueue(sync_calendar_task, calendar_pk)
    return True


def enqueue(task: Task, *args: Any, countdown: float | None = None) -> None:
    if not settings.DISTRIBUTED:
        future = _embedded_pool().submit(_run_embedded, task, args)
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


def _run_embedded(task: Task, args: tuple[Any, ...]) -> None:
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
