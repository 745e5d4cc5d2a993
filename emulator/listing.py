"""``events.list``, ``events.instances`` and ``calendarList.list``.

Page tokens carry the calendar's change number at the first page (the
snapshot) and a cursor, so pages stay consistent while events change: what
changes after the snapshot is left to the next incremental sync, whose token
is that snapshot.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import ApiError
from emulator.resources import instance_resource
from emulator.state import Calendar, Store, StoredEvent
from emulator.times import parse_rfc3339, rfc3339

__all__ = ["list_calendars", "list_events", "list_instances"]

DEFAULT_PAGE = 250
MAX_PAGE = 2500
_CALENDAR_LIST_MAX = 250
_NOT_WITH_SYNC_TOKEN = (
    "timeMin",
    "timeMax",
    "updatedMin",
    "q",
    "orderBy",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)

Params = Mapping[str, list[str]]
Item = tuple[tuple[Any, ...], bytes]


@dataclass
class Query:
    max_results: int
    show_deleted: bool
    single_events: bool
    order_by: str
    time_min: float | None
    time_max: float | None
    updated_min: str | None
    text: str
    ical_uid: str
    private: list[tuple[str, str]] = field(default_factory=list)
    shared: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Cursor:
    snapshot: int
    since: int | None
    after: list[Any] | None


def list_events(calendar: Calendar, params: Params) -> bytes:
    query = _parse_query(params)
    sync_token = _one(params, "syncToken")
    page_token = _one(params, "pageToken")
    if sync_token:
        _refuse_filters_with_sync(params)
    if page_token:
        cursor = _decode_page(page_token, calendar)
    else:
        since = _decode_sync(sync_token, calendar) if sync_token else None
        cursor = Cursor(calendar.seq, since, None)

    if query.single_events or query.order_by == "startTime":
        items = _expanded(calendar, query, cursor)
    else:
        items = _by_change(calendar, query, cursor)
    page = items[: query.max_results]
    meta = _events_meta(calendar)
    if len(items) > query.max_results:
        after = list(page[-1][0])
        meta["nextPageToken"] = _encode_page(calendar, cursor, after)
    else:
        meta["nextSyncToken"] = _encode_sync(calendar, cursor.snapshot)
    return _join(meta, (blob for _, blob in page))


def list_instances(calendar: Calendar, event_id: str, params: Params) -> bytes:
    master = calendar.events.get(event_id)
    if master is None or master.series is None:
        raise ApiError(404, "notFound")
    if master.cancelled:
        raise ApiError(410, "deleted")

    query = _parse_query(params)
    query.order_by = "startTime"
    offset = _decode_offset(_one(params, "pageToken"))
    items = _series_items(calendar, master, query, with_exceptions=True)
    items.sort(key=lambda item: item[0])
    page = items[offset : offset + query.max_results]
    meta = _events_meta(calendar)
    if offset + query.max_results < len(items):
        meta["nextPageToken"] = _encode_offset(offset + query.max_results)
    return _join(meta, (blob for _, blob in page))


def list_calendars(store: Store, email: str, params: Params) -> dict[str, Any]:
    """The account's calendarList; removed entries show as ``deleted``.

    Google reports removals only in incremental results or with
    ``showDeleted``, so a full listing shows what is live.
    """
    sync_token = _one(params, "syncToken")
    since = _decode_list_sync(sync_token) if sync_token else 0
    show_deleted = bool(sync_token) or _bool(params, "showDeleted")
    calendars = [
        c
        for c in store.owned_calendars(email)
        if c.list_seq > since and (show_deleted or not c.deleted)
    ]
    offset = _decode_offset(_one(params, "pageToken"))
    size = min(_int(params, "maxResults", 100), _CALENDAR_LIST_MAX)
    page = calendars[offset : offset + size]
    result: dict[str, Any] = {
        "kind": "calendar#calendarList",
        "etag": f'"{store.list_seq}"',
        "items": [_list_entry(c) for c in page],
    }
    if offset + size < len(calendars):
        result["nextPageToken"] = _encode_offset(offset + size)
    else:
        result["nextSyncToken"] = _b64({"l": store.list_seq})
    return result


def _list_entry(calendar: Calendar) -> dict[str, Any]:
    if not calendar.deleted:
        return calendar.list_entry()
    return {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{calendar.list_seq}"',
        "id": calendar.id,
        "deleted": True,
    }


def _by_change(calendar: Calendar, query: Query, cursor: Cursor) -> list[Item]:
    """Events in change order after the cursor, walking back from the newest.

    The walk stops at the sync token's change number, so an incremental
    listing costs what changed, not the size of the calendar.
    """
    lower = cursor.since or 0
    if cursor.after is not None:
        lower = max(lower, int(cursor.after[0]))
    keep = _event_filter(calendar, query, incremental=cursor.since is not None)
    newest_first = []
    for stored in reversed(calendar.events.values()):
        if stored.seq <= lower:
            break
        if stored.seq <= cursor.snapshot:
            newest_first.append(stored)

    # Filtering is the costly part, so stop one item past the page: that
    # one is enough to know another page follows.
    found: list[Item] = []
    for stored in reversed(newest_first):
        if keep(stored):
            found.append(((stored.seq,), stored.blob))
            if len(found) > query.max_results:
                break
    return found


def _expanded(calendar: Calendar, query: Query, cursor: Cursor) -> list[Item]:
    """Listing with occurrences expanded, ordered by start or by change."""
    incremental = cursor.since is not None
    keep = _event_filter(calendar, query, incremental=incremental)
    lower = cursor.since or 0
    items: list[Item] = []
    for stored in reversed(calendar.events.values()):
        if stored.seq <= lower:
            break
        if stored.seq > cursor.snapshot:
            continue
        if stored.series is not None and not stored.cancelled:
            if _passes_text(stored, query):
                items.extend(_series_items(calendar, stored, query, False))
        elif keep(stored):
            items.append((_sort_key(query, stored, stored.start_ts), stored.blob))

    items.sort(key=lambda item: item[0])
    if cursor.after is None:
        return items
    after = tuple(cursor.after)
    return [item for item in items if item[0] > after]


def _series_items(
    calendar: Calendar, master: StoredEvent, query: Query, with_exceptions: bool
) -> list[Item]:
    """The live occurrences of a series inside the query's time window."""
    assert master.series is not None
    replaced = calendar.exceptions.get(master.id, set())
    items: list[Item] = []
    for local in master.series.occurrences(query.time_min, query.time_max):
        instance = instance_resource(master.resource, master.series, local)
        if instance["id"] in replaced:
            continue
        blob = json.dumps(instance, separators=(",", ":")).encode()
        start = master.series.instant(local)
        items.append((_sort_key(query, master, start, instance["id"]), blob))

    if not with_exceptions:
        return items
    for exception_id in replaced:
        stored = calendar.events[exception_id]
        if stored.cancelled and not query.show_deleted:
            continue
        if _in_window(stored, query):
            items.append((_sort_key(query, stored, stored.start_ts), stored.blob))
    return items


