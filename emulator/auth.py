"""OAuth grants, authorization codes and access tokens.

Not thread-safe on its own: the store's lock guards every call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from emulator.errors import OAuthError

__all__ = ["AccessToken", "AuthRegistry", "Grant"]

ACCESS_TOKEN_SECONDS = 3599
DEFAULT_SCOPE = "https://www.googleapis.com/auth/calendar"
_CODE_SECONDS = 600


@dataclass
class Grant:
    """What a user approved: one refresh token, until revoked."""

    refresh_token: str
    email: str
    scope: str
    client_id: str
    revoked: bool = False


@dataclass
class AccessToken:
    value: str
    refresh_token: str
    expires_at: float


@dataclass
class AuthCode:
    code: str
    email: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    challenge_method: str
    expires_at: float


class AuthRegistry:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}

    def issue_grant(
        self,
        email: str,
        *,
        scope: str = DEFAULT_SCOPE,
        client_id: str = "",
        refresh_token: str | None = None,
    ) -> Grant:
        token = refresh_token or "1//emu-" + secrets.token_urlsafe(32)
        grant = Grant(token, email, scope, client_id)
        self.grants[token] = grant
        return grant

    def issue_code(
        self,
        email: str,
        *,
        client_id: str,
        redirect_uri: str,
        scope: str,
        challenge: str = "",
        challenge_method: str = "",
    ) -> str:
        code = "4/emu-" + secrets.token_urlsafe(24)
        expires_at = self._clock() + _CODE_SECONDS
        self.codes[code] = AuthCode(
            code,
            email,
            client_id,
            redirect_uri,
            scope,
            challenge,
            challenge_method,
            expires_at,
        )
        return code

    def exchange_code(
        self, code: str, redirect_uri: str, verifier: str
    ) -> tuple[Grant, AccessToken]:
        """Trade a one-time code for a new grant and its first access token."""
        pending = self.codes.pop(code, None)
        if pending is None or pending.expires_at < self._clock():
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if redirect_uri != pending.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if pending.challenge and not _verifier_matches(pending, verifier):
            raise OAuthError("invalid_grant", "Invalid code verifier.")

        grant = self.issue_grant(
            pending.email, scope=pending.scope, client_id=pending.client_id
        )
        return grant, self._new_access_token(grant)

    def refresh(self, refresh_token: str) -> tuple[Grant, AccessToken]:
        grant = self.grants.get(refresh_token)
        if grant is None or grant.revoked:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        return grant, self._new_access_token(grant)

    def authenticate(self, bearer: str) -> Grant | None:
        """The live grant behind an access token, or ``None``."""
        token = self.tokens.get(bearer)
        if token is None or token.expires_at <= self._clock():
            return None

        grant = self.grants.get(token.refresh_token)
        if grant is None or grant.revoked:
            return None
        return grant

    def revoke_token(self, value: str) -> bool:
        """Revoke the grant behind a refresh or access token, as Google does."""
        token = self.tokens.get(value)
        grant = self.grants.get(token.refresh_token if token else value)
        if grant is None or grant.revoked:
            return False

        grant.revoked = True
        return True

    def revoke_account(self, email: str) -> int:
        revoked = 0
        for grant in self.grants.values():
            if grant.email == email and not grant.revoked:
                grant.revoked = True
                revoked += 1
        return revoked

    def expire_access_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "grants": [asdict(g) for g in self.grants.values()],
            "tokens": [asdict(t) for t in self.tokens.values()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.grants = {g["refresh_token"]: Grant(**g) for g in data.get("grants", [])}
        self.tokens = {t["value"]: AccessToken(**t) for t in data.get("tokens", [])}
        self.codes = {}

    def _new_access_token(self, grant: Grant) -> AccessToken:
        value = "ya29.emu-" + secrets.token_urlsafe(32)
        expires_at = self._clock() + ACCESS_TOKEN_SECONDS
        token = AccessToken(value, grant.refresh_token, expires_at)
        self.tokens[value] = token
        return token


def id_token(grant: Grant, issued_at: float) -> str:
    """An unsigned JWT carrying the account's identity.

    Real ID tokens are signed by Google; nothing in the emulator can sign
    them, so clients must not verify it (userinfo is the reliable source).
    """
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "iss": "https://accounts.google.com",
        "aud": grant.client_id,
        "sub": subject_id(grant.email),
        "email": grant.email,
        "email_verified": True,
        "iat": int(issued_at),
        "exp": int(issued_at) + ACCESS_TOKEN_SECONDS,
    }
    parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())]
    return ".".join(parts) + "."


def subject_id(email: str) -> str:
    """A stable numeric account id, like Google's ``sub``."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    return str(int(digest[:16], 16)).rjust(21, "1")[:21]


def _verifier_matches(pending: AuthCode, verifier: str) -> bool:
    if pending.challenge_method.upper() != "S256":
        return verifier == pending.challenge
    digest = hashlib.sha256(verifier.encode()).digest()
    return _b64(digest) == pending.challenge


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
