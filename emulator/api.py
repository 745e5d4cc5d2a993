"""Calendar API v3 handlers, at Google's paths under ``/calendar/v3/``.

Handlers run with the store's lock held and ``request.email`` set to the
authenticated account.
"""

from __future__ import annotations

from emulator import events, listing
from emulator.errors import ApiError
from emulator.server import Request, Response, json_response, route
from emulator.state import Store

__all__ = ["ROUTES"]

_BASE = "/calendar/v3"


def calendar_list(store: Store, request: Request) -> Response:
    return json_response(listing.list_calendars(store, request.email, request.query))


def calendar_list_get(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    return json_response(calendar.list_entry())


def calendar_get(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    return json_response(calendar.resource())


def calendar_insert(store: Store, request: Request) -> Response:
    body = request.json()
    if not body.get("summary"):
        raise ApiError(400, "required", "Missing title.")

    calendar = store.add_calendar(
        request.email,
        str(body["summary"]),
        description=str(body.get("description") or ""),
        time_zone=str(body.get("timeZone") or "UTC"),
    )
    return json_response(calendar.resource())


def calendar_patch(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    body = request.json()
    calendar.summary = str(body.get("summary", calendar.summary))
    calendar.description = str(body.get("description", calendar.description))
    calendar.time_zone = str(body.get("timeZone", calendar.time_zone))
    store.touch_list(calendar)
    return json_response(calendar.resource())


def calendar_delete(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    store.remove_calendar(calendar)
    return Response(204)


def event_list(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    return Response(200, listing.list_events(calendar, request.query))


def event_get(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    return json_response(events.get_event(calendar, request.args[1]))


def event_insert(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    return json_response(events.insert_event(store, calendar, request.json()))


def event_patch(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    body = request.json()
    return json_response(events.patch_event(store, calendar, request.args[1], body))


def event_update(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    body = request.json()
    return json_response(events.update_event(store, calendar, request.args[1], body))


def event_delete(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    events.delete_event(store, calendar, request.args[1])
    return Response(204)


def event_instances(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    body = listing.list_instances(calendar, request.args[1], request.query)
    return Response(200, body)


def event_watch(store: Store, request: Request) -> Response:
    calendar = store.calendar_for(request.email, request.args[0])
    channel = store.watch(request.email, calendar, request.json(), request.base_url)
    return json_response(channel.resource())


def channel_stop(store: Store, request: Request) -> Response:
    store.stop_channel(request.email, request.json())
    return Response(204)


_CAL = _BASE + "/calendars/{calendarId}"
_EVENT = _CAL + "/events/{eventId}"

ROUTES = [
    route(
        "GET",
        _BASE + "/users/me/calendarList",
        calendar_list,
        "calendar.calendarList.list",
    ),
    route(
        "GET",
        _BASE + "/users/me/calendarList/{calendarId}",
        calendar_list_get,
        "calendar.calendarList.get",
    ),
    route(
        "DELETE",
        _BASE + "/users/me/calendarList/{calendarId}",
        calendar_delete,
        "calendar.calendarList.delete",
    ),
    route("POST", _BASE + "/calendars", calendar_insert, "calendar.calendars.insert"),
    route("GET", _CAL, calendar_get, "calendar.calendars.get"),
    route("PATCH", _CAL, calendar_patch, "calendar.calendars.patch"),
    route("PUT", _CAL, calendar_patch, "calendar.calendars.update"),
    route("DELETE", _CAL, calendar_delete, "calendar.calendars.delete"),
    route("GET", _CAL + "/events", event_list, "calendar.events.list"),
    route("POST", _CAL + "/events", event_insert, "calendar.events.insert"),
    route("POST", _CAL + "/events/watch", event_watch, "calendar.events.watch"),
    route("GET", _EVENT + "/instances", event_instances, "calendar.events.instances"),
    route("GET", _EVENT, event_get, "calendar.events.get"),
    route("PATCH", _EVENT, event_patch, "calendar.events.patch"),
    route("PUT", _EVENT, event_update, "calendar.events.update"),
    route("DELETE", _EVENT, event_delete, "calendar.events.delete"),
    route("POST", _BASE + "/channels/stop", channel_stop, "calendar.channels.stop"),
]
