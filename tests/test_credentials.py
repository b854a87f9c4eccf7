"""Xero's credentials: required, except with TESTING (a host's own tests)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from tests.config_support import config
from xero_panel.config import read_settings
from xero_panel.credentials import with_credentials

MISSING = {"XERO_PANEL_CLIENT_ID": None, "XERO_PANEL_CLIENT_SECRET": None}


def test_all_given_means_configured() -> None:
    settings = read_settings(config())
    assert settings.xero_configured is True


def test_testing_without_client_starts_not_configured() -> None:
    settings = read_settings(config(TESTING=True, XERO_PANEL_ENCRYPTION_KEYS=None, **MISSING))
    assert settings.xero_configured is False
    (key,) = settings.encryption_keys
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"t")) == b"t"


def test_testing_with_client_but_no_key_is_configured_with_a_throwaway_key() -> None:
    settings = read_settings(config(TESTING=True, XERO_PANEL_ENCRYPTION_KEYS=None))
    assert settings.xero_configured is True
    assert len(settings.encryption_keys) == 1


def test_testing_keeps_what_is_given() -> None:
    given = config(TESTING=True)
    assert with_credentials(given) == (given, True)


@pytest.mark.parametrize("testing", [False, None, ""])
def test_outside_testing_a_missing_key_is_an_error(testing: object) -> None:
    with pytest.raises(RuntimeError) as error:
        read_settings(config(TESTING=testing, **MISSING))
    assert str(error.value) == (
        "XERO_PANEL_CLIENT_ID is not set: xero-panel needs it to connect to Xero."
    )
