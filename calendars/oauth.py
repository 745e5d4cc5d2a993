"""Connecting Google accounts: the OAuth authorization-code flow.

``connect`` sends the browser to Google's consent page with a random
``state`` (and a PKCE verifier) kept in the session; ``callback`` accepts
only the answer carrying that state, trades the code for a refresh token and
links the account. ``disconnect`` stops the account's channels and forgets
it with its tokens.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET, require_POST
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from calendars.models import GoogleAccount
from chronos.types import AuthenticatedRequest
from syncengine.accounts import connect_account
from syncengine.google import GoogleError
from webhooks.channels import disconnect_account

__all__ = ["SESSION_KEY", "build_flow", "callback", "connect", "disconnect"]

logger = logging.getLogger(__name__)

SESSION_KEY = "google_oauth"


def build_flow(request: AuthenticatedRequest) -> Flow:
    _configure_oauthlib()
    redirect_uri = request.build_absolute_uri(reverse("google-callback"))
    config = {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_AUTH_URL,
            "token_uri": settings.GOOGLE_TOKEN_URL,
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(
        config, scopes=settings.GOOGLE_SCOPES, redirect_uri=redirect_uri
    )


def _configure_oauthlib() -> None:
    # oauthlib refuses plain-http endpoints. The emulator used in development
    # and tests serves http on localhost, so the check is lifted for it, and
    # only when the configured endpoints really are http.
    endpoints = (settings.GOOGLE_TOKEN_URL, settings.GOOGLE_AUTH_URL)
    if any(url.startswith("http://") for url in endpoints):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    # Google answers with every scope the person ever granted the client,
    # which oauthlib would otherwise treat as an error.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


@login_required
@require_POST
def connect(request: AuthenticatedRequest) -> HttpResponse:
    """Send the browser to Google's consent page."""
    flow = build_flow(request)
    url, state = flow.authorization_url(
        access_type="offline",
        prompt="consent",
        include_granted_scopes="true",
        login_hint=request.POST.get("login_hint", ""),
    )
    request.session[SESSION_KEY] = {
        "state": state,
        "code_verifier": flow.code_verifier,
    }
    return redirect(url)


@login_required
@require_GET
def callback(request: AuthenticatedRequest) -> HttpResponse:
    """Google's answer: a code to trade for tokens, or a refusal."""
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not constant_time_compare(state, pending.get("state", "")):
        logger.warning("OAuth answer with an unknown state: owner=%s", request.user.pk)
        return _failed(
            request,
            "This answer from Google does not match a connection started here, "
            "so nothing was stored. Start again from your calendars.",
        )
    if error := request.GET.get("error"):
        return _failed(
            request,
            f"Google did not grant access ({error}). Connect again and allow "
            "Chronos to read your calendars.",
        )

    token = _exchange(request, pending, request.GET.get("code", ""))
    if token is None:
        return _failed(
            request,
            "Google did not accept the sign-in. Start again from your calendars.",
        )
    if not token.get("refresh_token"):
        return _failed(
            request,
            "Google sent no lasting access. Remove Chronos from your Google "
            "account's third-party access, then connect again.",
        )
    return _link_account(request, token)


def _exchange(
    request: AuthenticatedRequest, pending: dict[str, str], code: str
) -> dict[str, Any] | None:
    if not code:
        return None

    flow = build_flow(request)
    flow.code_verifier = pending.get("code_verifier")
    try:
        return dict(flow.fetch_token(code=code))
    except (OAuth2Error, requests.RequestException, ValueError) as error:
        logger.warning(
            "Authorization code refused: owner=%s error=%s",
            request.user.pk,
            type(error).__name__,
        )
        return None


def _link_account(request: AuthenticatedRequest, token: dict[str, Any]) -> HttpResponse:
    scopes = token.get("scope") or []
    try:
        connect_account(
            request.user,
            token["refresh_token"],
            access_token=token.get("access_token", ""),
            scopes=scopes.split() if isinstance(scopes, str) else list(scopes),
        )
    except GoogleError as error:
        logger.warning(
            "Account not connected: owner=%s error=%s", request.user.pk, error
        )
        return _failed(
            request,
            "Google granted access but then refused to list your calendars. "
            "Try connecting again in a minute.",
            status=502,
        )
    return redirect("home")


def _failed(
    request: AuthenticatedRequest, message: str, *, status: int = 400
) -> HttpResponse:
    return render(
        request, "calendars/oauth_error.html", {"message": message}, status=status
    )


@login_required
@require_POST
def disconnect(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(GoogleAccount, pk=pk, owner=request.user)
    disconnect_account(account)
    return redirect("home")
