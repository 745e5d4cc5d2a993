"""Link a Google account to a user from the command line."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncengine.accounts import connect_account
from syncengine.google import GoogleError


class Command(BaseCommand):
    help = (
        "Link the Google account behind a refresh token to USERNAME, read its "
        "email and calendar list. Connecting it again replaces the grant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--refresh-token", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            owner = user_model.objects.get(username=options["username"])
        except user_model.DoesNotExist as error:
            raise CommandError(
                f"No user named {options['username']!r}; create it first "
                "(python manage.py createsuperuser)."
            ) from error

        try:
            account = connect_account(owner, options["refresh_token"])
        except GoogleError as error:
            raise CommandError(f"Google refused the account: {error}") from error

        calendars = account.calendars.order_by("-primary", "summary")
        self.stdout.write(
            f"Connected {account.email} to {owner.get_username()} "
            f"with {len(calendars)} calendars:"
        )
        for calendar in calendars:
            mark = "x" if calendar.selected else " "
            self.stdout.write(f"  [{mark}] {calendar.pk}: {calendar.summary}")
