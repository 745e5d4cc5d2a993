"""The least an ASGI server must do to relay the change channel as SSE.

The baseline of the fanout and idle_streams metrics: one Redis
subscription per process, each message framed once and written to every
open stream. No Django, no authentication, no routing by calendar: what
Chronos costs beyond this is its own.

Serve it with ``daphne bench.raw_sse:application`` (or uvicorn); every path
but ``/stream`` answers 200, so readiness probes work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import redis.asyncio
import redis.connection

# Chronos's channel for the Redis database in REDIS_URL (syncengine.publish).
_DATABASE = redis.connection.parse_url(os.environ["REDIS_URL"]).get("db", 0)
CHANNEL = os.environ.get("BENCH_CHANNEL", f"chronos:changes:{_DATABASE}")
QUEUE_LIMIT = 1000

Scope = dict[str, Any]
Receive = Any
Send = Any

_streams: set[asyncio.Queue[bytes | None]] = set()
_listener: asyncio.Task[None] | None = None


def frame(raw: bytes) -> bytes:
    """A published message (header line, then JSON) as one SSE frame."""
    header, _, data = raw.partition(b"\n")
    kind, _, cursor, _ = header.split(b" ")
    return b"event: " + kind + b"\nid: " + cursor + b"\ndata: " + data + b"\n\n"


async def _listen() -> None:
    client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        async for item in pubsub.listen():
            if item["type"] != "message":
                continue
            payload = frame(item["data"])
            for queue in _streams:
                if queue.qsize() < QUEUE_LIMIT:
                    queue.put_nowait(payload)


def _ensure_listener() -> None:
    global _listener
    if _listener is None or _listener.done():
        _listener = asyncio.get_running_loop().create_task(_listen())


def _body(chunk: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": chunk, "more_body": True}


async def _stream(receive: Receive, send: Send) -> None:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    watcher = asyncio.create_task(until_disconnect())
    _streams.add(queue)
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send(_body(b"retry: 3000\n\n"))
        while (payload := await queue.get()) is not None:
            await send(_body(payload))
    finally:
        _streams.discard(queue)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _ok(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    _ensure_listener()
    if scope["path"] == "/stream":
        await _stream(receive, send)
    else:
        await _ok(send)
