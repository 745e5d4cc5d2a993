"""The ``/_emulator/`` control API used by tests, benchmarks and the demo."""

from __future__ import annotations

import random
from typing import Any

from emulator.churn import churn_once
from emulator.errors import ApiError
from emulator.seed import SeedSpec, seed_account
from emulator.server import Request, Response, json_response, route
from emulator.state import Store

__all__ = ["ROUTES"]

_BASE = "/_emulator"


def reset(store: Store, request: Request) -> Response:
    store.reset()
    return json_response({"reset": True})


def create_account(store: Store, request: Request) -> Response:
    """Create the account if needed and hand out a fresh refresh token."""
    body = request.json()
    email = str(body.get("email") or "").strip().lower()
    if "@" not in email:
        raise ApiError(400, "required", 'Send {"email": "someone@example.com"}.')

    account = store.ensure_account(email, body.get("name"))
    grant = store.auth.issue_grant(account.email)
    return json_response({"email": account.email, "refresh_token": grant.refresh_token})


def list_accounts(store: Store, request: Request) -> Response:
    accounts = [
        {"email": a.email, "name": a.name, "calendars": a.calendar_ids}
        for a in store.accounts.values()
    ]
    return json_response({"accounts": accounts})


def revoke_account(store: Store, request: Request) -> Response:
    email = request.args[0].lower()
    if email not in store.accounts:
        raise ApiError(404, "notFound", f"No emulated account {email}.")
    return json_response({"email": email, "revoked": store.auth.revoke_account(email)})


def seed(store: Store, request: Request) -> Response:
    body = request.json()
    email = str(body.get("email") or "").strip().lower()
    if "@" not in email:
        raise ApiError(400, "required", "Send the account's email to seed.")

    try:
        spec = SeedSpec(
            calendars=int(body.get("calendars", 1)),
            events_per_calendar=int(body.get("events_per_calendar", 100)),
            recurring_share=float(body.get("recurring_share", 0.1)),
            seed=int(body.get("seed", 0)),
            days=int(body.get("days", 90)),
        )
    except (TypeError, ValueError):
        raise ApiError(400, "invalid", "Seed fields must be numbers.") from None
    return json_response(
        {"email": email, "calendars": seed_account(store, email, spec)}
    )


def add_fault(store: Store, request: Request) -> Response:
    try:
        fault = store.faults.add(request.json())
    except (TypeError, ValueError) as error:
        raise ApiError(400, "invalid", str(error)) from None
    return json_response({"fault": vars(fault)}, status=201)


def list_faults(store: Store, request: Request) -> Response:
    return json_response({"faults": store.faults.describe()})


def clear_faults(store: Store, request: Request) -> Response:
    store.faults.faults.clear()
    return Response(204)


def expire_sync_tokens(store: Store, request: Request) -> Response:
    store.expire_sync_tokens()
    return json_response({"expired": True})


def expire_access_tokens(store: Store, request: Request) -> Response:
    store.auth.expire_access_tokens()
    return json_response({"expired": True})


def channels(store: Store, request: Request) -> Response:
    now = store.clock()
    items = [
        {**c.to_json(), "expired": c.expired(now)} for c in store.channels.values()
    ]
    return json_response({"channels": items})


def state(store: Store, request: Request) -> Response:
    return json_response(store.to_json())


def stats(store: Store, request: Request) -> Response:
    calls = dict(sorted(store.faults.calls.items()))
    payload: dict[str, Any] = {
        "calls": calls,
        "total": sum(calls.values()),
        "notifications": {
            "delivered": sum(c.delivered for c in store.channels.values()),
            "failed": sum(c.failed for c in store.channels.values()),
        },
    }
    return json_response(payload)


def reset_stats(store: Store, request: Request) -> Response:
    store.faults.calls.clear()
    return Response(204)


def churn(store: Store, request: Request) -> Response:
    body = request.json()
    rng = random.Random(body.get("seed"))
    changes = [churn_once(store, rng) for _ in range(int(body.get("count", 1)))]
    return json_response({"changes": changes})


ROUTES = [
    route("POST", _BASE + "/reset", reset),
    route("POST", _BASE + "/accounts", create_account),
    route("GET", _BASE + "/accounts", list_accounts),
    route("POST", _BASE + "/accounts/{email}/revoke", revoke_account),
    route("POST", _BASE + "/seed", seed),
    route("POST", _BASE + "/faults", add_fault),
    route("GET", _BASE + "/faults", list_faults),
    route("DELETE", _BASE + "/faults", clear_faults),
    route("POST", _BASE + "/expire-sync-tokens", expire_sync_tokens),
    route("POST", _BASE + "/expire-access-tokens", expire_access_tokens),
    route("GET", _BASE + "/channels", channels),
    route("GET", _BASE + "/state", state),
    route("GET", _BASE + "/stats", stats),
    route("DELETE", _BASE + "/stats", reset_stats),
    route("POST", _BASE + "/churn", churn),
]
