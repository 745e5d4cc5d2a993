"""Create the demo user if it does not exist yet."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create a user for trying Chronos locally (demo / demo by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        user, created = user_model.objects.get_or_create(username=username)
        if created:
            user.set_password(options["password"])
            user.save(update_fields=["password"])
            self.stdout.write(f"Created user {username}.")
        else:
            self.stdout.write(f"User {username} already exists.")
