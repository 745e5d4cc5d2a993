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
from syncengine import dispatch

logger = logging.getLogger(__name__)

# Google sends this first on every new channel; nothing has changed yet.
SYNC_MESSAGE = "sync"


# Google cannot send a CSRF token; the channel token authenticates instead.
@csrf_exempt
def receive_notification(request: HttpRequest) -> JsonResponse:
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
            "Notification on an unknown or stopped channel: channel=%s", channel_id
        )
        return _answer(200)

    if not _authentic(request, channel):
        logger.warning("Notification failed verification: channel=%s", channel_id)
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
    return (
        WatchChannel.objects.filter(channel_id=channel_id[:64])
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


def _answer(status: int, error: str = "") -> JsonResponse:
    return JsonResponse({"error": error} if error else {}, status=status)
