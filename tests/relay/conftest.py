from __future__ import annotations

from collections.abc import AsyncIterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from syncengine.relay import stop_hub


def token_for(user: User) -> str:
    output = StringIO()
    call_command("create_api_token", user.username, stdout=output)
    return output.getvalue().strip()


@pytest.fixture
def owner_auth(owner: User) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(owner)}"}


@pytest.fixture
def outsider_auth(outsider: User) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(outsider)}"}


@pytest.fixture(autouse=True)
async def fresh_hub(settings: Any) -> AsyncIterator[None]:
    settings.SYNC_RATE_LIMIT_SECONDS = 0
    yield
    await stop_hub()
