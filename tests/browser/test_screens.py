"""What a rep sees on the panel in the demo (issue 23): what an empty ageing bucket says,
the address bar after a bad date range, Refresh's "Updated just now" said once, a live
update's highlight on the whole row, and ageing amounts inside their boxes."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Page, log_in
from tests.browser.pages import ROW, Demo, open_account

PANEL = "[data-xero-panel]"
AGE_PHRASES = {
    "current": "not yet due",
    "1-30": "1 to 30 days overdue",
    "31-60": "31 to 60 days overdue",
    "61-90": "61 to 90 days overdue",
    "90+": "over 90 days overdue",
}


def wait_settled(page: Any) -> None:
    page.wait_for_function("!document.querySelector('.htmx-request')")
    page.wait_for_timeout(150)


def test_an_empty_ageing_bucket_says_so_without_a_search(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo)
    empty = p.locator(f"{PANEL} .xp-age[data-count='0']")
    buckets = [b for b in AGE_PHRASES if p.locator(f"{PANEL} .xp-age[data-bucket='{b}']").count()]
    if not empty.count():
        # Every bucket has invoices: open one in the Paid view, where none is unpaid.
        p.goto(f"{demo.url}/accounts/{demo.big_account}?xp_view=paid&xp_age={buckets[0]}")
        bucket = buckets[0]
    else:
        bucket = str(empty.first.get_attribute("data-bucket"))
        empty.first.click()
    p.wait_for_selector(f"{PANEL} [data-testid=panel-empty]")
    text = p.locator(f"{PANEL} [data-testid=panel-empty]").inner_text()
    assert "search or date range" not in text
    assert AGE_PHRASES[bucket] in text
    assert page.errors == []


def test_a_bad_date_range_stays_in_the_address_bar(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo, "?xp_view=all")
    day = str(p.locator(ROW).first.get_attribute("data-date"))
    open_account(p, demo, f"?xp_view=all&xp_from={day}&xp_to={day}")
    p.fill(f"{PANEL} [data-testid=date-from]", "2021-03-02")
    p.fill(f"{PANEL} [data-testid=date-to]", "2021-03-01")
    p.click(f"{PANEL} [data-testid=date-apply]")
    p.wait_for_selector(f"{PANEL} [data-testid=panel-error]")
    wait_settled(p)
    error = p.locator(f"{PANEL} [data-testid=panel-error]").inner_text()
    assert "xp_from=2021-03-02" in p.url and "xp_to=2021-03-01" in p.url, p.url
    p.reload()
    p.wait_for_selector(f"{PANEL} [data-testid=panel-error]")
    assert p.locator(f"{PANEL} [data-testid=panel-error]").inner_text() == error
    assert p.locator(ROW).count() == 0


def highlighted(page: Any) -> list[str]:
    """What of the first row a live update's highlight leaves out: each visible part of the
    row whose own colour, or failing that its row's, is not the highlight."""
    page.evaluate(
        "document.querySelector('[data-testid=invoice-row]').setAttribute('data-changed', 'true')"
    )
    page.wait_for_timeout(700)  # the highlight fades in over .4 s
    return list(
        page.evaluate(
            """() => {
            const row = document.querySelector('[data-testid=invoice-row]');
            const want = getComputedStyle(row).getPropertyValue('--xp-changed-bg').trim();
            const probe = document.createElement('span');
            probe.style.color = want; document.body.appendChild(probe);
            const colour = getComputedStyle(probe).color; probe.remove();
            const out = [];
            for (const el of row.querySelectorAll('td, td > *')) {
              if (!el.getClientRects().length || el.closest('[role=tooltip]')) continue;
              let bg = 'rgba(0, 0, 0, 0)';
              for (let e = el; e && e !== row.parentElement; e = e.parentElement) {
                const cs = getComputedStyle(e);  // a box-less element paints no background
                const b = cs.display === 'contents' ? 'rgba(0, 0, 0, 0)' : cs.backgroundColor;
                if (b !== 'rgba(0, 0, 0, 0)' && !e.matches('button')) { bg = b; break; }
              }
              if (bg !== colour) out.push(el.className || el.tagName);
            }
            return out; }"""
        )
    )


def test_a_live_update_highlights_the_whole_row(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    for width in (1280, 420):
        p.set_viewport_size({"width": width, "height": 900})
        open_account(p, demo, "?xp_view=all")
        p.wait_for_timeout(100)
        assert highlighted(p) == [], width


def overflowing_ages(page: Any) -> list[str]:
    """Ageing boxes whose text runs past their own edge."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('.xp-age')].flatMap(box => {
                const cs = getComputedStyle(box);  // the text stays inside the padding
                const edge = box.getBoundingClientRect().right
                    - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
                return [...box.children].filter(c => {
                    const text = document.createRange(); text.selectNodeContents(c);
                    return text.getBoundingClientRect().right > edge + 0.5;
                }).map(c => c.textContent); })"""
        )
    )


def test_ageing_amounts_stay_inside_their_boxes(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    for width in (1280, 1000, 700, 420, 320, 0):
        p.set_viewport_size({"width": width or 1400, "height": 900})
        open_account(p, demo)
        if not width:  # a wide panel (1,256 px), as in a full-width host page
            p.add_style_tag(content="section[data-xero-panel] { width: 1256px !important; }")
        # The largest amounts a box may hold (a big customer's arrears).
        p.evaluate(
            """() => document.querySelectorAll('.xp-age-amount').forEach(
                (a, i) => { a.textContent = i % 2 ? 'NZ$23,139.96' : 'NZ$1,234,567.89'; })"""
        )
        p.wait_for_timeout(100)
        assert p.locator(".xp-age").count() >= 5
        assert overflowing_ages(p) == [], width


def test_invoice_numbers_open_the_emulator_not_real_xero(page: Page, demo: Demo) -> None:
    p = page.page
    log_in(p, demo.url, "rep@acme.test")
    open_account(p, demo)
    link = p.locator(f"{ROW} .xp-cell-number a").first
    number = link.inner_text()
    assert str(link.get_attribute("href")).startswith(demo.live.emulator_url + "/")
    with p.context.expect_page() as opened:
        link.click()
    invoice = opened.value
    invoice.wait_for_load_state()
    assert invoice.locator("[data-testid=document-number]").inner_text() == number
    invoice.close()