def _sort_key(
    query: Query, stored: StoredEvent, start: float, item_id: str | None = None
) -> tuple[Any, ...]:
    ident = item_id or stored.id
    if query.order_by == "startTime":
        return (start, ident)
    return (stored.seq, start, ident)


def _event_filter(
    calendar: Calendar, query: Query, *, incremental: bool
) -> Callable[[StoredEvent], bool]:
    if incremental:
        return lambda stored: True

    def keep(stored: StoredEvent) -> bool:
        # With singleEvents off, Google lists cancelled occurrences of live
        # series even without showDeleted: they hide an occurrence.
        if stored.cancelled and not query.show_deleted:
            if query.single_events or calendar.is_deleted(stored):
                return False
        if query.updated_min and stored.resource.get("updated", "") < query.updated_min:
            return False
        return _in_window(stored, query) and _passes_text(stored, query)

    return keep


def _in_window(stored: StoredEvent, query: Query) -> bool:
    if query.time_min is not None and stored.end_ts <= query.time_min:
        return False
    return query.time_max is None or stored.start_ts < query.time_max


def _passes_text(stored: StoredEvent, query: Query) -> bool:
    resource = stored.resource
    if query.ical_uid and resource.get("iCalUID") != query.ical_uid:
        return False
    if query.text:
        fields = (resource.get(k) or "" for k in ("summary", "description", "location"))
        if query.text not in " ".join(fields).lower():
            return False
    props = resource.get("extendedProperties") or {}
    for scope, wanted in (("private", query.private), ("shared", query.shared)):
        values = props.get(scope) or {}
        if any(values.get(k) != v for k, v in wanted):
            return False
    return True


