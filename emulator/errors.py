"""Errors raised by the emulator core, rendered the way Google renders them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ApiError", "OAuthError", "api_error_body"]

# Google pairs each HTTP code with a canonical RPC status name. The Calendar
# API leaves it out on 410 answers, which have no RPC counterpart.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_DEFAULT_MESSAGES = {
    "notFound": "Not Found",
    "deleted": "Resource has been deleted",
    "duplicate": "The requested identifier already exists.",
    "fullSyncRequired": "Sync token is no longer valid, a full sync is required.",
    "authError": "Invalid Credentials",
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
    "forbidden": "Forbidden",
}


class ApiError(Exception):
    """A Calendar API failure with Google's HTTP code and error reason."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str | None = None,
        *,
        domain: str = "global",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.message = message or _DEFAULT_MESSAGES.get(reason, reason)
        self.domain = domain
        self.extra = extra or {}
        super().__init__(f"{code} {reason}: {self.message}")

    def body(self) -> bytes:
        return api_error_body(
            self.code, self.reason, self.message, self.domain, self.extra
        )


class OAuthError(Exception):
    """A token-endpoint failure, answered as ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, code: int = 400) -> None:
        self.error = error
        self.description = description
        self.code = code
        super().__init__(f"{error}: {description}")

    def body(self) -> bytes:
        payload = {"error": self.error, "error_description": self.description}
        return json.dumps(payload).encode()


def api_error_body(
    code: int,
    reason: str,
    message: str,
    domain: str = "global",
    extra: dict[str, str] | None = None,
) -> bytes:
    detail: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    detail.update(extra or {})
    error: dict[str, Any] = {"code": code, "message": message, "errors": [detail]}
    if code in _STATUS_NAMES:
        error["status"] = _STATUS_NAMES[code]
    return json.dumps({"error": error}).encode()
