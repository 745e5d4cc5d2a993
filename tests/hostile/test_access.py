"""Every route the URL resolver knows, and every API operation the schema
documents: sign-in first, another user's ids are not found, and unsafe
browser requests need the CSRF token.

Routes are read from the resolver when the tests are collected, so a route
added later is checked without anyone listing it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern

from calendars.models import Calendar, Event, GoogleAccount, SyncState
from chronos.api import api

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

# Open to everyone by design: Google's webhook, the health checks, signing
# in and out (the admin's too), and the OAuth callback.
OPEN_TO_ALL = {
    "calendar-webhook",
    "healthz",
    "readyz",
    "login",
    "logout",
    "signup",
    "google-callback",
    "admin:login",
    "admin:logout",
}
# Google cannot send a CSRF token; the channel token stands in for it.
CSRF_EXEMPT = {"calendar-webhook"}
UNSAFE_METHODS = ["post", "put", "patch", "delete"]
OWN_PK = 4242
FOREIGN_PK = 9191
SECRET = "Outsider's secret"
# A parameter of a route, such as <int:pk>, and of a regular expression,
# such as (?P<app_label>auth|calendars).
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?\w+>")
REGEX_GROUP = re.compile(r"\(\?P<\w+>([^)]*)\)")


@dataclass(frozen=True)
class Route:
    """One URL pattern, with the value of its parameters left open."""

    name: str
    template: str
    callback: Any

    @property
    def takes_id(self) -> bool:
        return "{pk}" in self.template

    @property
    def in_admin(self) -> bool:
        return self.name.startswith("admin:")

    def url(self, pk: int = OWN_PK) -> str:
        return "/" + self.template.format(pk=pk)

    def __str__(self) -> str:
        return self.name


def every_route() -> list[Route]:
    routes = [
        Route(name, "".join(_concrete(part) for part in parts), pattern.callback)
        for name, parts, pattern in _walk(get_resolver().url_patterns, (), "")
    ]
    for route in routes:
        # A pattern the sampling below cannot fill in must not slip through.
        assert resolve(route.url()).func is route.callback, route
    return routes


def _walk(
    patterns: list[Any], parts: tuple[Any, ...], namespace: str
) -> Iterator[tuple[str, tuple[Any, ...], URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{pattern.namespace}:" if pattern.namespace else ""
            yield from _walk(
                pattern.url_patterns, (*parts, pattern.pattern), namespace + inner
            )
        else:
            name = pattern.name or str(pattern.pattern)
            yield namespace + name, (*parts, pattern.pattern), pattern


def _concrete(pattern: Any) -> str:
    """A pattern as a path template: every parameter becomes ``{pk}``."""
    if not isinstance(pattern, RegexPattern):
        return ROUTE_PARAMETER.sub("{pk}", str(pattern))

    text = str(pattern).removeprefix("^").removesuffix("$")
    return REGEX_GROUP.sub(_first_choice, text)


def _first_choice(group: re.Match[str]) -> str:
    choices = group.group(1).split("|")
    return choices[0] if re.fullmatch(r"\w+", choices[0]) else "anything"


ROUTES = every_route()
GUARDED = [route for route in ROUTES if route.name not in OPEN_TO_ALL]


def api_operations_with(parameter: str) -> list[str]:
    paths = api.get_openapi_schema(path_prefix="/api/")["paths"]
    return [
        path
        for path, item in paths.items()
        for operation in item.values()
        if any(p["name"] == parameter for p in operation.get("parameters", []))
    ]


def sign_in_urls() -> tuple[str, ...]:
    return (reverse("login"), reverse("admin:login"))


def is_refused(response: Any) -> bool:
    """Sent to sign in, or told to: nothing of the route was served."""
    if response.status_code == 401:
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and location.startswith(sign_in_urls())


def serves_nobody(client: Client, route: Route) -> bool:
    answers = [client.get(route.url()), client.post(route.url())]
    return all(answer.status_code in (404, 405) for answer in answers)


@pytest.fixture
def things(owner: User, outsider: User) -> None:
    """An account, calendar and event each, with the same id for every kind:
    ``OWN_PK`` is the owner's whatever a route means by it, ``FOREIGN_PK``
    the outsider's."""
    for user, pk, summary in ((owner, OWN_PK, "Mine"), (outsider, FOREIGN_PK, SECRET)):
        account = GoogleAccount.objects.create(
            pk=pk, owner=user, email=f"{user.username}@example.com"
        )
        calendar = Calendar.objects.create(
            pk=pk, account=account, google_id=account.email, summary=summary
        )
        SyncState.objects.create(calendar=calendar)
        Event.objects.create(pk=pk, calendar=calendar, google_id="e", summary=summary)


