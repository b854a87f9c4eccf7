"""Every ``XERO_PANEL_*`` setting, its default, and the frozen :class:`Settings` read from them.

:meth:`~xero_panel.XeroPanel.init_app` sets each default with ``app.config.setdefault``, then
reads the config once into :class:`Settings`; any mistake (a missing required key, a bad value,
an unknown ``XERO_PANEL_*`` key, usually a typo) raises at start-up naming the key. Values may
be strings (as from environment variables): numbers and booleans are converted, and lists may
be comma- or space-separated strings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from .budget_settings import BUDGET_DEFAULTS, BudgetSettings, read_budget_settings
from .credentials import with_credentials
from .fragment_settings import FRAGMENT_DEFAULTS, FragmentSettings, read_fragment_settings
from .framing import frame_ancestors
from .setting_checks import whole_number as _int
from .webhook_settings import WEBHOOK_DEFAULTS

#: The read-only scopes requested from Xero by default: the granular scopes that apps
#: created since March 2026 must use. Apps created earlier may set the broad
#: ``accounting.transactions.read`` instead of the invoices and payments scopes.
DEFAULT_SCOPES = (
    "openid profile email offline_access accounting.invoices.read "
    "accounting.payments.read accounting.contacts.read accounting.settings.read"
)

#: Every scope ``XERO_PANEL_SCOPES`` may ask for: sign-in (``openid profile email``), the
#: refresh token (``offline_access``), and the read scopes of what the panel calls (Xero's
#: scopes page, https://developer.xero.com/documentation/guides/oauth2/scopes/):
#: ``/Invoices``, ``/CreditNotes`` and their payments (``accounting.invoices.read`` and
#: ``accounting.payments.read``, or the broad ``accounting.transactions.read`` of apps made
#: before March 2026), ``/Contacts`` (``accounting.contacts.read``) and ``/Organisation``
#: (``accounting.settings.read``). Anything else is refused at start-up.
ALLOWED_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions.read",
        "accounting.invoices.read",
        "accounting.payments.read",
        "accounting.contacts.read",
        "accounting.settings.read",
    }
)
DEFAULTS: dict[str, Any] = {
    #: The OAuth 2.0 client id of your Xero app (developer.xero.com > My Apps). Required.
    "XERO_PANEL_CLIENT_ID": None,
    #: The OAuth 2.0 client secret of your Xero app. Required.
    "XERO_PANEL_CLIENT_SECRET": None,
    #: Fernet keys that encrypt tokens at rest: one key, or several separated by commas or
    #: spaces (the first encrypts; all decrypt, so keys can be rotated). Make one with
    #: ``Fernet.generate_key()`` from ``cryptography.fernet``. Required.
    "XERO_PANEL_ENCRYPTION_KEYS": None,
    #: The scopes asked for when connecting. Only read scopes: the panel never writes to Xero.
    "XERO_PANEL_SCOPES": DEFAULT_SCOPES,
    #: The OAuth redirect URI registered with Xero. ``None`` builds it with ``url_for``
    #: (set it when the app runs behind a proxy that changes the scheme or host).
    "XERO_PANEL_REDIRECT_URI": None,
    #: Base URL of Xero's login (authorize) endpoint: ``{url}/identity/connect/authorize``.
    "XERO_PANEL_LOGIN_URL": "https://login.xero.com",
    #: Base URL of Xero's identity endpoints:
    #: ``{url}/connect/token`` and ``{url}/connect/revocation``.
    "XERO_PANEL_IDENTITY_URL": "https://identity.xero.com",
    #: Base URL of Xero's API: ``{url}/connections`` and ``{url}/api.xro/2.0``.
    "XERO_PANEL_API_URL": "https://api.xero.com",
    #: Base URL of Xero's web app, for the deep links that open an invoice in Xero.
    "XERO_PANEL_DEEP_LINK_URL": "https://go.xero.com",
    #: Where the plugin's routes are mounted.
    "XERO_PANEL_URL_PREFIX": "/integrations/xero",
    #: Where the panel loads htmx from: ``""`` serves the copy bundled with the package;
    #: a URL loads it from there; ``"none"`` (or ``None``) loads nothing because the host
    #: page already loads htmx 2.
    "XERO_PANEL_HTMX_URL": "",
    #: Seconds a tenant's cached data counts as fresh before a panel view triggers an
    #: incremental sync.
    "XERO_PANEL_CACHE_TTL": 60,
    #: Invoice rows per panel page (``load more`` fetches the next page).
    "XERO_PANEL_PAGE_SIZE": 25,
    #: Records per Xero API page when syncing (Xero allows up to 1000).
    "XERO_PANEL_SYNC_PAGE_SIZE": 1000,
    #: Redis URL (``redis://host:6379/0``). When set, locks, the rate budget and
    #: single-flight live in Redis and background sync runs on RQ workers.
    "XERO_PANEL_REDIS_URL": None,
    #: The RQ queue name for background sync jobs (with ``XERO_PANEL_REDIS_URL``).
    "XERO_PANEL_RQ_QUEUE": "xero-panel",
    #: Put before every Redis key the plugin writes (locks, claims, the rate budget and call
    #: counter, the token refresh lock), so several apps (or test runs) can share one Redis.
    "XERO_PANEL_REDIS_PREFIX": "xero-panel:",
    #: Seconds a panel view of stale data waits for the refresh it started (or found
    #: running) before it shows the cache as it is.
    "XERO_PANEL_SYNC_WAIT": 3.0,
    #: Seconds between automatic reconciliations of an organisation (a background re-read
    #: of contacts, credit notes and open invoices that catches what If-Modified-Since
    #: misses). ``0`` turns them off (``flask xero-panel sync --full`` still reconciles).
    "XERO_PANEL_RECONCILE_INTERVAL": 86400,
    #: The webhook signing key from your Xero app's webhook settings. ``None`` turns the
    #: webhook route off (it answers 404).
    "XERO_PANEL_WEBHOOK_KEY": None,
    #: Calls per minute the plugin allows itself per Xero tenant (Xero's limit is 60).
    "XERO_PANEL_RATE_LIMIT_PER_MINUTE": 60,
    #: Calls in flight at once per Xero tenant (Xero's limit is 5).
    "XERO_PANEL_RATE_LIMIT_CONCURRENT": 5,
    #: Calls per day per Xero tenant (Xero's limit is 5,000).
    "XERO_PANEL_RATE_LIMIT_PER_DAY": 5000,
    #: Seconds to wait for Xero to answer one request.
    "XERO_PANEL_HTTP_TIMEOUT": 20.0,
    #: The locale used to format money and dates when the host gives none
    #: (see :meth:`~xero_panel.XeroPanel.locale_selector`).
    "XERO_PANEL_DEFAULT_LOCALE": "en",
    #: Who may frame the plugin's pages (CSP ``frame-ancestors``): ``'self'``, ``'none'``
    #: or origins; ``'self'`` adds ``X-Frame-Options: SAMEORIGIN``, ``'none'`` ``DENY``.
    "XERO_PANEL_FRAME_ANCESTORS": "'self'",
    #: Show reps how the record's customers pay (days to pay, on time, trend) on the panel.
    "XERO_PANEL_PAYMENT_BEHAVIOUR": True,
    **WEBHOOK_DEFAULTS,  # webhook-first freshness: webhook_settings.py
    **BUDGET_DEFAULTS,  # the budgets' keys (xero_panel/budget_settings.py)
    **FRAGMENT_DEFAULTS,  # the rendered panels' cache (xero_panel/fragment_settings.py)
}

#: The settings that point at Xero; outside debug and testing they must be ``https``
#: (plain ``http`` only to a loopback address, such as a local Xero emulator).
XERO_URL_KEYS = (
    "XERO_PANEL_LOGIN_URL",
    "XERO_PANEL_IDENTITY_URL",
    "XERO_PANEL_API_URL",
    "XERO_PANEL_DEEP_LINK_URL",
)


@dataclass(frozen=True)
class Settings:
    """The plugin's settings for one app, read once from ``app.config`` by ``init_app``.

    :meta private:
    """

    client_id: str
    client_secret: str
    encryption_keys: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uri: str | None
    login_url: str
    identity_url: str
    api_url: str
    deep_link_url: str
    url_prefix: str
    htmx_url: str | None
    cache_ttl: int
    page_size: int
    sync_page_size: int
    redis_url: str | None
    rq_queue: str
    webhook_key: str | None
    rate_limit_per_minute: int
    rate_limit_concurrent: int
    rate_limit_per_day: int
    http_timeout: float
    default_locale: str
    redis_prefix: str = "xero-panel:"
    sync_wait: float = 3.0
    reconcile_interval: int = 86400
    frame_ancestors: str = "'self'"
    payment_behaviour: bool = True
    xero_configured: bool = True
    budgets: BudgetSettings = field(default_factory=BudgetSettings)
    fragments: FragmentSettings = field(default_factory=FragmentSettings)


def apply_defaults(config: dict[str, Any]) -> None:
    """Set every key's default on a Flask config, leaving given values alone."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)


