"""Create a bearer token for the JSON API."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from calendars.models import ApiToken
from chronos.api import token_digest

TOKEN_PREFIX = "chr_"


class Command(BaseCommand):
    help = (
        "Print a new API token for USERNAME. Only its digest is stored, so the "
        "token cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            owner = user_model.objects.get(username=options["username"])
        except user_model.DoesNotExist as error:
            raise CommandError(f"No user named {options['username']!r}.") from error

        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        ApiToken.objects.create(
            owner=owner, digest=token_digest(token), prefix=token[:12]
        )
        self.stdout.write(token)
