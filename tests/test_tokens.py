"""OAuth tokens are encrypted at rest and keys can be rotated."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from calendars.crypto import TokenDecryptionError
from calendars.models import GoogleAccount
from tests.conftest import make_account

REFRESH = "1//0g-refresh-token-plaintext"
ACCESS = "ya29.access-token-plaintext"


def raw_account_row(account_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM calendars_googleaccount "
            "WHERE id = %s",
            [account_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def test_tokens_read_back_as_they_were_saved(owner):
    account = make_account(owner, refresh_token=REFRESH, access_token=ACCESS)

    stored = GoogleAccount.objects.get(pk=account.pk)

    assert stored.refresh_token == REFRESH
    assert stored.access_token == ACCESS


def test_the_database_holds_no_plaintext_token(owner):
    account = make_account(owner, refresh_token=REFRESH, access_token=ACCESS)

    refresh_column, access_column = raw_account_row(account.pk)

    assert REFRESH not in refresh_column
    assert ACCESS not in access_column
    assert "ya29" not in access_column


def test_rotation_re_encrypts_every_row_with_the_first_key(owner):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[old_key]):
        account = make_account(owner, refresh_token=REFRESH, access_token=ACCESS)

    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key, old_key]):
        output = StringIO()
        call_command("rotate_token_keys", stdout=output)
        assert "1 accounts" in output.getvalue()

    with override_settings(TOKEN_ENCRYPTION_KEYS=[new_key]):
        rotated = GoogleAccount.objects.get(pk=account.pk)
        assert rotated.refresh_token == REFRESH
        assert rotated.access_token == ACCESS


def test_a_token_under_an_unknown_key_fails_with_a_clear_error(owner):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        account = make_account(owner, refresh_token=REFRESH)

    with (
        override_settings(TOKEN_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(TokenDecryptionError, match="TOKEN_ENCRYPTION_KEYS"),
    ):
        GoogleAccount.objects.get(pk=account.pk)


def test_empty_tokens_stay_empty(owner):
    account = make_account(owner, access_token="")

    assert raw_account_row(account.pk)[1] == ""
    assert GoogleAccount.objects.get(pk=account.pk).access_token == ""
