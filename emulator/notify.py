"""Push-notification channels and their delivery, the way Google sends them.

Each channel is pinned to one worker thread, so its messages leave in order
while a slow receiver holds up only the channels sharing its worker.
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator.times import http_date

__all__ = ["Channel", "Notifier"]

logger = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_USER_AGENT = (
    "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
)


@dataclass
class Channel:
    """A watch on one calendar's events."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    owner: str
    address: str
    token: str
    expiration_ms: int
    message_number: int = 0
    stopped: bool = False
    delivered: int = 0
    failed: int = 0
    pending_exists: bool = field(default=False, repr=False)

    def expired(self, now: float) -> bool:
        return now * 1000 >= self.expiration_ms

    def resource(self) -> dict[str, Any]:
        payload = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(self.expiration_ms),
        }
        if self.token:
            payload["token"] = self.token
        return payload

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("pending_exists")
        return data


class Notifier:
    """Sends ``sync`` and ``exists`` messages on background workers."""

    def __init__(
        self,
        *,
        workers: int = 4,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
    ) -> None:
        self._queues: list[queue.Queue[tuple[Channel, str] | None]] = [
            queue.Queue() for _ in range(workers)
        ]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._retries = retries
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._stopping = threading.Event()

    def start(self) -> None:
        for index, inbox in enumerate(self._queues):
            thread = threading.Thread(
                target=self._work,
                args=(inbox,),
                name=f"emulator-notify-{index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for inbox in self._queues:
            inbox.put(None)
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def send(self, channel: Channel, state: str) -> None:
        """Queue a message; repeated ``exists`` not yet sent collapse into one.

        Google also coalesces bursts, and a bulk seed must not become
        thousands of requests to the receiver.
        """
        with self._lock:
            if state == "exists" and channel.pending_exists:
                return
            if state == "exists":
                channel.pending_exists = True
        index = zlib.crc32(channel.id.encode()) % len(self._queues)
        self._queues[index].put((channel, state))

    def _work(self, inbox: queue.Queue[tuple[Channel, str] | None]) -> None:
        while True:
            item = inbox.get()
            if item is None:
                return
            channel, state = item
            if state == "exists":
                with self._lock:
                    channel.pending_exists = False
            try:
                self._deliver(channel, state)
            except Exception:
                logger.exception("Notification worker failed on channel %s", channel.id)

    def _deliver(self, channel: Channel, state: str) -> None:
        if channel.stopped or channel.expired(time.time()):
            return

        with self._lock:
            channel.message_number += 1
            number = channel.message_number
        headers = _headers(channel, state, number)
        for attempt in range(self._retries + 1):
            if self._stopping.is_set() or channel.stopped:
                return
            status = _post(channel.address, headers, self._timeout_s)
            if status is not None and 200 <= status < 300:
                channel.delivered += 1
                return
            if status is not None and status not in _RETRY_STATUSES:
                break
            if attempt < self._retries:
                time.sleep(self._backoff_s * 2**attempt)

        channel.failed += 1
        logger.warning(
            "Notification to %s on channel %s failed with %s",
            channel.address,
            channel.id,
            status,
        )


def _headers(channel: Channel, state: str, number: int) -> dict[str, str]:
    headers = {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Expiration": http_date(channel.expiration_ms / 1000),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": channel.resource_uri,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(number),
        "Content-Length": "0",
        "User-Agent": _USER_AGENT,
    }
    if channel.token:
        headers["X-Goog-Channel-Token"] = channel.token
    return headers


def _post(address: str, headers: dict[str, str], timeout_s: float) -> int | None:
    """POST an empty body; ``None`` means the receiver could not be reached."""
    parts = urlsplit(address)
    connection_class = (
        http.client.HTTPSConnection
        if parts.scheme == "https"
        else http.client.HTTPConnection
    )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = connection_class(parts.netloc, timeout=timeout_s)
    try:
        connection.request("POST", path, body=b"", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()
