"""ASGI entry point, served by daphne."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import DisallowedHost, RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chronos.settings")

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Requests that stay open for minutes, relaying Server-Sent Events.
EVENT_STREAM_PATHS = frozenset({"/api/stream", "/api/calendar/sync"})
WEBHOOK_PATH = "/calendar/webhook"


class ChronosASGIHandler(ASGIHandler):
    """Django's handler, tuned for the two kinds of request that come in bulk.

    Django runs each request in its own thread-sensitive context, which
    keeps one thread alive for as long as the response streams: for
    thousands of idle live streams that is thousands of threads. The stream
    views do their database work on the shared pool (``chronos.db.pooled``),
    so for them the middleware's few synchronous calls run on the process's
    one shared thread instead.

    Google may send thousands of push notifications at once. The receiver
    needs no session, user, CSRF check or message storage, so it is called
    without the middleware, whose synchronous hooks would each cost a hop
    to another thread; the host is still checked against ALLOWED_HOSTS.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH:
            await self._receive_notification(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] in EVENT_STREAM_PATHS:
            await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    @classmethod
    def chunk_bytes(cls, data: Sequence[T]) -> Iterator[tuple[Sequence[T], bool]]:
        # Nearly every part fits in one chunk: a tuple's iterator then does
        # what Django's generator does, at a fraction of the cost per frame.
        if 0 < len(data) <= cls.chunk_size:
            return iter(((data, True),))
        return super().chunk_bytes(data)

    async def _receive_notification(
        self, scope: dict[str, Any], receive: Any, send: Any
    ) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with body_file:
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                assert error_response is not None
                await self.send_response(error_response, send)
                return
            response = await _notification_response(request)
            # CommonMiddleware would set it; without it the answer is chunked.
            response["Content-Length"] = str(len(response.content))
            await self.send_response(response, send)


async def _notification_response(request: Any) -> HttpResponse:
    from webhooks.views import receive_notification

    try:
        request.get_host()
    except DisallowedHost:
        return HttpResponseBadRequest("Bad Request (invalid Host header)")
    try:
        return await receive_notification(request)
    except Exception:
        logger.exception("Receiving a notification failed")
        return JsonResponse({"error": "The notification was not handled."}, status=500)


def _django_application() -> ChronosASGIHandler:
    import django

    django.setup(set_prefix=False)
    return ChronosASGIHandler()


# The handful of static files (CSS, htmx) are served by the app itself, so
# neither the demo nor compose needs a separate file server.
application = ASGIStaticFilesHandler(_django_application())
