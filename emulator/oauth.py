"""Google's OAuth 2.0 endpoints: consent page, token, revoke, userinfo."""

from __future__ import annotations

import html
import json
from urllib.parse import urlencode, urlsplit

from emulator.auth import ACCESS_TOKEN_SECONDS, AccessToken, Grant, id_token, subject_id
from emulator.errors import OAuthError
from emulator.server import Request, Response, json_response, route
from emulator.state import Store

__all__ = ["ROUTES"]

_HTML = "text/html; charset=utf-8"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Sign in - Google Accounts (emulated)</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; }}
li {{ margin: .5rem 0; list-style: none; }}
a.account, button {{ display: block; padding: .6rem 1rem; border: 1px solid #dadce0;
  border-radius: .5rem; text-decoration: none; color: #202124; background: #fff; }}
</style></head>
<body>
<h1>Choose an account</h1>
<p>to continue to <strong>{client}</strong>. This is the Chronos Google
emulator: approving grants calendar access to the emulated account.</p>
<ul>{accounts}</ul>
<form method="get" action="/o/oauth2/approve">
{hidden}
<p><label>Another account <input name="email" type="email" required
 placeholder="someone@example.com"></label></p>
<button type="submit">Add account and allow</button>
</form>
</body></html>
"""
_CARRIED = ("client_id", "redirect_uri", "scope", "state")
_PKCE = ("code_challenge", "code_challenge_method")


def consent_page(store: Store, request: Request) -> Response:
    params = {k: request.param(k) for k in (*_CARRIED, *_PKCE)}
    _check_authorize(params, request.param("response_type", "code"))
    accounts = "".join(
        f'<li><a class="account" href="/o/oauth2/approve?'
        f'{html.escape(urlencode({**params, "email": email}))}">'
        f"Allow as {html.escape(email)}</a></li>"
        for email in sorted(store.accounts)
    )
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in params.items()
        if v
    )
    page = _PAGE.format(
        client=html.escape(params["client_id"]),
        accounts=accounts or "<li>No emulated accounts yet.</li>",
        hidden=hidden,
    )
    return Response(200, page.encode(), content_type=_HTML)


def approve(store: Store, request: Request) -> Response:
    """Record the user's consent and send the browser back with a code."""
    params = {k: request.param(k) for k in (*_CARRIED, *_PKCE)}
    _check_authorize(params, "code")
    email = request.param("email").strip().lower()
    if "@" not in email:
        return Response(400, b"An email address is required.", content_type=_HTML)

    store.ensure_account(email)
    scope = params["scope"] or "https://www.googleapis.com/auth/calendar"
    code = store.auth.issue_code(
        email,
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        scope=scope,
        challenge=params["code_challenge"],
        challenge_method=params["code_challenge_method"] or "plain",
    )
    answer = {"code": code, "scope": scope}
    if params["state"]:
        answer["state"] = params["state"]
    separator = "&" if "?" in params["redirect_uri"] else "?"
    location = params["redirect_uri"] + separator + urlencode(answer)
    return Response(302, b"", headers={"Location": location})


def token(store: Store, request: Request) -> Response:
    form = request.form()
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        grant, access = store.auth.exchange_code(
            form.get("code", ""),
            form.get("redirect_uri", ""),
            form.get("code_verifier", ""),
        )
        return _token_response(store, grant, access, with_refresh=True)
    if grant_type == "refresh_token":
        grant, access = store.auth.refresh(form.get("refresh_token", ""))
        return _token_response(store, grant, access, with_refresh=False)
    raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")


def revoke(store: Store, request: Request) -> Response:
    value = request.form().get("token", "")
    if not store.auth.revoke_token(value):
        raise OAuthError("invalid_token", "Token expired or revoked")
    return json_response({})


def userinfo_v2(store: Store, request: Request) -> Response:
    account = store.accounts[request.email]
    return json_response(
        {
            "id": subject_id(account.email),
            "email": account.email,
            "verified_email": True,
            "name": account.name,
            "picture": "",
        }
    )


def userinfo_v3(store: Store, request: Request) -> Response:
    account = store.accounts[request.email]
    return json_response(
        {
            "sub": subject_id(account.email),
            "email": account.email,
            "email_verified": True,
            "name": account.name,
            "picture": "",
        }
    )


def _check_authorize(params: dict[str, str], response_type: str) -> None:
    if not params["client_id"]:
        raise OAuthError("invalid_request", "Missing required parameter: client_id")
    if urlsplit(params["redirect_uri"]).scheme not in ("http", "https"):
        raise OAuthError("invalid_request", "Missing or invalid redirect_uri")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code works.")


def _token_response(
    store: Store, grant: Grant, access: AccessToken, *, with_refresh: bool
) -> Response:
    payload = {
        "access_token": access.value,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": grant.scope,
        "token_type": "Bearer",
        "id_token": id_token(grant, store.clock()),
    }
    if with_refresh:
        payload["refresh_token"] = grant.refresh_token
    headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
    return Response(200, json.dumps(payload).encode(), headers=headers)


ROUTES = [
    route("GET", "/o/oauth2/auth", consent_page),
    route("GET", "/o/oauth2/v2/auth", consent_page),
    route("GET", "/o/oauth2/approve", approve),
    route("POST", "/token", token),
    route("POST", "/o/oauth2/token", token),
    route("POST", "/revoke", revoke),
    route("POST", "/o/oauth2/revoke", revoke),
    route("GET", "/oauth2/v1/userinfo", userinfo_v2, "oauth2.userinfo.get"),
    route("GET", "/oauth2/v2/userinfo", userinfo_v2, "oauth2.userinfo.get"),
    route("GET", "/oauth2/v3/userinfo", userinfo_v3, "oauth2.userinfo.v3.get"),
]
