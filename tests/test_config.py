from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.config_support import KEY, config
from xero_panel.config import DEFAULT_SCOPES, DEFAULTS, read_settings


def test_defaults_every_key_documented_in_config_module() -> None:
    import xero_panel.budget_settings
    import xero_panel.config
    import xero_panel.fragment_settings
    import xero_panel.webhook_settings

    # Some keys are declared in their own modules and joined into DEFAULTS.
    modules = (
        xero_panel.config,
        xero_panel.webhook_settings,
        xero_panel.budget_settings,
        xero_panel.fragment_settings,
    )
    source = "\n".join(Path(m.__file__ or "").read_text() for m in modules)
    for key in DEFAULTS:
        assert f'"{key}"' in source
        comment_line = source.split(f'"{key}"')[0].rstrip().splitlines()[-1]
        assert comment_line.strip().startswith("#:"), key


def test_defaults_read_as_documented() -> None:
    settings = read_settings(config())
    assert settings.scopes == tuple(DEFAULT_SCOPES.split())
    assert settings.url_prefix == "/integrations/xero"
    assert settings.cache_ttl == 60
    assert settings.page_size == 25
    assert settings.sync_page_size == 1000
    assert settings.htmx_url == ""
    assert settings.redis_url is None
    assert settings.api_url == "https://api.xero.com"
    assert settings.rate_limit_per_minute == 60
    assert settings.rate_limit_concurrent == 5
    assert settings.rate_limit_per_day == 5000
    assert settings.frame_ancestors == "'self'"


@pytest.mark.parametrize(
    "key", ["XERO_PANEL_CLIENT_ID", "XERO_PANEL_CLIENT_SECRET", "XERO_PANEL_ENCRYPTION_KEYS"]
)
def test_read_settings_missing_required_key(key: str) -> None:
    with pytest.raises(RuntimeError) as error:
        read_settings(config(**{key: None}))
    assert str(error.value) == f"{key} is not set: xero-panel needs it to connect to Xero."


def test_read_settings_unknown_key_named() -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_CACHE_TTLS=5))
    assert str(error.value).startswith("Unknown setting XERO_PANEL_CACHE_TTLS:")


def test_read_settings_strings_from_environment_converted() -> None:
    settings = read_settings(
        config(XERO_PANEL_CACHE_TTL="2", XERO_PANEL_HTTP_TIMEOUT="7.5", XERO_PANEL_PAGE_SIZE="10")
    )
    assert (settings.cache_ttl, settings.http_timeout, settings.page_size) == (2, 7.5, 10)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "XERO_PANEL_CACHE_TTL",
            "soon",
            "XERO_PANEL_CACHE_TTL must be a whole number, not 'soon'.",
        ),
        ("XERO_PANEL_CACHE_TTL", -1, "XERO_PANEL_CACHE_TTL must be at least 0, not -1."),
        (
            "XERO_PANEL_SYNC_PAGE_SIZE",
            5000,
            "XERO_PANEL_SYNC_PAGE_SIZE must be at least 1 and at most 1000, not 5000.",
        ),
        (
            "XERO_PANEL_RATE_LIMIT_PER_MINUTE",
            61,
            "XERO_PANEL_RATE_LIMIT_PER_MINUTE must be at least 1 and at most 60, not 61.",
        ),
        (
            "XERO_PANEL_API_URL",
            "api.xero.com",
            "XERO_PANEL_API_URL must be an http(s) URL, not 'api.xero.com'.",
        ),
        (
            "XERO_PANEL_URL_PREFIX",
            "xero",
            "XERO_PANEL_URL_PREFIX must be a path starting with /, not 'xero'.",
        ),
        (
            "XERO_PANEL_REDIS_URL",
            "localhost:6379",
            "XERO_PANEL_REDIS_URL must be a redis:// URL, not 'localhost:6379'.",
        ),
        (
            "XERO_PANEL_HTTP_TIMEOUT",
            0,
            "XERO_PANEL_HTTP_TIMEOUT must be more than 0 seconds, not 0.",
        ),
        (
            "XERO_PANEL_FRAME_ANCESTORS",
            "'self'; script-src *",
            "XERO_PANEL_FRAME_ANCESTORS must be 'self', 'none' or origins such as"
            " https://crm.example.com, separated by spaces, not \"'self'; script-src *\".",
        ),
        (
            "XERO_PANEL_FRAME_ANCESTORS",
            "'none' https://a.test",
            "XERO_PANEL_FRAME_ANCESTORS must be 'self', 'none' or origins such as"
            " https://crm.example.com, separated by spaces, not \"'none' https://a.test\".",
        ),
        (
            "XERO_PANEL_DEFAULT_LOCALE",
            "xx_YY",
            "XERO_PANEL_DEFAULT_LOCALE is not a locale Babel knows: 'xx_YY'.",
        ),
    ],
)
def test_read_settings_bad_value_names_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(**{key: value}))
    assert str(error.value) == message


def test_read_settings_bad_fernet_key() -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_ENCRYPTION_KEYS="not-a-key"))
    assert str(error.value).startswith(
        "XERO_PANEL_ENCRYPTION_KEYS holds a value that is not a Fernet key"
    )


def test_read_settings_several_keys_for_rotation() -> None:
    other = Fernet.generate_key().decode()
    settings = read_settings(config(XERO_PANEL_ENCRYPTION_KEYS=f"{KEY}, {other}"))
    assert settings.encryption_keys == (KEY, other)


def test_read_settings_write_scope_refused() -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_SCOPES="offline_access accounting.transactions"))
    assert "accounting.transactions, a write scope" in str(error.value)


