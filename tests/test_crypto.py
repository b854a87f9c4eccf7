from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from xero_panel.crypto import TokenCipher
from xero_panel.exceptions import AuthExpired

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
TOKEN = {"access_token": "a-secret", "refresh_token": "r-secret", "expires_at": 1}


def test_token_cipher_round_trip_hides_the_token() -> None:
    cipher = TokenCipher([NEW])
    ciphertext = cipher.encrypt(TOKEN)
    assert "secret" not in ciphertext
    assert cipher.decrypt(ciphertext) == TOKEN


def test_token_cipher_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    stored = TokenCipher([OLD]).encrypt(TOKEN)
    rotated = TokenCipher([NEW, OLD])
    assert rotated.decrypt(stored) == TOKEN
    # What the next refresh stores opens with the new key alone, so the old key can go.
    assert TokenCipher([NEW]).decrypt(rotated.encrypt(TOKEN)) == TOKEN


def test_token_cipher_unknown_key_asks_for_reconnect() -> None:
    with pytest.raises(AuthExpired) as error:
        TokenCipher([NEW]).decrypt(TokenCipher([OLD]).encrypt(TOKEN))
    assert str(error.value) == (
        "The stored Xero tokens cannot be decrypted with XERO_PANEL_ENCRYPTION_KEYS;"
        " reconnect Xero, or add the old key back to the setting."
    )


def test_token_cipher_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one Fernet key"):
        TokenCipher([])
