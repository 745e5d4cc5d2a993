from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncengine.relay import stop_hub


@pytest.fixture(autouse=True)
async def fresh_hub(settings: Any) -> AsyncIterator[None]:
    settings.SYNC_RATE_LIMIT_SECONDS = 0
    yield
    await stop_hub()
