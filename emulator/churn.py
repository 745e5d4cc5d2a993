"""Random live changes, so the demo shows edits arriving as they happen."""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta
from typing import Any

from emulator import events
from emulator.seed import random_event_body
from emulator.state import Calendar, Store
from emulator.times import boundary, local_iso

__all__ = ["Churner", "churn_once"]

logger = logging.getLogger(__name__)


def churn_once(store: Store, rng: random.Random) -> str:
    """Apply one random change to a random calendar; describe what it did.

    Caller holds the store's lock.
    """
    calendars = sorted(store.calendars.values(), key=lambda c: c.id)
    if not calendars:
        return "no calendars"

    calendar = rng.choice(calendars)
    live = [e for e in calendar.events.values() if not e.cancelled]
    singles = [e for e in live if e.series is None and not e.master_id]
    masters = [e for e in live if e.series is not None]
    action = rng.choice(["add", "move", "rename", "delete", "cancel"])
    if action == "move" and singles:
        return _move(store, calendar, rng.choice(singles).resource)
    if action == "rename" and live:
        target = rng.choice(live).resource
        name = str(target.get("summary", "")).removesuffix(" (updated)") + " (updated)"
        events.patch_event(store, calendar, target["id"], {"summary": name})
        return f"renamed {target['id']} in {calendar.id}"
    if action == "delete" and singles:
        target = rng.choice(singles).resource
        events.delete_event(store, calendar, target["id"])
        return f"deleted {target['id']} in {calendar.id}"
    if action == "cancel" and masters:
        return _cancel_occurrence(store, calendar, rng, rng.choice(masters).id)
    return _add(store, calendar, rng)


def _add(store: Store, calendar: Calendar, rng: random.Random) -> str:
    created = events.insert_event(store, calendar, random_event_body(rng, calendar, 14))
    return f"added {created['id']} to {calendar.id}"


def _move(store: Store, calendar: Calendar, target: dict[str, Any]) -> str:
    if target["start"].get("date"):
        return f"left all-day {target['id']} in place"

    shift = timedelta(hours=1)
    change = {}
    for field in ("start", "end"):
        moment = boundary(target[field], calendar.time_zone, field) + shift
        change[field] = dict(target[field], dateTime=local_iso(moment))
    events.patch_event(store, calendar, target["id"], change)
    return f"moved {target['id']} in {calendar.id}"


def _cancel_occurrence(
    store: Store, calendar: Calendar, rng: random.Random, master_id: str
) -> str:
    series = calendar.events[master_id].series
    assert series is not None
    upcoming = series.occurrences(store.clock(), None, limit=5)
    if not upcoming:
        return f"series {master_id} has no upcoming occurrence"

    instance_id = f"{master_id}_{series.suffix(rng.choice(upcoming))}"
    if instance_id in calendar.events:
        return f"occurrence {instance_id} already changed"
    events.delete_event(store, calendar, instance_id)
    return f"cancelled occurrence {instance_id} in {calendar.id}"


class Churner:
    """Applies ``churn_once`` every ``interval_s`` seconds on a thread."""

    def __init__(
        self, store: Store, interval_s: float, seed: int | None = None
    ) -> None:
        self._store = store
        self._interval_s = interval_s
        self._random = random.Random(seed)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="emulator-churn", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                with self._store.lock:
                    what = churn_once(self._store, self._random)
            except Exception:
                logger.exception("Churn step failed")
                continue
            logger.info("Churn: %s", what)
