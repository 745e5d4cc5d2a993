"""Handing stored changes to the web processes that relay them to pages.

Workers call :func:`publish_batch` after each stored page commits and
:func:`publish_status` when a calendar's sync state changes. In distributed
mode messages go out on one Redis pub/sub channel; in embedded mode to
subscribers in this process. Messages only wake the streams: the database
stays the truth, and a web process that misses a message reads it back from
there (see ``syncengine.relay``).

A message is a header line, ``<type> <calendar id> <cursor> <event count>``,
then the JSON sent to browsers as the SSE ``data:`` line. The header lets a web process
route a batch without parsing its events. For a batch the cursor is its
change cursor; for a status it is the newest cursor committed when the
status was published, so the status is relayed after the batches before it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.db.models import Subquery

from calendars.models import ChangeCounter, SyncState

if TYPE_CHECKING:
    from syncengine.store import StoredBatch

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "chronos:changes"

Subscriber = Callable[[str], None]


@dataclass(frozen=True)
class SyncFailure:
    """What the sync stream tells a client about a failed calendar sync."""

    code: int
    message: str
    retryable: bool


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


def channel() -> str:
    """The pub/sub channel of this Redis database.

    Redis shares pub/sub channels across its numbered databases, so two
    Chronos installations on one server, one database each, would otherwise
    hear each other's changes.
    """
    return f"{CHANNEL_PREFIX}:{_database_number(settings.REDIS_URL)}"


@lru_cache(maxsize=1)
def _database_number(url: str) -> int:
    return int(redis.connection.parse_url(url).get("db", 0))


def encode(
    kind: str, calendar_id: int, cursor: int, data: dict[str, Any], count: int = 0
) -> str:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"{kind} {calendar_id} {cursor} {count}\n{body}"


def send(message: str) -> None:
    if not settings.DISTRIBUTED:
        local_broker.publish(message)
        return
    try:
        _redis_client(settings.REDIS_URL).publish(channel(), message)
    except redis.RedisError:
        # Streams read what they missed from the database when they next wake.
        logger.warning("Publishing a change failed: header=%s", message.split("\n")[0])


def publish_batch(batch: StoredBatch) -> None:
    # The events are spliced in as the JSON text they were stored as.
    count = len(batch.event_texts)
    events = ",".join(batch.event_texts)
    body = f'{{"type":"events","calendar_id":{batch.calendar_id},"events":[{events}]}}'
    send(f"events {batch.calendar_id} {batch.cursor} {count}\n{body}")


def publish_status(calendar_pk: int, failure: SyncFailure | None = None) -> None:
    # The newest committed cursor comes with the state, in one round trip.
    newest_cursor = ChangeCounter.objects.filter(pk=1).values("value")
    state = (
        SyncState.objects.filter(calendar_id=calendar_pk)
        .annotate(committed=Subquery(newest_cursor))
        .values("state", "version", "last_sync_at", "last_error", "committed")
        .first()
    )
    if state is None:
        return
    last_sync_at = state["last_sync_at"]
    data: dict[str, Any] = {
        "type": "sync_status",
        "calendar_id": calendar_pk,
        "state": state["state"],
        "version": state["version"],
        "last_sync_at": last_sync_at.isoformat() if last_sync_at else None,
        "last_error": state["last_error"] or None,
    }
    if failure is not None:
        data.update(
            code=failure.code, message=failure.message, retryable=failure.retryable
        )
    send(encode("sync_status", calendar_pk, state["committed"] or 0, data))


def committed_cursor() -> int:
    """The newest change cursor that has committed."""
    value = ChangeCounter.objects.filter(pk=1).values_list("value", flat=True).first()
    return value or 0
