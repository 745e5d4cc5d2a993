"""A dump of the whole database gives away no OAuth or API token.

The dump is what leaks in practice: a backup on the wrong disk, a copy for
debugging. Tokens must be in it only as ciphertext (or, for API tokens, as
a digest), in no encoding an attacker would try first.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from calendars.models import Calendar, GoogleAccount, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from tests.conftest import token_for
from tests.googleside import OWNER_EMAIL
from tests.pages.test_oauth import approve, start_connecting

# Committed data, so that pg_dump, another session, sees it.
pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

DEBIAN_POSTGRESQL = Path("/usr/lib/postgresql")


def database_dump() -> str:
    """Everything the test database holds, as SQL text."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        return _pg_dump(connection.settings_dict)
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    raise AssertionError(f"No way to dump a {connection.vendor} database here.")


def _pg_dump(database: dict[str, Any]) -> str:
    command = [_pg_dump_program(), "--no-password", "--dbname", database["NAME"]]
    if database["HOST"]:
        command += ["--host", database["HOST"]]
    if database["PORT"]:
        command += ["--port", str(database["PORT"])]
    if database["USER"]:
        command += ["--username", database["USER"]]
    environment = dict(os.environ)
    if database["PASSWORD"]:
        environment["PGPASSWORD"] = database["PASSWORD"]
    result = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _pg_dump_program() -> str:
    # Debian installs one pg_dump per major version; the newest dumps servers
    # of every older version, while an older one refuses a newer server.
    versions = sorted(
        DEBIAN_POSTGRESQL.glob("*/bin/pg_dump"),
        key=lambda program: [int(part) for part in program.parts[-3].split(".")],
    )
    program = str(versions[-1]) if versions else shutil.which("pg_dump")
    assert program, "pg_dump was not found; install Debian's postgresql-client."
    return program


def readable_forms(secret: str) -> Iterator[tuple[str, str]]:
    """The secret as plaintext, hex and base64, named for the message."""
    raw = secret.encode()
    yield "plaintext", secret
    yield "hex", raw.hex()
    yield "upper-case hex", raw.hex().upper()
    # Inside a longer base64 text the secret's encoding depends on where it
    # starts; the characters it alone decides are the same in every blob.
    for offset in range(3):
        for name, encode in (
            ("base64", base64.b64encode),
            ("url-safe base64", base64.urlsafe_b64encode),
        ):
            encoded = encode(bytes(offset) + raw).decode()
            yield name, encoded[4 if offset else 0 : -4]


def assert_not_in_dump(dump: str, secrets_by_kind: dict[str, set[str]]) -> None:
    for kind, values in secrets_by_kind.items():
        assert values, f"No {kind} was stored, so the dump proves nothing."
        for value in values:
            for form, text in readable_forms(value):
                assert text not in dump, f"A {kind} is in the dump as {form}."


@pytest.fixture
def consent(settings: Any, emulator: EmulatorServer, google_grant: str) -> None:
    settings.GOOGLE_AUTH_URL = emulator.url + "o/oauth2/auth"


def connect_through_google(client: Client) -> GoogleAccount:
    back = approve(start_connecting(client), OWNER_EMAIL)
    response = client.get(back.replace("http://testserver", ""))
    assert response.status_code == 302
    return GoogleAccount.objects.get(email=OWNER_EMAIL)


def issued_by_google(emulator: EmulatorServer) -> dict[str, set[str]]:
    """Every token the emulator handed out, to Chronos or anyone."""
    auth = control(emulator, "state", method="GET")["auth"]
    return {
        "refresh token": {grant["refresh_token"] for grant in auth["grants"]},
        "access token": {token["value"] for token in auth["tokens"]},
    }


def test_google_tokens_from_the_consent_flow_are_not_in_the_dump(
    owner_client: Client, consent: None, emulator: EmulatorServer
) -> None:
    account = connect_through_google(owner_client)
    issued = issued_by_google(emulator)

    dump = database_dump()

    assert account.refresh_token in issued["refresh token"]
    assert account.access_token in issued["access token"]
    assert OWNER_EMAIL in dump
    assert_not_in_dump(dump, issued)


def test_api_and_watch_channel_tokens_are_not_in_the_dump(
    owner: User, owner_calendar: Calendar
) -> None:
    api_token = token_for(owner)
    channel = WatchChannel.objects.create(
        calendar=owner_calendar,
        channel_id="audit-channel",
        token=secrets.token_urlsafe(32),
    )
    account = owner_calendar.account

    dump = database_dump()

    assert "audit-channel" in dump
    assert_not_in_dump(
        dump,
        {
            "refresh token": {account.refresh_token},
            "access token": {account.access_token},
            "API token": {api_token},
            "watch channel token": {channel.token},
        },
    )
