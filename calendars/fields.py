"""A model field that keeps its text encrypted in the database."""

from typing import Any

from django.db import models

from calendars import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted with the token keys before it reaches the database.

    Python code sees plaintext; the column holds Fernet tokens only. Lookups
    on the plaintext are impossible by design.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
