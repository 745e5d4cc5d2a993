"""Helpers to drive an in-process emulator through Google's client library.

server = EmulatorServer(port=0).start()
refresh_token = control(server, "accounts", {"email": "a@example.com"})[
    "refresh_token"
]
service = calendar_service(server, refresh_token)
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from google.oauth2.credentials import Credentials
from googleapiclient.discovery import Resource, build

from emulator.server import EmulatorServer

__all__ = ["calendar_service", "control", "credentials"]

CLIENT_ID = "chronos-test.apps.googleusercontent.com"
CLIENT_SECRET = "emulated-secret"


def credentials(server: EmulatorServer, refresh_token: str) -> Credentials:
    """Credentials that fetch their first access token from the emulator."""
    return Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=server.url + "token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def calendar_service(
    server: EmulatorServer, refresh_token: str | Credentials
) -> Resource:
    creds = (
        refresh_token
        if isinstance(refresh_token, Credentials)
        else credentials(server, refresh_token)
    )
    return build(
        "calendar",
        "v3",
        credentials=creds,
        client_options={"api_endpoint": server.url + "calendar/v3/"},
        cache_discovery=False,
        static_discovery=True,
    )


def control(
    server: EmulatorServer,
    path: str,
    payload: dict[str, Any] | None = None,
    method: str = "POST",
) -> Any:
    """Call the ``/_emulator/`` control API and decode its JSON answer."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        server.url + "_emulator/" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None
