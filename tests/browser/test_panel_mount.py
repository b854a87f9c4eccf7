"""Panels in markup made after page load: htmx.process() on inserted widget HTML, and
xeroPanel.mount() for markup built in JavaScript (the README's "Panels in markup made after
page load")."""

from __future__ import annotations

from tests.browser.conftest import LiveDemo, Page, log_in
from tests.browser.pages import open_first

LOADED = "section[data-xero-panel]:not([aria-busy]) [data-testid=invoice-row]"
#: The host fetches a server-rendered fragment holding a widget and inserts it itself, in
#: a new element with the given id; with ``process`` it then hands it to ``htmx.process()``.
INSERT_WIDGET_HTML = """async ([url, process, id]) => {
    const html = await (await fetch(url)).text();
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const holder = document.createElement('div');
    holder.id = id;
    holder.append(doc.querySelector('section[data-xero-panel]'));
    document.body.appendChild(holder);
    if (process) window.htmx.process(holder); }"""


def open_account(page: Page, live_demo: LiveDemo) -> None:
    """A rep signed in, on the first account's page with its panel loaded."""
    log_in(page.page, live_demo.url, "rep@acme.test")
    open_first(page.page, live_demo, "account")


def insert_widget_html(page: Page, url: str, *, process: bool, into: str = "late") -> None:
    page.page.evaluate(INSERT_WIDGET_HTML, [url, process, into])


def test_mount_builds_and_loads_a_panel_from_javascript(page: Page, live_demo: LiveDemo) -> None:
    open_account(page, live_demo)
    record_id = page.page.locator("section[data-xero-panel]").get_attribute("data-record-id")
    page.page.evaluate(
        """(id) => { const modal = document.createElement('div');
        modal.id = 'late'; document.body.appendChild(modal);
        window.xeroPanel.mount(modal, 'account', id); }""",
        record_id,
    )
    page.page.wait_for_selector(f"#late {LOADED}")
    late = page.page.locator("#late section[data-xero-panel]")
    assert late.get_attribute("data-record-type") == "account"
    assert late.get_attribute("data-record-id") == record_id
    assert page.page.locator("#late [data-testid=invoice-row]").count() > 0
    assert page.errors == []


def test_htmx_process_loads_widget_html_inserted_by_the_host(
    page: Page, live_demo: LiveDemo
) -> None:
    open_account(page, live_demo)
    insert_widget_html(page, page.page.url, process=True)
    page.page.wait_for_selector(f"#late {LOADED}")
    assert page.errors == []


def test_without_process_inserted_widget_html_stays_loading(
    page: Page, live_demo: LiveDemo
) -> None:
    """Why the call is documented: htmx does not see markup it did not insert. The same
    markup does load once handed to htmx.process(), so the call is what was missing."""
    p = page.page
    open_account(page, live_demo)
    panel_gets: list[str] = []
    p.on("request", lambda r: panel_gets.append(r.url) if "/panel/account/" in r.url else None)
    insert_widget_html(page, p.url, process=False, into="late")
    # A copy inserted afterwards and processed loads. Requests are reported in the order
    # they are made, so by then a load of the first copy would have been seen.
    insert_widget_html(page, p.url, process=True, into="processed")
    p.wait_for_selector(f"#processed {LOADED}")
    assert len(panel_gets) == 1
    assert p.locator("#late section[data-xero-panel][aria-busy] .xp-loading").count() == 1
    p.evaluate("window.htmx.process(document.getElementById('late'))")
    p.wait_for_selector(f"#late {LOADED}")
    assert len(panel_gets) == 2
    assert page.errors == []
