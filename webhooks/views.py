"""The receiver of Google's push notifications.

It verifies a notification against its channel and asks for a coalesced
sync; it never calls Google itself, so it answers in a few milliseconds
whatever Google is doing.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from calendars.models import GoogleAccount, WatchChannel
from chronos.db import pooled
from syncengine import dispatch

logger = logging.getLogger(__name__)

# Google sends this first on every new channel; nothing has changed yet.
SYNC_MESSAGE = "sync"
# Channel ids are at most 64 characters: a longer one is nobody's.
MAX_CHANNEL_ID = 64


# Google cannot send a CSRF token; the channel token authenticates instead.
@csrf_exempt
async def receive_notification(request: HttpRequest) -> JsonResponse:
    # The shared pool keeps warm connections: a storm of notifications must
    # not open a thread and a database connection for each one.
    return await pooled(handle_notification)(request)


def handle_notification(request: HttpRequest) -> JsonResponse:
    """Verify the notification and ask for a sync: the receiver's whole work."""
    if request.method != "POST":
        response = _answer(405, "Google sends notifications with POST.")
        response["Allow"] = "POST"
        return response

    channel_id = request.headers.get("X-Goog-Channel-ID", "")
    if not channel_id:
        return _answer(400, "X-Goog-Channel-ID is missing; is this from Google?")

    channel = _channel(channel_id)
    if channel is None:
        logger.info(
            "Notification on an unknown or stopped channel: channel=%s",
            _loggable(channel_id),
        )
        return _answer(200)

    if not _authentic(request, channel):
        logger.warning(
            "Notification failed verification: channel=%s", _loggable(channel_id)
        )
        return _answer(401, "The channel token or resource id does not match.")

    # The grant is dead until its owner reconnects; a sync could only fail.
    if channel["account_status"] != GoogleAccount.Status.ACTIVE:
        return _answer(200)
    if request.headers.get("X-Goog-Resource-State") == SYNC_MESSAGE:
        return _answer(200)

    try:
        dispatch.request_sync(channel["calendar_id"])
    except dispatch.QueueUnavailable:
        logger.warning("Notification not queued: channel=%s", channel_id)
        return _answer(503, "The task queue is unavailable; retry later.")
    return _answer(200)


def _channel(channel_id: str) -> Mapping[str, Any] | None:
    """The channel with what verifying it needs, in one query."""
    if len(channel_id) > MAX_CHANNEL_ID:
        return None

    return (
        WatchChannel.objects.filter(channel_id=channel_id)
        .exclude(state=WatchChannel.State.STOPPED)
        .values(
            "token",
            "resource_id",
            "calendar_id",
            account_status=F("calendar__account__status"),
        )
        .first()
    )


def _authentic(request: HttpRequest, channel: Mapping[str, Any]) -> bool:
    token = request.headers.get("X-Goog-Channel-Token", "")
    if not hmac.compare_digest(token.encode(), channel["token"].encode()):
        return False

    expected = channel["resource_id"]
    if not expected:
        # Pending: the watch call has not returned its resource id yet.
        return True
    return request.headers.get("X-Goog-Resource-ID", "") == expected


def _loggable(channel_id: str) -> str:
    # Anyone can send anything: one request must not flood or forge log lines.
    return repr(channel_id[:MAX_CHANNEL_ID])


def _answer(status: int, error: str = "") -> JsonResponse:
    return JsonResponse({"error": error} if error else {}, status=status)
