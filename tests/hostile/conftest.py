"""Hostile input: what a stranger, a forger or Google itself may send."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    # The personas sign in with force_login; hashing their passwords the
    # slow, safe way would cost more than every check here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
