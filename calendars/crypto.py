"""Encryption of OAuth tokens at rest.

MultiFernet over ``settings.TOKEN_ENCRYPTION_KEYS``: the first key encrypts,
every key decrypts, so an operator rotates keys by putting a new one first,
running ``rotate_token_keys`` and then dropping the old one.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["TokenDecryptionError", "decrypt", "encrypt"]


class TokenDecryptionError(Exception):
    """A stored token could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise TokenDecryptionError(
            "A stored token matches none of TOKEN_ENCRYPTION_KEYS; add the key "
            "it was encrypted with back to the list."
        ) from error