def read_settings(config: Mapping[str, Any]) -> Settings:
    """Read and check the ``XERO_PANEL_*`` keys of a Flask config.

    :raises RuntimeError: a required key is missing (see :mod:`xero_panel.credentials`).
    :raises ValueError: a key is unknown or its value is not valid; the message names the key.
    """
    unknown = sorted(k for k in config if k.startswith("XERO_PANEL_") and k not in DEFAULTS)
    if unknown:
        raise ValueError(
            f"Unknown setting {unknown[0]}: xero-panel has no such key."
            " See the configuration reference for the keys it reads."
        )
    config, xero_configured = with_credentials(config)  # stand-ins only with TESTING

    scopes = tuple(_words("XERO_PANEL_SCOPES", config["XERO_PANEL_SCOPES"]))
    if "offline_access" not in scopes:
        raise ValueError(
            "XERO_PANEL_SCOPES must include offline_access, or Xero gives no refresh token"
            " and the connection stops working after 30 minutes."
        )
    writes = [s for s in scopes if s.startswith("accounting.") and not s.endswith(".read")]
    if writes:
        raise ValueError(
            f"XERO_PANEL_SCOPES asks for {writes[0]}, a write scope: the panel is read-only,"
            " so ask for the .read scopes only."
        )
    unknown_scopes = [s for s in scopes if s not in ALLOWED_SCOPES]
    if unknown_scopes:
        raise ValueError(
            f"XERO_PANEL_SCOPES asks for {unknown_scopes[0]}, which the panel does not use:"
            f" it may ask only for {', '.join(sorted(ALLOWED_SCOPES))}."
        )
    plain_http_ok = bool(config.get("DEBUG") or config.get("TESTING"))
    for key in XERO_URL_KEYS:
        _require_https(key, config[key], plain_http_ok)

    return Settings(
        client_id=_text("XERO_PANEL_CLIENT_ID", config["XERO_PANEL_CLIENT_ID"]),
        client_secret=_text("XERO_PANEL_CLIENT_SECRET", config["XERO_PANEL_CLIENT_SECRET"]),
        encryption_keys=_fernet_keys(config["XERO_PANEL_ENCRYPTION_KEYS"]),
        scopes=scopes,
        redirect_uri=_optional_url("XERO_PANEL_REDIRECT_URI", config["XERO_PANEL_REDIRECT_URI"]),
        login_url=_url("XERO_PANEL_LOGIN_URL", config["XERO_PANEL_LOGIN_URL"]),
        identity_url=_url("XERO_PANEL_IDENTITY_URL", config["XERO_PANEL_IDENTITY_URL"]),
        api_url=_url("XERO_PANEL_API_URL", config["XERO_PANEL_API_URL"]),
        deep_link_url=_url("XERO_PANEL_DEEP_LINK_URL", config["XERO_PANEL_DEEP_LINK_URL"]),
        url_prefix=_prefix(config["XERO_PANEL_URL_PREFIX"]),
        htmx_url=_htmx_url(config["XERO_PANEL_HTMX_URL"]),
        cache_ttl=_int("XERO_PANEL_CACHE_TTL", config["XERO_PANEL_CACHE_TTL"], minimum=0),
        page_size=_int("XERO_PANEL_PAGE_SIZE", config["XERO_PANEL_PAGE_SIZE"], 1, 200),
        sync_page_size=_int(
            "XERO_PANEL_SYNC_PAGE_SIZE", config["XERO_PANEL_SYNC_PAGE_SIZE"], 1, 1000
        ),
        redis_url=_optional_redis_url(config["XERO_PANEL_REDIS_URL"]),
        rq_queue=_text("XERO_PANEL_RQ_QUEUE", config["XERO_PANEL_RQ_QUEUE"]),
        webhook_key=_optional_text("XERO_PANEL_WEBHOOK_KEY", config["XERO_PANEL_WEBHOOK_KEY"]),
        rate_limit_per_minute=_int(
            "XERO_PANEL_RATE_LIMIT_PER_MINUTE", config["XERO_PANEL_RATE_LIMIT_PER_MINUTE"], 1, 60
        ),
        rate_limit_concurrent=_int(
            "XERO_PANEL_RATE_LIMIT_CONCURRENT", config["XERO_PANEL_RATE_LIMIT_CONCURRENT"], 1, 5
        ),
        rate_limit_per_day=_int(
            "XERO_PANEL_RATE_LIMIT_PER_DAY", config["XERO_PANEL_RATE_LIMIT_PER_DAY"], 1, 5000
        ),
        http_timeout=_float("XERO_PANEL_HTTP_TIMEOUT", config["XERO_PANEL_HTTP_TIMEOUT"]),
        default_locale=_locale(config["XERO_PANEL_DEFAULT_LOCALE"]),
        redis_prefix=_text("XERO_PANEL_REDIS_PREFIX", config["XERO_PANEL_REDIS_PREFIX"]),
        sync_wait=_float("XERO_PANEL_SYNC_WAIT", config["XERO_PANEL_SYNC_WAIT"]),
        reconcile_interval=_int(
            "XERO_PANEL_RECONCILE_INTERVAL", config["XERO_PANEL_RECONCILE_INTERVAL"], minimum=0
        ),
        frame_ancestors=frame_ancestors(config["XERO_PANEL_FRAME_ANCESTORS"]),
        payment_behaviour=_bool(
            "XERO_PANEL_PAYMENT_BEHAVIOUR", config["XERO_PANEL_PAYMENT_BEHAVIOUR"]
        ),
        xero_configured=xero_configured,
        budgets=read_budget_settings(config),
        fragments=read_fragment_settings(config),
    )


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, not {value!r}.")
    return value.strip()


