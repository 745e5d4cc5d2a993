"""Connect the demo user to the emulator's demo account and sync it."""

import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from calendars.models import GoogleAccount
from emulator.seed import DEMO_EMAIL, DEMO_REFRESH_TOKEN
from syncengine.accounts import connect_account
from syncengine.google import GoogleError
from syncengine.sync import sync_calendar
from webhooks.channels import ensure_channel


class Command(BaseCommand):
    help = (
        "Wait for the Google emulator, connect the demo user to its demo "
        "account (once) and sync the account's calendars."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--wait", type=float, default=30, help="seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        self._wait_for_emulator(options["wait"])
        owner, _ = get_user_model().objects.get_or_create(username=options["username"])
        account = GoogleAccount.objects.filter(owner=owner, email=DEMO_EMAIL).first()
        try:
            if account is None or account.status != GoogleAccount.Status.ACTIVE:
                account = connect_account(owner, DEMO_REFRESH_TOKEN)
                self.stdout.write(f"Connected {DEMO_EMAIL} to {owner.get_username()}.")
            for calendar in account.calendars.filter(selected=True):
                result = sync_calendar(calendar.pk)
                self.stdout.write(
                    f"Synced {calendar.summary}: {result.added} added, "
                    f"{result.changed} changed, {result.deleted} deleted."
                )
                # The demo watches its calendars, so churn arrives by push.
                ensure_channel(calendar.pk)
        except GoogleError as error:
            raise CommandError(
                f"The emulator refused the demo account: {error}"
            ) from error

    def _wait_for_emulator(self, seconds: float) -> None:
        probe = settings.GOOGLE_TOKEN_URL.rsplit("/", 1)[0] + "/_emulator/stats"
        deadline = time.monotonic() + seconds
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError) as error:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"No Google emulator answered at {probe}; start it with "
                        "python manage.py googleemulator --seed demo"
                    ) from error
                time.sleep(0.3)
