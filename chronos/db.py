"""Database calls from async code that must not pin a thread per request."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def pooled(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Run ``func`` on the shared thread pool, then close its connection.

    ``sync_to_async``'s default runs every call of a request on a thread of
    that request, whose connection stays open as long as the request does:
    for a stream open for hours, a thread and a connection each. Here the
    thread is shared and the connection is handled as at a request's end.
    """

    @wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)