@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_every_route_but_the_open_ones_wants_a_signed_in_caller(
    client: Client, owner_client: Client, things: None, route: Route
) -> None:
    answers = [client.get(route.url()), client.post(route.url())]

    refused = [is_refused(answer) or answer.status_code == 405 for answer in answers]
    assert all(refused) or serves_nobody(owner_client, route), answers
    assert SECRET not in "".join(answer.text for answer in answers)


@pytest.mark.parametrize("route", [r for r in GUARDED if r.in_admin], ids=str)
def test_the_admin_sends_people_who_are_not_staff_to_its_sign_in(
    owner_client: Client, things: None, route: Route
) -> None:
    response = owner_client.get(route.url(FOREIGN_PK))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    "route", [r for r in GUARDED if r.takes_id and not r.in_admin], ids=str
)
def test_another_users_id_is_not_found_where_ones_own_is(
    owner_client: Client, things: None, route: Route
) -> None:
    sent = {
        method: getattr(owner_client, method)(route.url(FOREIGN_PK))
        for method in ("get", "post")
    }
    taken = [method for method, answer in sent.items() if answer.status_code != 405]
    own = [getattr(owner_client, method)(route.url(OWN_PK)) for method in taken]

    assert taken, "the route takes neither GET nor POST"
    assert [sent[method].status_code for method in taken] == [404] * len(taken)
    assert all(answer.status_code != 404 for answer in own)
    assert SECRET not in "".join(answer.text for answer in sent.values())
    assert Calendar.objects.filter(pk=FOREIGN_PK, selected=True).exists()
    assert GoogleAccount.objects.filter(pk=FOREIGN_PK).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", api_operations_with("calendar_ids"))
def test_another_users_calendar_is_not_found_by_any_api_operation(
    client: Client, owner_auth: dict[str, str], things: None, path: str
) -> None:
    for ids in (str(FOREIGN_PK), f"{OWN_PK},{FOREIGN_PK}"):
        response = client.get(path, {"calendar_ids": ids}, headers=owner_auth)

        assert response.status_code == 404
        assert response.json() == {"detail": f"No calendar with id {FOREIGN_PK}."}


def strict_client(owner: User, token: str | None = None) -> Client:
    """A signed-in browser whose CSRF token is checked; ``token`` sends one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    if token is not None:
        # The cookie and the header agreeing is what Django checks.
        client.cookies["csrftoken"] = token
        client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in CSRF_EXEMPT], ids=str
)
def test_unsafe_browser_requests_without_the_csrf_token_are_refused(
    owner: User, things: None, route: Route
) -> None:
    without, with_token = strict_client(owner), strict_client(owner, "t" * 32)

    for method in UNSAFE_METHODS:
        response = getattr(without, method)(route.url(OWN_PK))

        if response.status_code == 405:
            # Fine only where the method is refused even with the token.
            again = getattr(with_token, method)(route.url(OWN_PK))
            assert again.status_code == 405, method
        else:
            assert response.status_code == 403, method
    assert Calendar.objects.filter(pk=OWN_PK, selected=True).exists()
    assert GoogleAccount.objects.filter(pk=OWN_PK).exists()