def _parse_query(params: Params) -> Query:
    max_results = _int(params, "maxResults", DEFAULT_PAGE)
    if max_results < 1:
        raise ApiError(
            400, "invalid", f"Invalid value '{max_results}'. Values must be >= 1"
        )
    single = _bool(params, "singleEvents")
    order_by = _one(params, "orderBy")
    if order_by not in ("", "startTime", "updated"):
        raise ApiError(400, "invalid", f"Invalid value for orderBy: {order_by}")
    if order_by == "startTime" and not single:
        raise ApiError(
            400,
            "badRequest",
            "The requested ordering is not available for the particular query.",
        )
    time_min = _one(params, "timeMin")
    time_max = _one(params, "timeMax")
    updated_min = _one(params, "updatedMin")
    return Query(
        max_results=min(max_results, MAX_PAGE),
        show_deleted=_bool(params, "showDeleted"),
        single_events=single,
        order_by=order_by,
        time_min=parse_rfc3339(time_min, "timeMin").timestamp() if time_min else None,
        time_max=parse_rfc3339(time_max, "timeMax").timestamp() if time_max else None,
        updated_min=(
            rfc3339(parse_rfc3339(updated_min, "updatedMin").timestamp())
            if updated_min
            else None
        ),
        text=_one(params, "q").lower(),
        ical_uid=_one(params, "iCalUID"),
        private=_properties(params.get("privateExtendedProperty", [])),
        shared=_properties(params.get("sharedExtendedProperty", [])),
    )


def _refuse_filters_with_sync(params: Params) -> None:
    clashing = [name for name in _NOT_WITH_SYNC_TOKEN if params.get(name)]
    if clashing:
        raise ApiError(
            400,
            "invalid",
            "Sync token cannot be used with "
            + ", ".join(clashing)
            + "; drop these parameters or run a full sync without syncToken.",
        )


def _events_meta(calendar: Calendar) -> dict[str, Any]:
    return {
        "kind": "calendar#events",
        "etag": f'"{calendar.seq}"',
        "summary": calendar.summary,
        "description": calendar.description,
        "updated": rfc3339(calendar.updated),
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
    }


def _join(meta: dict[str, Any], blobs: Iterable[bytes]) -> bytes:
    """Splice pre-serialised events into the page without re-encoding them."""
    head = json.dumps(meta, separators=(",", ":")).encode()
    return head[:-1] + b',"items":[' + b",".join(blobs) + b"]}"


def _encode_sync(calendar: Calendar, seq: int) -> str:
    return _b64({"c": calendar.id, "e": calendar.epoch, "s": seq})


def _decode_sync(token: str, calendar: Calendar) -> int:
    """The change number a sync token stands for; 410 if it is not valid."""
    data = _unb64(token)
    valid = (
        isinstance(data, dict)
        and data.get("c") == calendar.id
        and data.get("e") == calendar.epoch
        and isinstance(data.get("s"), int)
        and data["s"] <= calendar.seq
    )
    if not valid:
        raise ApiError(410, "fullSyncRequired")
    return int(data["s"])


def _encode_page(calendar: Calendar, cursor: Cursor, after: list[Any]) -> str:
    payload = {"c": calendar.id, "n": cursor.snapshot, "t": cursor.since, "a": after}
    return _b64(payload)


def _decode_page(token: str, calendar: Calendar) -> Cursor:
    data = _unb64(token)
    if not isinstance(data, dict) or data.get("c") != calendar.id:
        raise ApiError(400, "invalid", "Invalid page token; restart the listing.")
    try:
        return Cursor(int(data["n"]), data["t"], list(data["a"]))
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            400, "invalid", "Invalid page token; restart the listing."
        ) from None


def _decode_list_sync(token: str) -> int:
    data = _unb64(token)
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        raise ApiError(410, "fullSyncRequired")
    return int(data["l"])


def _encode_offset(offset: int) -> str:
    return _b64({"o": offset})


def _decode_offset(token: str) -> int:
    if not token:
        return 0
    data = _unb64(token)
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        raise ApiError(400, "invalid", "Invalid page token; restart the listing.")
    return int(data["o"])


def _b64(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(token: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return None


def _one(params: Params, name: str) -> str:
    values = params.get(name) or [""]
    return values[-1]


def _int(params: Params, name: str, default: int) -> int:
    raw = _one(params, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "invalid", f"Invalid value '{raw}' for {name}.") from None


def _bool(params: Params, name: str) -> bool:
    return _one(params, name).lower() == "true"


def _properties(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, _, wanted = value.partition("=")
        pairs.append((key, wanted))
    return pairs
