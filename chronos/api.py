"""The JSON API, mounted at /api/: authentication and error answers.

Routes live with their apps (``calendars.api``, ``syncengine.api``); views
raise :class:`ApiError` and this module turns it into JSON with a readable
``detail``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from calendars.models import ApiToken
from chronos.db import pooled

logger = logging.getLogger(__name__)

# Recording every use would write on every request; once a minute will do.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiError(Exception):
    """An answer other than success, with a message for people."""

    def __init__(
        self, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class ErrorOut(Schema):
    """Every answer other than success: what went wrong, for people."""

    detail: str


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers of an operation, for its schema.

    Every operation wants a caller, so 401 is always among them.
    """
    return dict.fromkeys(sorted({401, *statuses}), ErrorOut)


# One Server-Sent Event of either stream, for the schema: ninja cannot
# describe a stream from a type.
SERVER_SENT_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "type": "object",
                "properties": {"type": {"type": "string"}},
                "required": ["type"],
            },
        },
    },
}
EVENT_STREAM = {
    "responses": {
        200: {
            "description": "Server-Sent Events, each with one line of JSON",
            "content": {"text/event-stream": {"schema": SERVER_SENT_EVENT}},
        }
    }
}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` with a token from create_api_token.

    Async, with its query on the shared thread pool: a long-lived stream
    then holds no thread or database connection of its own.
    """

    def __call__(self, request: HttpRequest) -> Any:
        # Unlike ninja's, never logs the header: it holds a credential.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self.authenticate(request, token.strip())

    async def authenticate(self, request: HttpRequest, token: str) -> User | None:
        owner = await pooled(_token_owner)(token)
        if owner is not None:
            request.user = owner
        return owner


def _token_owner(token: str) -> User | None:
    api_token = (
        ApiToken.objects.select_related("owner")
        .filter(digest=token_digest(token), owner__is_active=True)
        .first()
    )
    if api_token is None:
        return None
    now = timezone.now()
    last_used = api_token.last_used_at
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.owner


class SessionUserAuth(SessionAuth):
    """The browser's Django session; CSRF is checked on unsafe methods."""

    async def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return await pooled(_session_user)(request)


def _session_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated else None


api = NinjaAPI(
    title="Chronos API",
    version="1",
    description="Calendars, events and live sync streams of the signed-in user.",
    auth=[SessionUserAuth(), BearerTokenAuth()],
    urls_namespace="api",
    # Only the webhook, health checks and signing in are open to everyone.
    docs_decorator=login_required,
)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": error.detail}, status=error.status
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    problems = "; ".join(_describe(problem) for problem in error.errors)
    return api.create_response(
        request, {"detail": f"Invalid request: {problems}"}, status=400
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, error: Exception) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Sign in, or send Authorization: Bearer <token>."},
        status=401,
    )


def _describe(problem: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ())[1:])
    return f"{where or 'request'}: {problem.get('msg', 'invalid')}"


def _register_routers() -> None:
    from calendars.api import router as calendars_router
    from syncengine.api import router as streams_router

    api.add_router("", calendars_router)
    api.add_router("", streams_router)


_register_routers()
