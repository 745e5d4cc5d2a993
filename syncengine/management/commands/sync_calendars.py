"""Run calendar syncs in the foreground, with a line per calendar."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from calendars.models import Calendar, GoogleAccount
from syncengine.google import GoogleError
from syncengine.sync import AccountInactive, sync_calendar


class Command(BaseCommand):
    help = "Sync calendars now, in this process, and print what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="only this user's calendars")
        parser.add_argument("--calendar", type=int, help="only this calendar (id)")
        parser.add_argument(
            "--full", action="store_true", help="ignore sync tokens: full resync"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        calendars = Calendar.objects.filter(
            selected=True, account__status=GoogleAccount.Status.ACTIVE
        ).select_related("account")
        if options["user"]:
            calendars = calendars.filter(account__owner__username=options["user"])
        if options["calendar"] is not None:
            calendars = calendars.filter(pk=options["calendar"])
        if not calendars:
            raise CommandError("No selected calendar of an active account matches.")

        started = time.monotonic()
        totals = {"added": 0, "changed": 0, "deleted": 0, "failed": 0}
        for calendar in calendars:
            self._sync_one(calendar, options["full"], totals)

        self.stdout.write(
            f"Synced {len(calendars)} calendars: {totals['added']} added, "
            f"{totals['changed']} changed, {totals['deleted']} deleted, "
            f"{totals['failed']} failed, in {time.monotonic() - started:.1f}s"
        )

    def _sync_one(self, calendar: Calendar, full: bool, totals: dict[str, int]) -> None:
        label = f"{calendar.account.email} / {calendar.summary} ({calendar.pk})"
        try:
            result = sync_calendar(calendar.pk, full=full)
        except (GoogleError, AccountInactive) as error:
            totals["failed"] += 1
            self.stdout.write(f"{label}: failed: {error}")
            return

        if not result.ran:
            self.stdout.write(f"{label}: already syncing; it will run again")
            return
        for key in ("added", "changed", "deleted"):
            totals[key] += getattr(result, key)
        kind = "full" if result.full else "incremental"
        self.stdout.write(
            f"{label}: {kind}, {result.added} added, {result.changed} changed, "
            f"{result.deleted} deleted in {result.seconds:.2f}s"
        )
