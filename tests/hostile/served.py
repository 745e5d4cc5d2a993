"""The application for schemathesis to drive in-process, behaving as it
would behind a server: a caller that stops reading has disconnected, and
the relay hub can be stopped on the loop that runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from chronos.asgi import application
from syncengine.relay import stop_hub

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
# How long a request whose client left may take to wind down.
CLOSING_SECONDS = 5


async def served(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await _until_gone(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Startup does nothing; shutdown stops the hub of the serving loop.

    Shutting the lifespan down is the one way to run code on that loop
    once the requests are over.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_hub()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _until_gone(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Serve one request; being cancelled means the client went away.

    Schemathesis cancels a stream once it has read enough of it. Django is
    then told the client disconnected, as a server would, and is given the
    time to close the stream instead of being left running on its own.
    """
    gone = asyncio.Event()

    async def receive_until_gone() -> Message:
        incoming = asyncio.ensure_future(receive())
        leaving = asyncio.ensure_future(gone.wait())
        try:
            done, _ = await asyncio.wait(
                {incoming, leaving}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            # Django cancels this wait itself once the response is complete.
            leaving.cancel()
            if not incoming.done():
                incoming.cancel()
        if incoming in done:
            return incoming.result()
        return {"type": "http.disconnect"}

    async def send_while_there(message: Mapping[str, Any]) -> None:
        if not gone.is_set():
            await send(message)

    app = asyncio.ensure_future(
        application(scope, receive_until_gone, send_while_there)
    )
    try:
        await asyncio.shield(app)
    except asyncio.CancelledError:
        gone.set()
        with anyio.move_on_after(CLOSING_SECONDS, shield=True):
            await app
        raise
