"""Single-event operations: get, insert, patch, update, delete.

Occurrences of a series are addressed as ``<masterId>_<originalStart>``; a
write to one that has no stored exception yet creates that exception, which
is how Google records moved and cancelled occurrences.
"""

from __future__ import annotations

from typing import Any

from emulator.errors import ApiError
from emulator.resources import (
    build_event,
    check_client_id,
    instance_resource,
    merge_patch,
    new_id,
    replace_body,
    validated_series,
)
from emulator.state import Calendar, Store, StoredEvent

__all__ = [
    "delete_event",
    "get_event",
    "insert_event",
    "patch_event",
    "update_event",
    "virtual_instance",
]


def get_event(calendar: Calendar, event_id: str) -> dict[str, Any]:
    """The event, cancelled ones included, as Google returns them."""
    stored = calendar.events.get(event_id)
    if stored is not None:
        return stored.resource

    instance = virtual_instance(calendar, event_id)
    if instance is None:
        raise ApiError(404, "notFound")
    return instance


def insert_event(
    store: Store, calendar: Calendar, body: dict[str, Any]
) -> dict[str, Any]:
    event_id = str(body.get("id") or "")
    if event_id:
        check_client_id(event_id)
        if event_id in calendar.events:
            raise ApiError(409, "duplicate")
    account = store.accounts[calendar.owner]
    resource = build_event(
        body,
        event_id=event_id or new_id(),
        calendar_id=calendar.id,
        calendar_summary=calendar.summary,
        owner=account.email,
        now=store.clock(),
    )
    series = validated_series(resource, calendar.time_zone)
    store.write_event(calendar, resource, series)
    store.changed(calendar)
    return resource


def patch_event(
    store: Store, calendar: Calendar, event_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    base = get_event(calendar, event_id)
    resource = merge_patch(base, body, store.clock())
    return _save(store, calendar, resource)


def update_event(
    store: Store, calendar: Calendar, event_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    base = get_event(calendar, event_id)
    resource = replace_body(base, body, store.clock())
    return _save(store, calendar, resource)


def delete_event(store: Store, calendar: Calendar, event_id: str) -> None:
    """Delete an event; an occurrence becomes a cancelled exception.

    Deleting a master takes its exceptions with it, each reported as
    cancelled so incremental clients drop them too.
    """
    stored = calendar.events.get(event_id)
    if stored is not None and stored.cancelled:
        raise ApiError(410, "deleted")

    base = get_event(calendar, event_id)
    _cancel(store, calendar, base)
    if stored is not None and stored.series is not None:
        for exception_id in sorted(calendar.exceptions.get(event_id, ())):
            exception = calendar.events[exception_id]
            _cancel(store, calendar, exception.resource)
    store.changed(calendar)


def virtual_instance(calendar: Calendar, event_id: str) -> dict[str, Any] | None:
    """An occurrence of a live series that has no exception of its own."""
    master, local = _occurrence(calendar, event_id)
    if master is None or master.series is None or local is None:
        return None
    return instance_resource(master.resource, master.series, local)


def _occurrence(calendar: Calendar, event_id: str) -> tuple[StoredEvent | None, Any]:
    master_id, _, suffix = event_id.rpartition("_")
    master = calendar.events.get(master_id) if master_id else None
    if master is None or master.series is None or master.cancelled:
        return None, None

    try:
        local = master.series.parse_suffix(suffix)
    except ValueError:
        return None, None
    if local is None or not master.series.is_occurrence(local):
        return None, None
    return master, local


def _save(store: Store, calendar: Calendar, resource: dict[str, Any]) -> dict[str, Any]:
    series = None
    if resource.get("status") != "cancelled":
        series = validated_series(resource, calendar.time_zone)
    store.write_event(calendar, resource, series)
    store.changed(calendar)
    return resource


def _cancel(store: Store, calendar: Calendar, base: dict[str, Any]) -> None:
    resource = merge_patch(base, {"status": "cancelled"}, store.clock())
    store.write_event(calendar, resource, None)
