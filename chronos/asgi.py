"""ASGI entry point, served by daphne."""

import os
from typing import Any

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chronos.settings")

# Requests that stay open for minutes, relaying Server-Sent Events.
EVENT_STREAM_PATHS = frozenset({"/api/stream", "/api/calendar/sync"})


class ChronosASGIHandler(ASGIHandler):
    """Django's handler, without a thread held by every open event stream.

    Django runs each request in its own thread-sensitive context, which
    keeps one thread alive for as long as the response streams: for
    thousands of idle live streams that is thousands of threads. The stream
    views do their database work on the shared pool (``chronos.db.pooled``),
    so for them the middleware's few synchronous calls run on the process's
    one shared thread instead.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in EVENT_STREAM_PATHS:
            await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _django_application() -> ChronosASGIHandler:
    import django

    django.setup(set_prefix=False)
    return ChronosASGIHandler()


# The handful of static files (CSS, htmx) are served by the app itself, so
# neither the demo nor compose needs a separate file server.
application = ASGIStaticFilesHandler(_django_application())
