"""Re-encrypt every stored token with the first of TOKEN_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from calendars.models import GoogleAccount, WatchChannel


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored OAuth and channel token with the first key of "
        "TOKEN_ENCRYPTION_KEYS. Run it after putting a new key first; then the "
        "old keys can be dropped."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Reading decrypts with any key; saving encrypts with the first one.
        with transaction.atomic():
            accounts = 0
            for account in GoogleAccount.objects.select_for_update().iterator():
                account.save(update_fields=["refresh_token", "access_token"])
                accounts += 1
            channels = 0
            for channel in WatchChannel.objects.select_for_update().iterator():
                channel.save(update_fields=["token"])
                channels += 1

        self.stdout.write(
            f"Re-encrypted the tokens of {accounts} accounts and {channels} channels."
        )
