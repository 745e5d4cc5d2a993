"""After any sequence of changes in Google and faults along the way, the
database holds exactly what Google holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from calendars.models import Calendar
from emulator.testing import control
from syncengine.accounts import discover_calendars
from syncengine.google import GoogleError
from syncengine.sync import sync_calendar
from tests.googleside import google_events, stored_events


@dataclass(frozen=True)
class Step:
    kind: str
    pick: int
    day: int


STEP_KINDS = [
    "insert",
    "insert_all_day",
    "insert_series",
    "patch",
    "move",
    "delete",
    "cancel_occurrence",
    "move_occurrence",
    "split_series",
    "expire_tokens",
    "fault_429",
    "fault_500",
]
steps = st.builds(
    Step,
    kind=st.sampled_from(STEP_KINDS),
    pick=st.integers(min_value=0, max_value=1000),
    day=st.integers(min_value=1, max_value=27),
)


class GoogleSide:
    """Edits one calendar the way Google clients do."""

    def __init__(self, emulator: Any, google: Any, calendar_id: str) -> None:
        self.emulator = emulator
        self.service = google
        self.events = google.events()
        self.calendar_id = calendar_id

    def apply(self, step: Step) -> None:
        getattr(self, step.kind)(step)

    def live(self, series_only: bool = False) -> list[dict[str, Any]]:
        items = google_events(self.service, self.calendar_id)
        return [
            item
            for item in items.values()
            if item.get("status") != "cancelled"
            and (not series_only or item.get("recurrence"))
        ]

    def _chosen(self, step: Step, series_only: bool = False) -> dict[str, Any] | None:
        candidates = sorted(self.live(series_only), key=lambda item: item["id"])
        return candidates[step.pick % len(candidates)] if candidates else None

    def _instance(self, step: Step) -> dict[str, Any] | None:
        series = self._chosen(step, series_only=True)
        if series is None:
            return None
        instances = (
            self.events.instances(calendarId=self.calendar_id, eventId=series["id"])
            .execute()
            .get("items", [])
        )
        return instances[step.pick % len(instances)] if instances else None

    def insert(self, step: Step) -> None:
        self._insert(_timed(f"Meeting {step.pick}", step.day, 9 + step.pick % 8))

    def insert_all_day(self, step: Step) -> None:
        body = {
            "summary": f"Trip {step.pick}",
            "start": {"date": f"2027-01-{step.day:02d}"},
            "end": {"date": f"2027-01-{step.day + 1:02d}"},
        }
        self._insert(body)

    def insert_series(self, step: Step) -> None:
        body = _timed(f"Standup {step.pick}", step.day, 9)
        body["recurrence"] = [f"RRULE:FREQ=WEEKLY;COUNT={3 + step.pick % 6}"]
        self._insert(body)

    def patch(self, step: Step) -> None:
        event = self._chosen(step)
        if event is not None:
            self._patch(event["id"], {"summary": f"Renamed {step.pick}"})

    def move(self, step: Step) -> None:
        event = self._chosen(step)
        if event is not None and not event.get("recurrence"):
            self._patch(event["id"], _timed(event.get("summary", ""), step.day, 15))

    def delete(self, step: Step) -> None:
        event = self._chosen(step)
        if event is not None:
            self.events.delete(
                calendarId=self.calendar_id, eventId=event["id"]
            ).execute()

    def cancel_occurrence(self, step: Step) -> None:
        instance = self._instance(step)
        if instance is not None:
            self.events.delete(
                calendarId=self.calendar_id, eventId=instance["id"]
            ).execute()

    def move_occurrence(self, step: Step) -> None:
        instance = self._instance(step)
        if instance is not None:
            self._patch(instance["id"], _timed("Moved", step.day, 17))

    def split_series(self, step: Step) -> None:
        """ "This and following": truncate the series, start a new one."""
        instance = self._instance(step)
        if instance is None:
            return
        master_id = instance["recurringEventId"]
        original = instance["originalStartTime"]["dateTime"]
        until = original.replace("-", "").replace(":", "")[:15] + "Z"
        self._patch(master_id, {"recurrence": [f"RRULE:FREQ=WEEKLY;UNTIL={until}"]})
        follower = _timed("Standup, new time", step.day, 11)
        follower["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=3"]
        self._insert(follower)

    def expire_tokens(self, step: Step) -> None:
        control(self.emulator, "expire-sync-tokens", {})

    def fault_429(self, step: Step) -> None:
        self._fault(429, "rateLimitExceeded")

    def fault_500(self, step: Step) -> None:
        self._fault(500, "backendError")

    def _fault(self, status: int, reason: str) -> None:
        fault = {"method": "calendar.events.list", "status": status, "reason": reason}
        control(self.emulator, "faults", {**fault, "count": 1})

    def _insert(self, body: dict[str, Any]) -> None:
        self.events.insert(calendarId=self.calendar_id, body=body).execute()

    def _patch(self, event_id: str, body: dict[str, Any]) -> None:
        self.events.patch(
            calendarId=self.calendar_id, eventId=event_id, body=body
        ).execute()


def _timed(summary: str, day: int, hour: int) -> dict[str, Any]:
    start = f"2027-01-{day:02d}T{hour:02d}:00:00+01:00"
    end = f"2027-01-{day:02d}T{hour:02d}:45:00+01:00"
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
    }


EVERY_KIND_ONCE = [Step(kind, pick=7, day=9) for kind in STEP_KINDS[:3]] + [
    Step(kind, pick=index, day=12 + index) for index, kind in enumerate(STEP_KINDS)
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(steps, min_size=3, max_size=12))
@example(plan=EVERY_KIND_ONCE)
def test_the_database_converges_to_google_after_every_step(
    emulator, google, connected, plan
):
    created = google.calendars().insert(body={"summary": "Scratch"}).execute()
    discover_calendars(connected)
    calendar = Calendar.objects.get(account=connected, google_id=created["id"])
    side = GoogleSide(emulator, google, created["id"])
    sync_calendar(calendar.pk)

    for step in plan:
        side.apply(step)
        sync_until_done(calendar.pk)

        assert stored_events(calendar) == google_events(google, created["id"])


def sync_until_done(calendar_pk: int) -> None:
    """A sync that fails on an injected fault is simply asked for again."""
    for _ in range(3):
        try:
            sync_calendar(calendar_pk)
        except GoogleError:
            continue
        return
    raise AssertionError("the calendar did not sync in three attempts")
