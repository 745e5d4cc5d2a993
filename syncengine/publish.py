"""Handing stored changes to whoever relays them to open pages.

Workers call :func:`publish_batch` after each stored page commits and
:func:`publish_status` when a calendar's sync state changes. In distributed
mode messages go out on one Redis pub/sub channel; in embedded mode they go
to subscribers in this process. Messages only wake the streams: the
database stays the truth, so a lost message loses nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings

from calendars.models import SyncState

if TYPE_CHECKING:
    from syncengine.store import StoredBatch

logger = logging.getLogger(__name__)

CHANNEL = "chronos:changes"

Subscriber = Callable[[str], None]


class LocalBroker:
    """In-process pub/sub for embedded mode."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def publish(self, message: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(message)
            except Exception:
                logger.exception("A local subscriber failed")

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe


local_broker = LocalBroker()


@lru_cache(maxsize=1)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def send(message: dict[str, Any]) -> None:
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    if not settings.DISTRIBUTED:
        local_broker.publish(text)
        return
    try:
        _redis_client(settings.REDIS_URL).publish(CHANNEL, text)
    except redis.RedisError:
        # Streams catch up from the database when they next wake.
        logger.warning("Publishing a change failed: kind=%s", message.get("type"))


def publish_batch(batch: StoredBatch) -> None:
    send(
        {
            "type": "events",
            "calendar_id": batch.calendar_id,
            "cursor": batch.cursor,
            "events": batch.events,
        }
    )


def publish_status(calendar_pk: int) -> None:
    state = (
        SyncState.objects.filter(calendar_id=calendar_pk)
        .values("state", "last_sync_at", "last_error")
        .first()
    )
    if state is None:
        return
    last_sync_at = state["last_sync_at"]
    send(
        {
            "type": "sync_status",
            "calendar_id": calendar_pk,
            "state": state["state"],
            "last_sync_at": last_sync_at.isoformat() if last_sync_at else None,
            "last_error": state["last_error"],
        }
    )
