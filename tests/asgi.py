"""Driving the real ASGI application, as a server would, for streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from chronos.asgi import application


@dataclass
class SseMessage:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comment: str | None = None

    @cached_property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class AsgiResponse:
    """One request to the application, its answer read as it streams."""

    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    ended: bool = False

    def __post_init__(self) -> None:
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        self._buffer = b""
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10) -> AsgiResponse:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "headers": [
                (name.lower().encode(), value.encode())
                for name, value in {"host": "testserver", **self.headers}.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await self._inbox.put({"type": "http.request", "body": b"", "more_body": False})
        self._task = asyncio.create_task(
            application(scope, self._inbox.get, self._outbox.put)
        )
        start = await asyncio.wait_for(self._outbox.get(), timeout)
        assert start["type"] == "http.response.start", start
        self.status = start["status"]
        self.response_headers = {
            name.decode().lower(): value.decode() for name, value in start["headers"]
        }
        return self

    async def body(self, timeout: float = 10) -> bytes:
        chunks = []
        while not self.ended:
            chunks.append(await self._chunk(timeout))
        return b"".join(chunks)

    async def json(self, timeout: float = 10) -> Any:
        return json.loads(await self.body(timeout))

    async def _chunk(self, timeout: float) -> bytes:
        message = await asyncio.wait_for(self._outbox.get(), timeout)
        assert message["type"] == "http.response.body", message
        if not message.get("more_body", False):
            self.ended = True
        return bytes(message.get("body", b""))

    async def next_message(self, timeout: float = 10) -> SseMessage:
        """The next Server-Sent Event (or comment) on the stream."""
        while b"\n\n" not in self._buffer:
            if self.ended:
                raise EOFError("the stream ended")
            self._buffer += await self._chunk(timeout)
        frame, self._buffer = self._buffer.split(b"\n\n", 1)
        return parse_frame(frame.decode())

    async def messages_until(self, event: str, timeout: float = 20) -> list[SseMessage]:
        """Every message up to and including the first ``event``."""
        received = []
        while True:
            message = await self.next_message(timeout)
            received.append(message)
            if message.event == event:
                return received

    async def disconnect(self, timeout: float = 5) -> None:
        await self._inbox.put({"type": "http.disconnect"})
        await self.finished(timeout)

    async def finished(self, timeout: float = 5) -> None:
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout)


def parse_frame(frame: str) -> SseMessage:
    message = SseMessage()
    data_lines = []
    for line in frame.split("\n"):
        if line.startswith(":"):
            message.comment = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            message.event = value
        elif name == "id":
            message.id = value
        elif name == "data":
            data_lines.append(value)
        elif name == "retry":
            message.event = "retry"
    message.data = "\n".join(data_lines)
    return message


async def get(path: str, query: str = "", **headers: str) -> AsgiResponse:
    return await AsgiResponse(path, query, headers).start()