def _optional_text(key: str, value: Any) -> str | None:
    return None if value is None or value == "" else _text(key, value)


def _words(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        words = value.replace(",", " ").split()
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        words = [v.strip() for v in value if v.strip()]
    else:
        raise ValueError(f"{key} must be a string or a list of strings, not {value!r}.")
    if not words:
        raise ValueError(f"{key} must not be empty.")
    return words


def _fernet_keys(value: Any) -> tuple[str, ...]:
    keys = _words("XERO_PANEL_ENCRYPTION_KEYS", value)
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "XERO_PANEL_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe"
                " base64-encoded bytes). Make one with Fernet.generate_key()."
            ) from exc
    return tuple(keys)


def _url(key: str, value: Any) -> str:
    text = _text(key, value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{key} must be an http(s) URL, not {value!r}.")
    return text.rstrip("/")


def _require_https(key: str, value: Any, plain_http_ok: bool) -> None:
    parts = urlsplit(str(value).strip())
    if parts.scheme != "http" or plain_http_ok or _loopback(parts.hostname):
        return
    raise ValueError(
        f"{key} must be an https URL, not {value!r}: tokens and invoices must not cross the"
        " network in plain text (http is allowed only to a loopback address, or when the"
        " app runs in debug or testing)."
    )


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _optional_url(key: str, value: Any) -> str | None:
    return None if value is None or value == "" else _url(key, value)


def _optional_redis_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = _text("XERO_PANEL_REDIS_URL", value)
    if urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"XERO_PANEL_REDIS_URL must be a redis:// URL, not {value!r}.")
    return text


