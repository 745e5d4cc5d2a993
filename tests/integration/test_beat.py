"""Two beats at once, as during a deploy or after a mistake in compose.

Every periodic task is then sent twice. The calendars must still be synced
once per interval and watched by one channel each.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calendars.models import Calendar, GoogleAccount, SyncState, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from tests.googleside import OWNER_EMAIL
from tests.integration.conftest import PROJECT_DIR, Worker, wait_until
from webhooks.tasks import renew_channels_task

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.django_db(transaction=True),
]

INTERVAL_SECONDS = 6
TICKS = 4
SENT = "Sending due task background-sync"
TASK_LINE = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] (received|succeeded|retry)")
# Google is never asked to deliver here: nothing listens on port 9.
UNREACHABLE_RECEIVER = "http://127.0.0.1:9"


class Beat:
    """A ``celery beat`` process with its own schedule file."""

    def __init__(self, environment: dict[str, str], directory: Path) -> None:
        self.log = directory / "beat.log"
        directory.mkdir()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "chronos", "beat"]
            + ["--loglevel", "INFO", "--schedule", str(directory / "schedule")],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def ticks(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text().count(SENT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def start_beat(
    worker_environment: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], Beat]]:
    beats: list[Beat] = []

    def start() -> Beat:
        beat = Beat(worker_environment, tmp_path / f"beat-{len(beats)}")
        beats.append(beat)
        return beat

    try:
        yield start
    finally:
        for beat in beats:
            beat.stop()


def seeded_calendars(
    emulator: EmulatorServer, account: GoogleAccount, count: int
) -> list[Calendar]:
    seeded = control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": count, "events_per_calendar": 50},
    )
    discover_calendars(account)
    return list(account.calendars.filter(google_id__in=seeded["calendars"]))


def versions(calendars: list[Calendar]) -> dict[int, int]:
    return dict(
        SyncState.objects.filter(calendar__in=calendars).values_list(
            "calendar_id", "version"
        )
    )


def synced(calendars: list[Calendar]) -> bool:
    return SyncState.objects.filter(
        calendar__in=calendars,
        state=SyncState.State.IDLE,
        last_sync_at__isnull=False,
    ).count() == len(calendars)


def finished(workers: list[Worker], task: str) -> int:
    """How many runs of the task the workers finished."""
    return sum(
        1
        for worker in workers
        for name, _, event in TASK_LINE.findall(worker.log.read_text())
        if name == task and event == "succeeded"
    )


def idle(workers: list[Worker]) -> bool:
    """Whether every task the workers received has finished."""
    running: set[str] = set()
    for worker in workers:
        for _, task_id, event in TASK_LINE.findall(worker.log.read_text()):
            if event == "received":
                running.add(task_id)
            else:
                running.discard(task_id)
    return not running


def test_two_beats_at_once_sync_each_calendar_once_per_interval(
    emulator: EmulatorServer,
    connected: GoogleAccount,
    worker_environment: dict[str, str],
    start_worker: Callable[[], Worker],
    start_beat: Callable[[], Beat],
) -> None:
    worker_environment["BACKGROUND_SYNC_INTERVAL_SECONDS"] = str(INTERVAL_SECONDS)
    worker = start_worker()
    calendars = seeded_calendars(emulator, connected, count=3)
    for calendar in calendars:
        dispatch.request_sync(calendar.pk)
    wait_until(lambda: synced(calendars), timeout=60, what="the first syncs")
    before = versions(calendars)

    beats = [start_beat(), start_beat()]
    wait_until(
        lambda: min(beat.ticks for beat in beats) >= TICKS,
        timeout=INTERVAL_SECONDS * (TICKS + 4),
        what="both beats to send the background sync a few times",
    )
    for beat in beats:
        beat.stop()
    sent = sum(beat.ticks for beat in beats)
    wait_until(
        lambda: (
            finished([worker], "syncengine.schedule_background_syncs") == sent
            and idle([worker])
        ),
        timeout=60,
        what="the worker to run every sync the beats asked for",
    )

    ticks = max(beat.ticks for beat in beats)
    after = versions(calendars)
    rounds = {pk: after[pk] - before[pk] for pk in before}
    # One beat alone syncs each calendar once per tick; the first tick of
    # the second beat may still land before the first beat's next one.
    assert all(ticks - 1 <= count <= ticks + 1 for count in rounds.values()), (
        rounds,
        ticks,
    )


def live_channels_at_google(emulator: EmulatorServer) -> dict[str, list[str]]:
    """Unexpired channel ids at Google, by calendar."""
    by_calendar: dict[str, list[str]] = {}
    for channel in control(emulator, "channels", method="GET")["channels"]:
        if not channel["expired"]:
            by_calendar.setdefault(channel["calendar_id"], []).append(channel["id"])
    return by_calendar


def watched(calendars: list[Calendar]) -> bool:
    return WatchChannel.objects.filter(
        calendar__in=calendars, state=WatchChannel.State.ACTIVE
    ).count() == len(calendars)


def test_renewals_sent_by_two_beats_at_once_leave_one_channel_per_calendar(
    emulator: EmulatorServer,
    connected: GoogleAccount,
    worker_environment: dict[str, str],
    start_worker: Callable[[], Worker],
) -> None:
    worker_environment["WEBHOOK_BASE_URL"] = UNREACHABLE_RECEIVER
    # Longer than a channel lives: every channel is due at every renewal.
    worker_environment["WEBHOOK_CHANNEL_BUFFER_HOURS"] = str(24 * 8)
    workers = [start_worker(), start_worker()]
    calendars = seeded_calendars(emulator, connected, count=3)
    for calendar in calendars:
        dispatch.request_sync(calendar.pk)
    wait_until(lambda: watched(calendars), timeout=60, what="every channel")
    first = set(WatchChannel.objects.values_list("channel_id", flat=True))
    # Slow watch calls keep the two renewals overlapping.
    control(
        emulator,
        "faults",
        {"method": "calendar.events.watch", "latency_ms": 300, "count": 12},
    )

    renew_channels_task.delay()
    renew_channels_task.delay()
    wait_until(
        lambda: finished(workers, "webhooks.renew_channels") == 2,
        timeout=60,
        what="both renewals to finish",
    )

    live = WatchChannel.objects.filter(state=WatchChannel.State.ACTIVE)
    assert sorted(live.values_list("calendar_id", flat=True)) == sorted(
        calendar.pk for calendar in calendars
    )
    assert not first & set(live.values_list("channel_id", flat=True))
    at_google = live_channels_at_google(emulator)
    assert sorted(at_google) == sorted(calendar.google_id for calendar in calendars)
    assert all(len(ids) == 1 for ids in at_google.values())
    assert set(live.values_list("channel_id", flat=True)) == {
        ids[0] for ids in at_google.values()
    }
