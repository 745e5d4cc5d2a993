"""The one place that talks to Google on behalf of an account.

Builds google-api-python-client services pointed at ``GOOGLE_API_URL`` with
google-auth credentials that refresh against ``GOOGLE_TOKEN_URL``, stores
refreshed access tokens back (encrypted), and turns Google's answers into
the domain errors the sync engine acts on.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import orjson
from django.conf import settings
from google.auth.transport.requests import Request as RefreshRequest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.model import JsonModel

from calendars.models import GoogleAccount

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 30
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
# The escapes of text no database stores: NUL, which PostgreSQL refuses,
# and halves of surrogate pairs, which are not Unicode at all.
UNSTORABLE_ESCAPE_BYTES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class GoogleError(Exception):
    """Google answered with an error, or could not be reached."""

    retryable = False

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)


class RetryableGoogleError(GoogleError):
    """Rate limits, server errors and dead connections: worth trying later."""

    retryable = True


class FullSyncRequired(GoogleError):
    """The sync token expired (410): the calendar needs a full sync."""


class ReauthRequired(GoogleError):
    """The account's grant is dead; only its owner can connect it again."""


def error_from_http(error: HttpError) -> GoogleError:
    status = error.status_code
    reasons = [
        detail.get("reason", "")
        for detail in (error.error_details or [])
        if isinstance(detail, dict)
    ]
    reason = reasons[0] if reasons else ""
    message = f"Google answered {status}: {error.reason or reason or 'no message'}"

    if status == 410:
        return FullSyncRequired(message, status=status, reason=reason)
    if status == 401:
        return ReauthRequired(message, status=status, reason=reason)
    if status in RETRYABLE_STATUSES or (
        status == 403 and RATE_LIMIT_REASONS.intersection(reasons)
    ):
        return RetryableGoogleError(message, status=status, reason=reason)
    return GoogleError(message, status=status, reason=reason)


@dataclass(frozen=True)
class RetryPolicy:
    """Truncated exponential backoff with full jitter, bounded in attempts."""

    attempts: int
    base_seconds: float
    cap_seconds: float

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            attempts=settings.GOOGLE_RETRY_ATTEMPTS,
            base_seconds=settings.GOOGLE_RETRY_BASE_SECONDS,
            cap_seconds=settings.GOOGLE_RETRY_CAP_SECONDS,
        )

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2**attempt)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not secrets


class GoogleSession:
    """Calls to the Calendar API as one account, with retries and refresh.

    Not thread-safe: httplib2 connections belong to one thread, so each task
    builds its own session.
    """

    def __init__(
        self,
        account: GoogleAccount,
        *,
        retry: RetryPolicy | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self.retry = retry or RetryPolicy.from_settings()
        self.on_wait = on_wait
        self.credentials = credentials_for(account)
        # Requests are built by a client shared by the thread's sessions and
        # sent with this account's credentials.
        self.http = google_auth_httplib2.AuthorizedHttp(
            self.credentials, http=httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS)
        )
        self.service = calendar_client()

    def execute(self, request: Any) -> dict[str, Any]:
        """Run a prepared API request; retry what Google says to retry."""
        for attempt in range(self.retry.attempts):
            try:
                return self._execute_once(request)
            except RetryableGoogleError as error:
                if attempt + 1 == self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt)
                logger.warning(
                    "Google call failed, retrying: account=%s status=%s "
                    "reason=%s attempt=%s delay=%.2f",
                    self.account.pk,
                    error.status,
                    error.reason,
                    attempt + 1,
                    delay,
                )
                if self.on_wait is not None:
                    self.on_wait()
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _execute_once(self, request: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = request.execute(http=self.http)
        except HttpError as error:
            raise self._classified(error_from_http(error)) from error
        except google.auth.exceptions.RefreshError as error:
            raise self._refresh_failed(error) from error
        except (httplib2.HttpLib2Error, OSError) as error:
            raise RetryableGoogleError(
                f"Google could not be reached: {type(error).__name__}"
            ) from error
        finally:
            self.save_refreshed_token()
        return result

    def _classified(self, error: GoogleError) -> GoogleError:
        if isinstance(error, ReauthRequired):
            # A 401 survived the client's own refresh-and-retry.
            mark_needs_reauth(self.account)
        return error

    def _refresh_failed(self, error: Exception) -> GoogleError:
        if "invalid_grant" in str(error):
            mark_needs_reauth(self.account)
            return ReauthRequired(
                "Google no longer accepts this account's grant; its owner has "
                "to connect it again.",
                reason="invalid_grant",
            )
        return RetryableGoogleError(
            f"Refreshing the access token failed: {type(error).__name__}"
        )

    def save_refreshed_token(self) -> None:
        token = self.credentials.token
        if not token or token == self.account.access_token:
            return

        expiry = self.credentials.expiry
        self.account.access_token = token
        self.account.access_token_expires_at = (
            expiry.replace(tzinfo=UTC) if expiry else None
        )
        GoogleAccount.objects.filter(pk=self.account.pk).update(
            access_token=self.account.access_token,
            access_token_expires_at=self.account.access_token_expires_at,
        )


_thread_clients = threading.local()


def calendar_client() -> Any:
    """The Calendar API client of this thread, bound to no account.

    Building one reads the discovery document and writes docstrings for
    every method: a few milliseconds, on every sync if done per session.
    Clients are not thread-safe, hence one per thread; a new one is built
    when ``GOOGLE_API_URL`` changes.
    """
    api_url = settings.GOOGLE_API_URL
    cached = getattr(_thread_clients, "client", None)
    if cached is not None and cached[0] == api_url:
        return cached[1]
    client = _CollectionCache(
        build(
            "calendar",
            "v3",
            # Never used: every request is sent with a session's own http.
            http=httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS),
            model=StorableJson(),
            client_options={"api_endpoint": api_url},
            cache_discovery=False,
            static_discovery=True,
        )
    )
    _thread_clients.client = (api_url, client)
    return client


