"""Notifications reach the receiver through the ASGI application itself.

The application calls the receiver without Django's middleware, so these
go through that route rather than the test client's.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from calendars.models import WatchChannel
from emulator.server import EmulatorServer
from tests.asgi import AsgiResponse
from tests.webhooks.support import api_calls, notification_headers

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK = "/calendar/webhook"
LIST = "calendar.events.list"


async def post(headers: dict[str, str]) -> tuple[int, bytes]:
    response = await AsgiResponse(WEBHOOK, headers=headers, method="POST").start()
    return response.status, await response.body()


async def test_a_notification_asks_for_a_sync(
    channel: WatchChannel, emulator: EmulatorServer
) -> None:
    status, body = await post(notification_headers(channel))

    assert (status, body) == (200, b"{}")
    assert await sync_to_async(api_calls)(emulator, LIST) == 1


async def test_a_forged_notification_is_refused(
    channel: WatchChannel, emulator: EmulatorServer
) -> None:
    headers = notification_headers(channel, X_Goog_Channel_Token="forged")

    status, _ = await post(headers)

    assert status == 401
    assert await sync_to_async(api_calls)(emulator, LIST) == 0


async def test_a_host_outside_allowed_hosts_is_refused(
    channel: WatchChannel, emulator: EmulatorServer
) -> None:
    headers = {**notification_headers(channel), "host": "calendar.evil.example"}

    status, _ = await post(headers)

    assert status == 400
    assert await sync_to_async(api_calls)(emulator, LIST) == 0


async def test_other_methods_are_not_allowed(channel: WatchChannel) -> None:
    response = await AsgiResponse(WEBHOOK, method="GET").start()

    assert response.status == 405
    assert response.response_headers["allow"] == "POST"


async def test_every_answer_says_how_long_it_is(channel: WatchChannel) -> None:
    # Senders keep connections alive across a storm; a chunked answer to
    # each notification would cost them a framing they need not parse.
    answers = [
        notification_headers(channel),
        notification_headers(channel, X_Goog_Channel_Token="forged"),
        {"X-Goog-Resource-State": "exists"},
    ]
    for headers in answers:
        response = await AsgiResponse(WEBHOOK, headers=headers, method="POST").start()
        body = await response.body()

        assert response.response_headers["content-length"] == str(len(body))
