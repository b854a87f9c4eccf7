from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy

from tests.conftest import HostApp, base_config
from xero_panel import CRMRecord, XeroPanel
from xero_panel.config import DEFAULTS
from xero_panel.models import Base
from xero_panel.state import get_state
from xero_panel.sync.runners import ThreadRunner
from xero_panel.sync.scheduler import SyncScheduler


def bare_app(tmp_path: Any, **config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask(__name__)
    app.config.update(base_config(f"sqlite:///{tmp_path}/x.db"))
    app.config.update(config)
    db = SQLAlchemy(app)
    return app, db


def test_init_app_sets_every_default(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    XeroPanel(app, db=db)
    for key, value in DEFAULTS.items():
        if key not in base_config(""):
            assert app.config[key] == value


def test_init_app_state_in_extensions_not_on_object(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    panel = XeroPanel(app, db=db)
    assert get_state(app).panel is panel
    assert not hasattr(panel, "app")


def test_init_app_wires_the_scheduler_to_the_backends(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path, XERO_PANEL_CACHE_TTL=7, XERO_PANEL_SYNC_PAGE_SIZE=50)
    XeroPanel(app, db=db)
    state = get_state(app)
    scheduler = state.scheduler
    assert isinstance(scheduler, SyncScheduler)
    assert scheduler.locks is state.backends.locks
    assert isinstance(scheduler.runner, ThreadRunner)
    assert (scheduler.ttl, scheduler.jobs.page_size) == (7.0, 50)
    assert "xero-panel" in app.cli.commands
    assert any(rule.endpoint == "xero_panel.webhook" for rule in app.url_map.iter_rules())


def test_every_client_of_an_app_counts_in_the_one_counter(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    XeroPanel(app, db=db)
    state = get_state(app)
    first, second = state.client_for(1), state.client_for(2)
    assert first.counter is second.counter is state.backends.counter
    assert first.budget is state.backends.budget


def test_a_full_sync_waits_a_whole_window_for_the_budget_other_syncs_do_not(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full sync (or a reconciliation) faster than 60 calls a minute must wait for room,
    up to the budget's whole window, rather than fail at its 61st call; the syncs a view
    starts keep the client's short wait, so the view can say Xero's limit was reached."""
    from xero_panel.models import Connection, Organisation
    from xero_panel.sync import job_runs
    from xero_panel.xero.client import MAX_WAIT
    from xero_panel.xero.rate_budget import ARRIVAL_MARGIN, BACKGROUND_MAX_WAIT

    app, db = bare_app(tmp_path)
    XeroPanel(app, db=db)
    waits: dict[str, float] = {}

    def seen(name: str) -> Any:
        def sync(session: Any, organisation: Any, client: Any, *args: Any, **kw: Any) -> Any:
            waits[name] = client.max_wait
            raise RuntimeError("stop here")

        return sync

    for name in ("full_sync", "reconcile", "incremental_sync"):
        monkeypatch.setattr(job_runs.engine, name, seen(name))
    with app.app_context():
        db.create_all()
        connection = Connection(crm_account="acme", status="active")
        db.session.add(connection)
        db.session.flush()
        db.session.add(Organisation(connection=connection, tenant_id="t", name="Org"))
        db.session.commit()
        scheduler = get_state(app).scheduler
        assert isinstance(scheduler, SyncScheduler)
        runs = (scheduler.run_full_sync, scheduler.jobs.run_reconcile, scheduler.run_incremental)
        for run in runs:
            with pytest.raises(RuntimeError, match="stop here"):
                run(1)
    assert waits == {
        "full_sync": BACKGROUND_MAX_WAIT,
        "reconcile": BACKGROUND_MAX_WAIT,
        "incremental_sync": MAX_WAIT,
    }
    assert BACKGROUND_MAX_WAIT > 60 + ARRIVAL_MARGIN > MAX_WAIT


def test_init_app_twice_refused(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    panel = XeroPanel(app, db=db)
    with pytest.raises(RuntimeError) as error:
        panel.init_app(app)
    assert str(error.value) == (
        "A 'xero_panel' extension is already registered on this app; call init_app once per app."
    )


def test_init_app_missing_key_fails_at_start(tmp_path: Any) -> None:
    # Outside TESTING: a host's own tests may start without it (tests/test_credentials.py).
    app, db = bare_app(tmp_path, XERO_PANEL_CLIENT_ID=None, TESTING=False)
    with pytest.raises(RuntimeError, match=r"^XERO_PANEL_CLIENT_ID is not set"):
        XeroPanel(app, db=db)


def test_init_app_bad_value_fails_at_start(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path, XERO_PANEL_CACHE_TTL="never")
    with pytest.raises(ValueError, match=r"^XERO_PANEL_CACHE_TTL must be a whole number"):
        XeroPanel(app, db=db)


def test_constructor_requires_db() -> None:
    with pytest.raises(TypeError, match=r"XeroPanel needs the host's db"):
        XeroPanel(db=None)  # type: ignore[arg-type]


def test_get_state_without_init_app_asks_for_it() -> None:
    app = Flask(__name__)
    with app.app_context(), pytest.raises(RuntimeError) as error:
        get_state()
    assert "did you call XeroPanel.init_app(app)?" in str(error.value)


def test_two_apps_one_process_keep_their_own_settings(tmp_path: Any) -> None:
    db = SQLAlchemy()
    panel = XeroPanel(db=db)
    first = Flask("first", root_path=str(tmp_path))
    first.config.update(base_config(f"sqlite:///{tmp_path}/a.db"))
    second = Flask("second", root_path=str(tmp_path))
    second.config.update(base_config(f"sqlite:///{tmp_path}/b.db"))
    second.config.update(XERO_PANEL_URL_PREFIX="/xero", XERO_PANEL_CACHE_TTL=5)
    for app in (first, second):
        db.init_app(app)
        panel.init_app(app)
    assert get_state(first).settings.cache_ttl == 60
    assert get_state(second).settings.cache_ttl == 5
    assert [r.rule for r in first.url_map.iter_rules() if r.endpoint == "xero_panel.panel"] == [
        "/integrations/xero/panel/<record_type>/<record_id>"
    ]
    assert [r.rule for r in second.url_map.iter_rules() if r.endpoint == "xero_panel.panel"] == [
        "/xero/panel/<record_type>/<record_id>"
    ]


def test_init_app_mirrors_tables_into_host_metadata(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    XeroPanel(app, db=db)
    assert set(Base.metadata.tables) <= set(db.metadata.tables)
    with app.app_context():
        db.create_all()
        from sqlalchemy import inspect

        assert "xero_panel_invoice" in inspect(db.engine).get_table_names()


def widget_html(host: HostApp, source: str, user: str = "rep-acme") -> str:
    with host.app.test_request_context("/contacts/1"):
        return render_template_string(source)


def test_widget_renders_lazy_container(host: HostApp) -> None:
    html = widget_html(host, '{{ xero_panel_widget("contact", 42) }}')
    assert re.search(
        r'<section[^>]* data-xero-panel data-record-type="contact" data-record-id="42"', html
    )
    assert 'hx-get="/integrations/xero/panel/contact/42"' in html
    assert 'hx-trigger="load"' in html


def test_widget_sends_assets_once_per_page(host: HostApp) -> None:
    html = widget_html(
        host, '{{ xero_panel_widget("contact", 1) }}{{ xero_panel_widget("account", 2) }}'
    )
    assert html.count("xero_panel/panel.css") == 1
    assert html.count('<script src="/integrations/xero/static/xero_panel/htmx.min.js"') == 1


def test_widget_htmx_none_loads_no_script(make_host: Any, tmp_path: Any) -> None:
    host = make_host(f"sqlite:///{tmp_path}/h.db", XERO_PANEL_HTMX_URL="none")
    html = widget_html(host, '{{ xero_panel_widget("deal", 7) }}')
    assert "htmx" not in html
    assert "panel.css" in html


def test_widget_htmx_url_used_when_configured(make_host: Any, tmp_path: Any) -> None:
    host = make_host(
        f"sqlite:///{tmp_path}/h.db", XERO_PANEL_HTMX_URL="https://cdn.example.test/htmx.js"
    )
    html = widget_html(host, '{{ xero_panel_widget("deal", 7) }}')
    assert '<script src="https://cdn.example.test/htmx.js"' in html


def test_widget_heading_is_h2_by_default_and_sends_no_header(host: HostApp) -> None:
    html = widget_html(host, '{{ xero_panel_widget("contact", 42) }}')
    assert '<h2 class="xp-title" id="xp-title-contact-42">Xero invoices</h2>' in html
    assert "X-Xero-Panel-Heading" not in html


def test_widget_heading_relevelled_and_hidden(host: HostApp) -> None:
    html = widget_html(
        host, '{{ xero_panel_widget("contact", 42, heading_level=4, show_heading=False) }}'
    )
    assert '<h4 class="xp-title xp-visually-hidden" id="xp-title-contact-42">' in html
    assert """hx-headers='{"X-Xero-Panel-Heading": "4 hidden"}'""" in html


def test_widget_heading_level_checked(host: HostApp) -> None:
    with host.app.test_request_context("/"), pytest.raises(ValueError) as error:
        render_template_string('{{ xero_panel_widget("contact", 1, heading_level=1) }}')
    assert str(error.value) == "xero_panel_widget: heading_level must be 2 to 6, not 1."


def test_widget_unknown_record_type_refused(host: HostApp) -> None:
    with host.app.test_request_context("/"), pytest.raises(ValueError) as error:
        render_template_string('{{ xero_panel_widget("invoice", 1) }}')
    assert str(error.value) == (
        "xero_panel_widget: record_type must be one of contact, account, deal, not 'invoice'."
    )


def test_widget_escapes_record_id(host: HostApp) -> None:
    html = widget_html(host, """{{ xero_panel_widget("contact", '"><script>x</script>') }}""")
    assert "<script>x</script>" not in html


def test_bundled_htmx_served_from_blueprint_static(host: HostApp) -> None:
    response = host.client().get("/integrations/xero/static/xero_panel/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data
    response.close()


@pytest.mark.parametrize(
    ("query", "shown"), [("", True), ("xero", True), ("XERO inv", True), ("slack", False)]
)
def test_marketplace_card_filtered_by_query(host: HostApp, query: str, shown: bool) -> None:
    with host.app.test_request_context("/settings/marketplace"):
        html = render_template_string("{{ xero_panel_marketplace_card(q) }}", q=query)
    assert ('data-testid="xero-card"' in html) is shown


def test_record_loader_must_return_crm_record(host: HostApp) -> None:
    host.panel.record_loader(lambda record_type, record_id: {"name": "dict"})
    with pytest.raises(TypeError, match=r"must return a xero_panel\.CRMRecord or None"):
        host.client("rep-acme").get("/integrations/xero/panel/contact/1")


def test_missing_record_loader_named_in_error(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    panel = XeroPanel(app, db=db)
    with app.test_request_context("/"), pytest.raises(RuntimeError) as error:
        panel.load_record("contact", "1")
    assert str(error.value) == (
        "xero-panel has no record loader: decorate a function with @panel.record_loader."
    )


def test_missing_account_resolver_named_in_error(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    panel = XeroPanel(app, db=db)
    with (
        app.test_request_context("/"),
        pytest.raises(RuntimeError, match=r"@panel\.account_resolver"),
    ):
        panel.current_account()


def test_admin_check_defaults_to_false(tmp_path: Any) -> None:
    app, db = bare_app(tmp_path)
    assert XeroPanel(app, db=db).is_admin() is False


def test_locale_selector_falls_back_to_default(host: HostApp) -> None:
    with host.app.test_request_context("/"):
        assert host.panel.current_locale() == "en"
        host.panel.locale_selector(lambda: "en_NZ")
        assert host.panel.current_locale() == "en_NZ"


def test_crm_record_normalises_sequences() -> None:
    record = CRMRecord("Deal", emails=["a@x.test", ""], contacts=[CRMRecord("C")])
    assert record.emails == ("a@x.test",)
    assert record.contacts == (CRMRecord("C"),)


def test_link_permission_defaults_to_admin_check(host: HostApp) -> None:
    with host.app.test_request_context("/"):
        host.panel.admin_check(lambda: True)
        assert host.panel.may_link() is True
        host.panel.link_permission(lambda: False)
        assert host.panel.may_link() is False