def test_read_settings_scopes_without_offline_access_refused() -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_SCOPES="openid accounting.transactions.read"))
    assert str(error.value).startswith("XERO_PANEL_SCOPES must include offline_access")


def test_read_settings_broad_scopes_for_old_apps_accepted() -> None:
    scopes = (
        "openid profile email offline_access accounting.transactions.read accounting.contacts.read"
    )
    assert read_settings(config(XERO_PANEL_SCOPES=scopes)).scopes == tuple(scopes.split())


@pytest.mark.parametrize(("value", "expected"), [("none", None), (None, None), ("", "")])
def test_read_settings_htmx_url_special_values(value: Any, expected: str | None) -> None:
    assert read_settings(config(XERO_PANEL_HTMX_URL=value)).htmx_url == expected


def test_read_settings_urls_lose_trailing_slash() -> None:
    settings = read_settings(config(XERO_PANEL_API_URL="http://127.0.0.1:5055/"))
    assert settings.api_url == "http://127.0.0.1:5055"


@pytest.mark.parametrize(
    "scope",
    ["payroll.employees", "files", "assets", "projects", "accounting.reports.read", "openid2"],
)
def test_read_settings_scope_outside_the_allow_list_refused(scope: str) -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_SCOPES=f"{DEFAULT_SCOPES} {scope}"))
    message = str(error.value)
    assert message.startswith(f"XERO_PANEL_SCOPES asks for {scope}, which the panel does not use")


def test_read_settings_the_probes_scopes_refused() -> None:
    with pytest.raises(ValueError, match=r"XERO_PANEL_SCOPES asks for payroll\.employees"):
        read_settings(config(XERO_PANEL_SCOPES="offline_access payroll.employees files assets"))


def test_read_settings_every_allowed_scope_accepted() -> None:
    from xero_panel.config import ALLOWED_SCOPES

    assert set(read_settings(config(XERO_PANEL_SCOPES=" ".join(ALLOWED_SCOPES))).scopes) == set(
        ALLOWED_SCOPES
    )


@pytest.mark.parametrize(
    "key",
    [
        "XERO_PANEL_LOGIN_URL",
        "XERO_PANEL_IDENTITY_URL",
        "XERO_PANEL_API_URL",
        "XERO_PANEL_DEEP_LINK_URL",
    ],
)
def test_read_settings_plain_http_xero_urls_refused(key: str) -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(**{key: "http://xero.example.com"}))
    assert str(error.value).startswith(f"{key} must be an https URL")


@pytest.mark.parametrize("flag", ["DEBUG", "TESTING"])
def test_read_settings_plain_http_allowed_in_debug_or_testing(flag: str) -> None:
    settings = read_settings(config(XERO_PANEL_API_URL="http://xero.example.com", **{flag: True}))
    assert settings.api_url == "http://xero.example.com"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5055", "http://localhost:5055", "http://[::1]:5055", "https://x.test"]
)
def test_read_settings_https_or_loopback_accepted(url: str) -> None:
    assert read_settings(config(XERO_PANEL_IDENTITY_URL=url)).identity_url == url


def test_payment_behaviour_is_on_by_default() -> None:
    assert read_settings(config()).payment_behaviour is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(False, False), ("false", False), ("0", False), ("OFF", False), (0, False)],
        *[(True, True), ("true", True), ("1", True), (" on ", True), (1, True)],
    ],
)
def test_payment_behaviour_from_the_environment(value: Any, expected: bool) -> None:
    settings = read_settings(config(XERO_PANEL_PAYMENT_BEHAVIOUR=value))
    assert settings.payment_behaviour is expected


def test_payment_behaviour_refuses_other_values() -> None:
    with pytest.raises(ValueError) as error:
        read_settings(config(XERO_PANEL_PAYMENT_BEHAVIOUR="maybe"))
    assert str(error.value) == (
        "XERO_PANEL_PAYMENT_BEHAVIOUR must be true or false (or 1/0, on/off), not 'maybe'."
    )


def test_fragment_cache_defaults() -> None:
    fragments = read_settings(config()).fragments
    assert (fragments.enabled, fragments.max_bytes, fragments.ttl) == (True, 32 * 1024 * 1024, 3600)


def test_fragment_cache_from_the_environment() -> None:
    fragments = read_settings(
        config(
            XERO_PANEL_FRAGMENT_CACHE="off",
            XERO_PANEL_FRAGMENT_CACHE_BYTES="1048576",
            XERO_PANEL_FRAGMENT_CACHE_TTL="60",
        )
    ).fragments
    assert (fragments.enabled, fragments.max_bytes, fragments.ttl) == (False, 1048576, 60)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "XERO_PANEL_FRAGMENT_CACHE",
            "maybe",
            "XERO_PANEL_FRAGMENT_CACHE must be true or false (or 1/0, on/off), not 'maybe'.",
        ),
        (
            "XERO_PANEL_FRAGMENT_CACHE_BYTES",
            1000,
            "XERO_PANEL_FRAGMENT_CACHE_BYTES must be at least 262144, not 1000.",
        ),
        (
            "XERO_PANEL_FRAGMENT_CACHE_TTL",
            0,
            "XERO_PANEL_FRAGMENT_CACHE_TTL must be at least 1, not 0.",
        ),
        (
            "XERO_PANEL_FRAGMENT_CACHE_TTL",
            "soon",
            "XERO_PANEL_FRAGMENT_CACHE_TTL must be a whole number, not 'soon'.",
        ),
    ],
)
def test_fragment_cache_settings_checked(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        read_settings(config(**{key: value}))
    assert str(raised.value) == message
