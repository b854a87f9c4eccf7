"""The :class:`XeroPanel` extension object: settings, host hooks, blueprint and Jinja globals."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask

from .assets import check_bundled_htmx
from .backends import make_backends
from .cli import xero_panel_cli
from .config import apply_defaults, read_settings
from .crypto import TokenCipher
from .models import Connection, Organisation, mirror_tables_into
from .records import CRMRecord
from .state import EXTENSION_NAME, PanelState, get_state
from .sync.job_runs import SyncJobs
from .sync.runners import Execute, Runner
from .sync.scheduler import SyncScheduler
from .sync.webhook_mode import WebhookModes
from .sync.webhook_retries import WebhookRetries
from .web import admin_routes, panel_routes, webhook_routes
from .web.blueprint import make_blueprint
from .web.widgets import xero_panel_marketplace_card, xero_panel_widget
from .xero.client import XeroClient

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

RecordLoader = Callable[[str, str], CRMRecord | None]
AccountResolver = Callable[[], str | None]
AdminCheck = Callable[[], bool]
LocaleSelector = Callable[[], str | None]
F = TypeVar("F", bound=Callable[..., Any])


def _make_scheduler(app: Flask, state: PanelState) -> SyncScheduler:
    """The app's :class:`~xero_panel.sync.scheduler.SyncScheduler` and its collaborators, on
    the app's settings and backends, running background work inside the app's context."""
    settings = state.settings

    def client_for(organisation: Organisation) -> XeroClient:
        return state.client_for(organisation.connection_id)

    def make_runner(execute: Execute) -> Runner:
        return state.backends.runner(execute, app.app_context)

    return SyncScheduler(
        session_factory=state.session_factory,
        jobs=SyncJobs(
            session_factory=state.session_factory,
            client_for=client_for,
            locks=state.backends.locks,
            page_size=settings.sync_page_size,
        ),
        webhook_retries=WebhookRetries(session_factory=state.session_factory),
        locks=state.backends.locks,
        make_runner=make_runner,
        context=app.app_context,
        ttl=float(settings.cache_ttl),
        wait=settings.sync_wait,
        reconcile_interval=float(settings.reconcile_interval),
        webhook_modes=WebhookModes.from_config(
            app.config, enabled=settings.webhook_key is not None
        ),
    )


class XeroPanel:
    """The xero-panel Flask extension.

    .. code-block:: python

        db = SQLAlchemy()
        panel = XeroPanel(db=db)

        @panel.record_loader
        def load_record(record_type, record_id):
            ...  # return a CRMRecord, or None when the current user may not see it

        panel.init_app(app)

    The object holds no app: per-app state lives in ``app.extensions["xero_panel"]``, so
    one ``XeroPanel`` can serve several apps. Hooks are registered with decorators and
    may be registered before or after :meth:`init_app`.

    :param app: an app to initialise at once (same as calling :meth:`init_app`).
    :param db: the host's :class:`flask_sqlalchemy.SQLAlchemy`; the plugin's tables are
        added to its metadata and queried through its session.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy) -> None:
        if db is None:
            raise TypeError("XeroPanel needs the host's db: XeroPanel(app, db=db)")
        self.db = db
        self._record_loader: RecordLoader | None = None
        self._account_resolver: AccountResolver | None = None
        self._admin_check: AdminCheck | None = None
        self._locale_selector: LocaleSelector | None = None
        self._link_permission: AdminCheck | None = None
        self._record_lister: Callable[[str], Iterable[tuple[Any, CRMRecord]]] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set the defaults of every ``XERO_PANEL_*`` key, check the config, add the
        plugin's tables to ``db.metadata``, build the backends (Redis or in process) and the
        sync scheduler, register the blueprint at ``XERO_PANEL_URL_PREFIX`` (exempting its
        webhook from the host's CSRF check), the ``flask xero-panel`` commands, and the
        Jinja globals ``xero_panel_widget`` and ``xero_panel_marketplace_card``.

        :raises RuntimeError: the extension is already registered on this app, a
            required key is missing, or the bundled htmx it would serve is missing.
        :raises ValueError: a key is unknown or has a bad value (the message names it).
        """
        if EXTENSION_NAME in app.extensions:
            raise RuntimeError(
                "A 'xero_panel' extension is already registered on this app;"
                " call init_app once per app."
            )
        apply_defaults(app.config)
        settings = read_settings(app.config)
        check_bundled_htmx(settings.htmx_url)
        mirror_tables_into(self.db.metadata)
        state = PanelState(
            panel=self,
            settings=settings,
            cipher=TokenCipher(settings.encryption_keys),
            backends=make_backends(settings, engine=lambda: self.db.engine),
        )
        state.scheduler = _make_scheduler(app, state)
        app.extensions[EXTENSION_NAME] = state

        blueprint = make_blueprint()
        panel_routes.register(blueprint)
        admin_routes.register(blueprint)
        webhook_routes.register(blueprint)
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
        webhook_routes.exempt_from_csrf(app)
        app.cli.add_command(xero_panel_cli)
        app.add_template_global(xero_panel_widget)
        app.add_template_global(xero_panel_marketplace_card)

    def store_connection(
        self,
        crm_account: str,
        token: dict[str, Any],
        *,
        tenant_ids: Iterable[str] | None = None,
        activate: bool = True,
    ) -> Connection:
        """Store a Xero token response as the CRM account's connection and commit.

        The OAuth callback uses it; so can a host that obtained tokens another way (the
        demo connects its first CRM account with it). It asks Xero for the grant's
        organisations; ``tenant_ids`` chooses which of them feed the panel (default all).
        With ``activate`` (the default) the first sync of each chosen organisation starts in
        the background, as the admin's *Save* does. Must run inside an app context.
        """
        return (
            get_state()
            .connect_flow()
            .store(self.db.session(), crm_account, token, tenant_ids=tenant_ids, activate=activate)
        )

    # -- host hooks ---------------------------------------------------------------

    def record_loader(self, func: F) -> F:
        """Register the function that tells the plugin what a CRM record is.

        It is called as ``func(record_type, record_id)`` with ``record_type`` one of
        ``"contact"``, ``"account"``, ``"deal"`` and ``record_id`` a string from the URL,
        inside the request of the user viewing it. Return a :class:`~xero_panel.CRMRecord`,
        or ``None`` when the record does not exist or the current user may not see it
        (the panel then answers 404).
        """
        self._record_loader = func
        return func

    def account_resolver(self, func: F) -> F:
        """Register the function that returns the current user's CRM account key.

        A CRM account is the host's tenant (a company using the CRM); it owns one Xero
        connection and sees only its own data. Return a string (for example the account's
        id or slug), or ``None`` when there is no current account.
        """
        self._account_resolver = func
        return func

    def admin_check(self, func: F) -> F:
        """Register the function that says whether the current user administers their CRM
        account (may install, test, refresh and remove the Xero connection)."""
        self._admin_check = func
        return func

    def locale_selector(self, func: F) -> F:
        """Optionally register a function returning the locale (``"en_NZ"``) used to
        format money and dates for the current user; ``None`` falls back to
        ``XERO_PANEL_DEFAULT_LOCALE``."""
        self._locale_selector = func
        return func

    def link_permission(self, func: F) -> F:
        """Optionally register a function that says whether the current user may link a
        CRM record to a Xero contact by hand (the *Link Xero contact* control). Without
        it, admins may."""
        self._link_permission = func
        return func

    def record_lister(self, func: F) -> F:
        """Optionally register a function that lists the current CRM account's records of a
        type, for the match coverage on the admin's health page.

        It is called as ``func(record_type)`` with ``record_type`` ``"contact"`` or
        ``"account"``, inside the admin's request, and returns an iterable of
        ``(record_id, CRMRecord)`` pairs. Without it, the health page says the coverage
        cannot be shown and shows everything else.

        .. versionadded:: 0.2
        """
        self._record_lister = func
        return func

    # -- calling the hooks (inside a request) ----------------------------------------

    def list_records(self, record_type: str) -> list[tuple[str, CRMRecord]] | None:
        """Call the record lister; ``None`` when the host registered none.

        :meta private:
        """
        if self._record_lister is None:
            return None
        return [(str(rid), record) for rid, record in self._record_lister(record_type)]

    def load_record(self, record_type: str, record_id: str) -> CRMRecord | None:
        """Call the record loader.

        :meta private:
        """
        if self._record_loader is None:
            raise RuntimeError(
                "xero-panel has no record loader: decorate a function with @panel.record_loader."
            )
        record = self._record_loader(record_type, record_id)
        if record is not None and not isinstance(record, CRMRecord):
            raise TypeError(
                f"The record loader returned {type(record).__name__}; it must return a"
                " xero_panel.CRMRecord or None."
            )
        return record

    def current_account(self) -> str | None:
        """Call the CRM-account resolver.

        :meta private:
        """
        if self._account_resolver is None:
            raise RuntimeError(
                "xero-panel has no account resolver: decorate a function with"
                " @panel.account_resolver."
            )
        account = self._account_resolver()
        return None if account is None or account == "" else str(account)

    def is_admin(self) -> bool:
        """Call the admin check (``False`` when none is registered).

        :meta private:
        """
        return bool(self._admin_check()) if self._admin_check is not None else False

    def may_link(self) -> bool:
        """Call the link permission hook (default: the admin check).

        :meta private:
        """
        if self._link_permission is not None:
            return bool(self._link_permission())
        return self.is_admin()

    def current_locale(self) -> str:
        """The locale for formatting.

        :meta private:
        """
        chosen = self._locale_selector() if self._locale_selector is not None else None
        return chosen or get_state().settings.default_locale