class _CollectionCache:
    """The client's collections, each made once.

    Every call of ``service.events()`` would otherwise build the methods of
    the collection anew.
    """

    def __init__(self, service: Any) -> None:
        self._service = service
        self._collections: dict[str, Any] = {}

    def events(self) -> Any:
        return self._collection("events")

    def calendars(self) -> Any:
        return self._collection("calendars")

    def calendarList(self) -> Any:  # noqa: N802 - the Google client's name
        return self._collection("calendarList")

    def channels(self) -> Any:
        return self._collection("channels")

    def _collection(self, name: str) -> Any:
        if name not in self._collections:
            self._collections[name] = getattr(self._service, name)()
        return self._collections[name]


class StorableJson(JsonModel):
    """Google's answers, with text that no database can store made safe.

    One event holding such text would otherwise fail the whole page it
    arrives in, and with it every later sync of its calendar. Both kinds
    only ever arrive escaped, so the answers without such an escape, nearly
    all of them, cost one search of their text.
    """

    def deserialize(self, content: bytes | str) -> Any:
        raw = content.encode() if isinstance(content, str) else content
        if UNSTORABLE_ESCAPE_BYTES.search(raw) is None:
            # orjson reads a page of events about three times as fast as
            # the json module; it refuses what the escapes above allow.
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return super().deserialize(raw)
            if self._data_wrapper and isinstance(body, dict) and "data" in body:
                return body["data"]
            return body
        return storable(super().deserialize(raw))


def storable(value: Any) -> Any:
    """The value with NUL characters dropped and lone surrogates replaced."""
    if isinstance(value, str):
        units = value.replace("\x00", "").encode("utf-16", "surrogatepass")
        return units.decode("utf-16", "replace")
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


def credentials_for(account: GoogleAccount) -> Credentials:
    expiry = account.access_token_expires_at
    return Credentials(
        token=account.access_token or None,
        refresh_token=account.refresh_token,
        token_uri=settings.GOOGLE_TOKEN_URL,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=account.scopes or None,
        # google-auth compares expiry with a naive UTC clock.
        expiry=expiry.astimezone(UTC).replace(tzinfo=None) if expiry else None,
    )


def refresh_access_token(credentials: Credentials) -> None:
    """Refresh now, raising ReauthRequired for a dead grant."""
    try:
        credentials.refresh(RefreshRequest())
    except google.auth.exceptions.RefreshError as error:
        if "invalid_grant" in str(error):
            raise ReauthRequired(
                "Google refused the refresh token (invalid_grant).",
                reason="invalid_grant",
            ) from error
        raise RetryableGoogleError("Refreshing the access token failed") from error


def mark_needs_reauth(account: GoogleAccount) -> None:
    logger.warning("Account needs re-authorisation: account=%s", account.pk)
    account.status = GoogleAccount.Status.NEEDS_REAUTH
    GoogleAccount.objects.filter(pk=account.pk).update(
        status=GoogleAccount.Status.NEEDS_REAUTH, updated_at=datetime.now(UTC)
    )
