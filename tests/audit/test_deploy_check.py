"""Production settings pass Django's deployment checklist, HTTPS included."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from tests.audit.support import run_python

pytestmark = pytest.mark.reliability

HOST = "chronos.example.com"


def production_environment() -> dict[str, str]:
    """What an operator sets, and nothing that would weaken a default."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SECURE_", "SESSION_COOKIE_", "CSRF_", "DEBUG"))
    }
    environment.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    return environment


def test_the_deployment_checklist_finds_nothing_with_production_settings() -> None:
    result = run_python(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_environment(),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout


@pytest.fixture
def behind_the_proxy(settings: Any) -> None:
    """Production's redirect, in a test process that runs with DEBUG on."""
    settings.SECURE_SSL_REDIRECT = True


def test_a_plain_http_request_is_sent_to_https(
    behind_the_proxy: None, client: Client
) -> None:
    response = client.get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_a_request_the_proxy_marks_https_is_served(
    behind_the_proxy: None, client: Client, db: Any
) -> None:
    response = client.get("/accounts/login/", headers={"x-forwarded-proto": "https"})

    assert response.status_code == 200


@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
def test_probes_answer_over_plain_http(
    behind_the_proxy: None, client: Client, db: Any, probe: str
) -> None:
    response = client.get(probe)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
