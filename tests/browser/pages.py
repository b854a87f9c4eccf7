"""Steps the browser tests share: open a record's page and wait for its panel, fill the
demo's cache with the plugin's own sync, find the demo account with the most invoices."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from demo.live import LiveDemo

ROW = "[data-xero-panel] [data-testid=invoice-row]"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any, include: list[str] | None = None) -> list[Any]:
    """axe-core's WCAG violations on the page (or inside ``include``'s selectors). axe is
    evaluated by the driver, not added as a script element, so it runs under any policy."""
    if not AXE.exists():  # pragma: no cover - npm ci installs it
        raise AssertionError(f"axe-core is not installed at {AXE}: run npm ci")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (include) => {
            const r = await axe.run(include ? {include: include.map(s => [s])} : document,
                                    {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target)}));
        }""",
        include,
    )
    return list(result)


@dataclass(frozen=True)
class Demo:
    url: str
    #: The demo account whose Xero customer has the most listed invoices (more than a page).
    big_account: int
    live: LiveDemo


def sync_acme(live_demo: LiveDemo) -> None:
    import demo_app
    from xero_panel.connections import selected_organisations
    from xero_panel.models import SyncState
    from xero_panel.state import get_state

    app = live_demo.app
    with app.app_context():
        (organisation,) = selected_organisations(demo_app.db.session, "acme")
        organisation_id = organisation.id
        scheduler = get_state(app).scheduler
        run_full_sync = getattr(scheduler, "run_full_sync", None)
        if run_full_sync is None:  # no sync wired in: fill the cache from the seed
            from tests.panel_fixtures import load_tenant

            tenant = live_demo.emulator_seed_tenant(organisation.tenant_id)  # pragma: no cover
            load_tenant(demo_app.db.session, organisation, tenant)  # pragma: no cover
            demo_app.db.session.commit()  # pragma: no cover
            return  # pragma: no cover
        run_full_sync(organisation_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # another test's panel view may have started it
        with app.app_context():
            state = demo_app.db.session.get(SyncState, organisation_id)
            if state is not None and state.full_sync_completed_at is not None:
                return
        time.sleep(0.2)
    raise AssertionError("the first sync of Acme's organisation did not finish in 30 s")


def big_account(live_demo: LiveDemo) -> int:
    import demo_app
    from xero_panel.models import Invoice, XeroContact

    with live_demo.app.app_context():
        session = demo_app.db.session
        name = session.execute(
            select(XeroContact.name)
            .join(Invoice, Invoice.contact_id == XeroContact.contact_id)
            .where(Invoice.xero_type == "ACCREC", Invoice.status.in_(("AUTHORISED", "PAID")))
            .group_by(XeroContact.name)
            .order_by(func.count(Invoice.id).desc())
            .limit(1)
        ).scalar_one()
        account = session.scalars(
            select(demo_app.Account).where(demo_app.Account.name == name)
        ).first()
        assert account is not None, name
        return int(account.id)


def open_account(page: Any, demo: Demo, query: str = "") -> None:
    page.goto(f"{demo.url}/accounts/{demo.big_account}{query}")
    page.wait_for_selector(ROW)


def open_first(page: Any, live_demo: LiveDemo, record_type: str) -> None:
    page.goto(f"{live_demo.url}/{record_type}s")
    page.click(f'[data-testid="record-link"][data-record-type="{record_type}"] >> nth=0')
    page.wait_for_selector(
        "[data-xero-panel]:not([aria-busy]) :is([data-testid=panel-notice],"
        " [data-testid=panel-error], [data-testid=panel-empty], [data-testid=invoice-row])"
    )
