"""Encryption of OAuth tokens at rest, with Fernet keys that can be rotated."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .exceptions import AuthExpired


class TokenCipher:
    """Encrypts and decrypts token dicts with :class:`~cryptography.fernet.MultiFernet`.

    The first key encrypts; every key decrypts. To rotate, put a new key first and keep the
    old one: each token refresh (every 30 minutes while a connection is in use) stores the
    token encrypted with the new key, after which the old key can go.

    :param keys: Fernet keys, newest first (``XERO_PANEL_ENCRYPTION_KEYS``).
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("TokenCipher needs at least one Fernet key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, token: dict[str, Any]) -> str:
        """Encrypt a token dict to a text column value."""
        return self._fernet.encrypt(json.dumps(token, sort_keys=True).encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> dict[str, Any]:
        """Decrypt what :meth:`encrypt` made.

        :raises AuthExpired: no configured key opens it (the keys were replaced without
            rotation), so an admin has to reconnect.
        """
        try:
            data = json.loads(self._fernet.decrypt(ciphertext.encode("ascii")))
        except InvalidToken:
            raise AuthExpired(
                "The stored Xero tokens cannot be decrypted with XERO_PANEL_ENCRYPTION_KEYS;"
                " reconnect Xero, or add the old key back to the setting."
            ) from None
        assert isinstance(data, dict)
        return data