def _prefix(value: Any) -> str:
    text = _text("XERO_PANEL_URL_PREFIX", value)
    if not text.startswith("/") or "//" in text or "?" in text:
        raise ValueError(f"XERO_PANEL_URL_PREFIX must be a path starting with /, not {value!r}.")
    return text.rstrip("/") or "/"


def _htmx_url(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    if value == "":
        return ""
    return _url("XERO_PANEL_HTMX_URL", value) if "://" in str(value) else _path(value)


def _path(value: Any) -> str:
    text = _text("XERO_PANEL_HTMX_URL", value)
    if not text.startswith("/"):
        raise ValueError(
            f"XERO_PANEL_HTMX_URL must be a URL, an absolute path, '' or 'none', not {value!r}."
        )
    return text


def _bool(key: str, value: Any) -> bool:
    if (word := str(value).strip().lower()) not in ("true", "1", "on", "false", "0", "off"):
        raise ValueError(f"{key} must be true or false (or 1/0, on/off), not {value!r}.")
    return word in ("true", "1", "on")


def _float(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number of seconds, not {value!r}.") from None
    if not number > 0:
        raise ValueError(f"{key} must be more than 0 seconds, not {value!r}.")
    return number


def _locale(value: Any) -> str:
    from babel import Locale, UnknownLocaleError

    text = _text("XERO_PANEL_DEFAULT_LOCALE", value)
    try:
        Locale.parse(text.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise ValueError(
            f"XERO_PANEL_DEFAULT_LOCALE is not a locale Babel knows: {value!r}."
        ) from None
    return text.replace("-", "_")
