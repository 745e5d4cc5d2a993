"""Production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_SECRETS = {
    "SECRET_KEY": "a-long-production-secret-key-for-the-settings-test-0123456789",
    "ALLOWED_HOSTS": "chronos.example.com",
    "TOKEN_ENCRYPTION_KEYS": "x2m5kMcnx6bWfGx8B9KTmvsm8Z5sPG8U2sTgZPjZ1Rc=",
}


def start_django(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION_SECRETS and key != "DEBUG"
    }
    clean.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", sorted(PRODUCTION_SECRETS))
def test_production_start_names_the_missing_secret(missing: str) -> None:
    environment = {"DEBUG": "false", **PRODUCTION_SECRETS}
    del environment[missing]

    result = start_django(environment)

    assert result.returncode != 0
    assert "refuses to start" in result.stderr
    assert missing in result.stderr
    for present in set(PRODUCTION_SECRETS) - {missing}:
        assert present not in result.stderr.split("set:")[-1]


def test_production_start_names_every_missing_secret_at_once() -> None:
    result = start_django({"DEBUG": "false"})

    assert result.returncode != 0
    for name in PRODUCTION_SECRETS:
        assert name in result.stderr


def test_production_starts_when_every_secret_is_given() -> None:
    result = start_django({"DEBUG": "false", **PRODUCTION_SECRETS})

    assert result.returncode == 0, result.stderr


def test_a_fresh_clone_starts_with_no_environment() -> None:
    result = start_django({})

    assert result.returncode == 0, result.stderr
