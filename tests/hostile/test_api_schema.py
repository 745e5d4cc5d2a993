"""The API under generated requests, from a signed-in user who knows
another user's ids: no server error, nothing of the other user's, and
every answer is one the schema documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from calendars.models import Calendar
from chronos.api import api
from syncengine import dispatch
from tests.conftest import make_account, make_calendar, make_event
from tests.hostile.served import served

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 30
SECRET = "Outsider private"
# The live stream never ends: what it sent by then is what gets checked.
READ_SECONDS = 0.5


def documented_operations() -> list[tuple[str, str]]:
    paths = api.get_openapi_schema(path_prefix="/api/")["paths"]
    return [(path, method.upper()) for path, item in paths.items() for method in item]


@pytest.fixture
def outsider_ids(outsider: User) -> list[int]:
    """Ids of every kind of the outsider's things, all unknown to the owner."""
    calendar = make_calendar(make_account(outsider), summary=SECRET)
    event = make_event(calendar, "outsider-event", summary=SECRET)
    return sorted({calendar.account.pk, calendar.pk, event.pk})


@pytest.fixture
def api_schema(
    owner_client: Client,
    primary: Calendar,
    outsider_ids: list[int],
) -> Iterator[Any]:
    """The schema the application serves the owner, generating its own
    calendar's id and the outsider's ids besides whatever strings it makes
    up for ``calendar_ids``."""
    make_event(primary, "owner-event", summary="Owner's own")
    session = owner_client.cookies["sessionid"].value
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", served, cookies={"sessionid": session}
    )
    foreign = [str(pk) for pk in outsider_ids]
    mixed = [f"{primary.pk},{pk}" for pk in foreign]
    known = st.sampled_from([str(primary.pk), *foreign, *mixed])

    @schema.hook
    def before_generate_case(context: Any, strategy: Any) -> Any:
        names = {parameter.name for parameter in context.operation.query}
        if "calendar_ids" not in names:
            return strategy
        return st.one_of(strategy, st.tuples(strategy, known).map(with_ids))

    try:
        yield schema
    finally:
        shutdown_lifespans()
        dispatch.wait_for_embedded_tasks()


def with_ids(pair: tuple[Any, str]) -> Any:
    case, ids = pair
    case.query = {**(case.query or {}), "calendar_ids": ids}
    return case


@pytest.mark.parametrize("path, method", documented_operations())
def test_generated_requests_get_documented_answers_and_no_server_error(
    api_schema: Any, owner_auth: dict[str, str], path: str, method: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Any) -> None:
        case.headers = {**(case.headers or {}), **owner_auth}
        response = case.call_and_validate(checks=CHECKS, timeout=READ_SECONDS)
        assert SECRET not in response.text

    answers_as_documented()
