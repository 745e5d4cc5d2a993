"""The emulator's in-memory state: accounts, calendars, events, channels.

Every public method of ``Store`` is called with ``store.lock`` held, either
by the HTTP layer or by the helpers in ``events`` and ``listing``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.auth import AuthRegistry
from emulator.errors import ApiError
from emulator.faults import FaultPlan
from emulator.notify import Channel, Notifier
from emulator.recurrence import Series
from emulator.resources import cancelled_view, validated_series
from emulator.times import boundary

__all__ = ["Account", "Calendar", "Store", "StoredEvent"]

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 604800
_COLORS = {
    "1": ("#ac725e", "#1d1d1d"),
    "2": ("#d06b64", "#1d1d1d"),
    "7": ("#42d692", "#1d1d1d"),
    "9": ("#7bd148", "#1d1d1d"),
    "14": ("#9fe1e7", "#1d1d1d"),
    "15": ("#9fc6e7", "#1d1d1d"),
    "17": ("#9a9cff", "#1d1d1d"),
    "24": ("#a47ae2", "#ffffff"),
}
_JSON_COMPACT = (",", ":")


@dataclass
class StoredEvent:
    """One event as stored, with what listing needs precomputed."""

    resource: dict[str, Any]
    seq: int
    start_ts: float
    end_ts: float
    series: Series | None
    blob: bytes

    @property
    def id(self) -> str:
        return str(self.resource["id"])

    @property
    def cancelled(self) -> bool:
        return self.resource.get("status") == "cancelled"

    @property
    def master_id(self) -> str | None:
        return self.resource.get("recurringEventId")


@dataclass
class Calendar:
    id: str
    owner: str
    summary: str
    time_zone: str
    description: str = ""
    color_id: str = "14"
    primary: bool = False
    deleted: bool = False
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    seq: int = 0
    list_seq: int = 0
    updated: float = field(default_factory=time.time)
    resource_id: str = field(default_factory=lambda: secrets.token_urlsafe(20))
    events: OrderedDict[str, StoredEvent] = field(default_factory=OrderedDict)
    exceptions: dict[str, set[str]] = field(default_factory=dict)

    def is_deleted(self, event: StoredEvent) -> bool:
        """Deleted, as opposed to a cancelled occurrence of a live series."""
        if not event.cancelled:
            return False
        if event.master_id is None:
            return True
        master = self.events.get(event.master_id)
        return master is None or master.cancelled

    def resource(self) -> dict[str, Any]:
        return {
            "kind": "calendar#calendar",
            "etag": f'"{self.list_seq}"',
            "id": self.id,
            "summary": self.summary,
            "description": self.description,
            "timeZone": self.time_zone,
            "conferenceProperties": {
                "allowedConferenceSolutionTypes": ["hangoutsMeet"]
            },
        }

    def list_entry(self) -> dict[str, Any]:
        background, foreground = _COLORS.get(self.color_id, _COLORS["14"])
        entry = self.resource()
        entry.update(
            kind="calendar#calendarListEntry",
            colorId=self.color_id,
            backgroundColor=background,
            foregroundColor=foreground,
            selected=True,
            accessRole="owner",
            defaultReminders=[{"method": "popup", "minutes": 10}],
        )
        if self.primary:
            entry["primary"] = True
        return entry


@dataclass
class Account:
    email: str
    name: str
    calendar_ids: list[str] = field(default_factory=list)


class Store:
    """All emulated Google state behind one lock."""

    def __init__(
        self,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.notifier = notifier
        self.auth = AuthRegistry(clock)
        self.faults = FaultPlan(clock)
        self.accounts: dict[str, Account] = {}
        self.calendars: dict[str, Calendar] = {}
        self.channels: dict[str, Channel] = {}
        self.list_seq = 0

    def reset(self) -> None:
        for channel in self.channels.values():
            channel.stopped = True
        self.auth = AuthRegistry(self.clock)
        self.faults.clear()
        self.accounts.clear()
        self.calendars.clear()
        self.channels.clear()

    # Accounts and calendars

    def ensure_account(self, email: str, name: str | None = None) -> Account:
        """The account for ``email``, created with its primary calendar."""
        email = email.strip().lower()
        if email in self.accounts:
            return self.accounts[email]

        display = name or email.split("@")[0].replace(".", " ").title()
        account = Account(email, display)
        self.accounts[email] = account
        self.add_calendar(email, email, calendar_id=email, primary=True)
        logger.info("Emulated account %s created", email)
        return account

    def add_calendar(
        self,
        owner: str,
        summary: str,
        *,
        calendar_id: str | None = None,
        description: str = "",
        time_zone: str = "UTC",
        color_id: str = "14",
        primary: bool = False,
    ) -> Calendar:
        cal_id = calendar_id or f"c_{secrets.token_hex(12)}@group.calendar.google.com"
        calendar = Calendar(
            cal_id,
            owner,
            summary,
            time_zone,
            description=description,
            color_id=color_id,
            primary=primary,
        )
        self.list_seq += 1
        calendar.list_seq = self.list_seq
        self.calendars[cal_id] = calendar
        self.accounts[owner].calendar_ids.append(cal_id)
        return calendar

    def calendar_for(self, email: str, calendar_id: str) -> Calendar:
        """The calendar as the account sees it; others' calendars are 404."""
        resolved = email if calendar_id == "primary" else calendar_id
        calendar = self.calendars.get(resolved)
        if calendar is None or calendar.owner != email or calendar.deleted:
            raise ApiError(404, "notFound")
        return calendar

    def remove_calendar(self, calendar: Calendar) -> None:
        """Drop a secondary calendar; calendarList sync reports it deleted."""
        if calendar.primary:
            raise ApiError(
                403,
                "cannotDeletePrimaryCalendar",
                "The primary calendar cannot be deleted; clear it instead.",
            )
        calendar.deleted = True
        self.touch_list(calendar)
        for channel in list(self.channels.values()):
            if channel.calendar_id == calendar.id:
                channel.stopped = True
                del self.channels[channel.id]

    def touch_list(self, calendar: Calendar) -> None:
        """Mark a calendarList entry changed, for calendarList sync tokens."""
        self.list_seq += 1
        calendar.list_seq = self.list_seq

    def owned_calendars(self, email: str) -> list[Calendar]:
        account = self.accounts.get(email)
        if account is None:
            return []
        return [self.calendars[c] for c in account.calendar_ids]

    # Events

    def write_event(
        self,
        calendar: Calendar,
        resource: dict[str, Any],
        series: Series | None,
        *,
        restored_seq: int | None = None,
    ) -> StoredEvent:
        """Store a new version of an event and give it the next change number.

        Moving the event to the end keeps ``calendar.events`` ordered by
        change, so incremental listings walk back only over what changed.
        """
        if restored_seq is None:
            now = self.clock()
            calendar.seq += 1
            calendar.updated = now
            resource["etag"] = f'"{int(now * 1000)}{calendar.seq:06d}"'
        seq = calendar.seq if restored_seq is None else restored_seq
        start_ts, end_ts = _window(resource, series, calendar.time_zone)
        cancelled = resource["status"] == "cancelled"
        shown = cancelled_view(resource) if cancelled else resource
        blob = json.dumps(shown, separators=_JSON_COMPACT).encode()
        stored = StoredEvent(resource, seq, start_ts, end_ts, series, blob)
        calendar.events[stored.id] = stored
        calendar.events.move_to_end(stored.id)
        if stored.master_id:
            calendar.exceptions.setdefault(stored.master_id, set()).add(stored.id)
        return stored

    def changed(self, calendar: Calendar) -> None:
        """Tell the calendar's live channels that its events changed."""
        if self.notifier is None:
            return

        now = self.clock()
        for channel in self.channels.values():
            live = not channel.stopped and not channel.expired(now)
            if live and channel.calendar_id == calendar.id:
                self.notifier.send(channel, "exists")

    def expire_sync_tokens(self) -> None:
        for calendar in self.calendars.values():
            calendar.epoch = secrets.token_hex(4)

    # Channels

    def watch(
        self, email: str, calendar: Calendar, body: dict[str, Any], base_url: str
    ) -> Channel:
        channel_id = str(body.get("id") or "")
        address = str(body.get("address") or "")
        token = str(body.get("token") or "")
        _check_watch(body, channel_id, address, token)
        if channel_id in self.channels:
            raise ApiError(
                400, "channelIdNotUnique", f"Channel id {channel_id} not unique"
            )

        ttl = _ttl(body)
        resource_uri = f"{base_url}calendar/v3/calendars/{calendar.id}/events?alt=json"
        channel = Channel(
            id=channel_id,
            resource_id=calendar.resource_id,
            resource_uri=resource_uri,
            calendar_id=calendar.id,
            owner=email,
            address=address,
            token=token,
            expiration_ms=int((self.clock() + ttl) * 1000),
        )
        self.channels[channel_id] = channel
        if self.notifier is not None:
            self.notifier.send(channel, "sync")
        logger.info("Channel %s watches calendar %s", channel_id, calendar.id)
        return channel

    def stop_channel(self, email: str, body: dict[str, Any]) -> None:
        """Stop a channel; unknown ids are ignored, as Google ignores them."""
        channel = self.channels.get(str(body.get("id") or ""))
        if channel is None or channel.owner != email:
            return
        if body.get("resourceId") and body["resourceId"] != channel.resource_id:
            return

        channel.stopped = True
        del self.channels[channel.id]
        logger.info("Channel %s stopped", channel.id)

    # Persistence

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "list_seq": self.list_seq,
            "accounts": [
                {"email": a.email, "name": a.name, "calendars": a.calendar_ids}
                for a in self.accounts.values()
            ],
            "calendars": [_calendar_json(c) for c in self.calendars.values()],
            "channels": [c.to_json() for c in self.channels.values()],
            "auth": self.auth.to_json(),
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.reset()
        self.list_seq = int(data.get("list_seq", 0))
        for item in data.get("accounts", []):
            account = Account(item["email"], item["name"], list(item["calendars"]))
            self.accounts[account.email] = account
        for item in data.get("calendars", []):
            self._load_calendar(item)
        for item in data.get("channels", []):
            channel = Channel(**item)
            self.channels[channel.id] = channel
        self.auth.load_json(data.get("auth", {}))

    def save(self, path: Path) -> None:
        """Write the state atomically, so a crash never leaves half a file."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.to_json()))
        os.replace(temporary, path)
        logger.info("Emulator state saved to %s", path)

    def load(self, path: Path) -> None:
        self.load_json(json.loads(path.read_text()))
        logger.info("Emulator state loaded from %s", path)

    def _load_calendar(self, item: dict[str, Any]) -> None:
        events = item.pop("events")
        calendar = Calendar(**item)
        self.calendars[calendar.id] = calendar
        for entry in events:
            resource = entry["resource"]
            series = None
            if resource.get("status") != "cancelled":
                series = validated_series(resource, calendar.time_zone)
            self.write_event(calendar, resource, series, restored_seq=entry["seq"])


def _calendar_json(calendar: Calendar) -> dict[str, Any]:
    return {
        "id": calendar.id,
        "owner": calendar.owner,
        "summary": calendar.summary,
        "time_zone": calendar.time_zone,
        "description": calendar.description,
        "color_id": calendar.color_id,
        "primary": calendar.primary,
        "deleted": calendar.deleted,
        "epoch": calendar.epoch,
        "seq": calendar.seq,
        "list_seq": calendar.list_seq,
        "updated": calendar.updated,
        "resource_id": calendar.resource_id,
        "events": [
            {"seq": e.seq, "resource": e.resource} for e in calendar.events.values()
        ],
    }


def _window(
    resource: dict[str, Any], series: Series | None, default_tz: str
) -> tuple[float, float]:
    """The span an event occupies, for timeMin and timeMax filtering."""
    if series is not None:
        return series.span()

    start = resource.get("start") or resource.get("originalStartTime")
    end = resource.get("end") or start
    if not start:
        return -math.inf, math.inf
    try:
        first = boundary(start, default_tz, "start").timestamp()
        return first, boundary(end, default_tz, "end").timestamp()
    except ApiError:
        return -math.inf, math.inf


def _check_watch(
    body: dict[str, Any], channel_id: str, address: str, token: str
) -> None:
    if not channel_id or len(channel_id) > 64:
        raise ApiError(400, "required", "Channel id is required (at most 64 chars).")
    if str(body.get("type", "")).lower() not in ("web_hook", "webhook"):
        raise ApiError(400, "invalid", "Invalid channel type; use web_hook.")
    if not address.startswith(("http://", "https://")):
        raise ApiError(400, "invalid", "Invalid channel address: must be a URL.")
    if len(token) > 256:
        raise ApiError(400, "invalid", "Channel token is longer than 256 chars.")


def _ttl(body: dict[str, Any]) -> float:
    params = body.get("params") or {}
    raw = params.get("ttl", DEFAULT_TTL_S)
    try:
        ttl = float(raw)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid", f"Invalid ttl {raw!r}.") from None
    return max(1.0, ttl)
