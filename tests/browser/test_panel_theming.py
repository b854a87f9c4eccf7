"""The panel's look survives a host's CSS, and the panel's CSS leaves the host's alone.

A real panel (rendered by the demo, with invoices, totals, views, filters and the payments
tooltip) is placed in static pages with and without a host framework's reset: Tailwind's
preflight and Bootstrap 5's reboot (from npm, package-lock.json). Every element's computed
style must be the same either way (the font family excepted: the panel inherits the host's
on purpose); and host markup must compute the same with and without the panel's stylesheet.
Then the theme, which follows the host page (its color-scheme, class or data attribute; the
system only when the host opts in), the host's custom properties and the borderless variant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveDemo, Page, log_in
from tests.browser.pages import open_first

ROOT = Path(__file__).resolve().parents[2]
PANEL_CSS = (ROOT / "xero_panel/static/xero_panel/panel.css").read_text()
HOST_CSS = {
    "tailwind-preflight": ROOT / "node_modules/tailwindcss/preflight.css",
    "bootstrap-reboot": ROOT / "node_modules/bootstrap/dist/css/bootstrap.min.css",
}
SIDES = ("top", "right", "bottom", "left")
PROPERTIES = [
    "font-size", "font-weight", "font-style", "line-height", "color", "background-color",
    "text-align", "text-decoration-line", "text-transform", "letter-spacing", "display",
    "float", "list-style-type", "vertical-align", "white-space",
    *(f"{box}-{side}" for box in ("margin", "padding") for side in SIDES),
    *(f"border-{s}-{w}" for s in ("top", "bottom") for w in ("width", "style", "color")),
]  # fmt: skip
# Host markup of the kinds a reset styles, to check that nothing of ours reaches it.
HOST_MARKUP = """
<main id="host"><h1>Customer</h1><h2>Details</h2><p>Text with <a href="#">a link</a>.</p>
<ul><li>one</li></ul><table><thead><tr><th>A</th></tr></thead><tbody><tr><td>1</td></tr>
</tbody></table><form><fieldset><legend>Dates</legend><label>From <input></label></fieldset>
<button type="button">Save</button></form><div class="card"><div class="card-body">Card</div>
</div><section><h2 class="title">Title</h2></section></main>
"""
# A border's style and colour show only where its width is not 0, so they count only there.
STYLES_JS = """([selector, props]) => Array.from(document.querySelectorAll(selector)).map(
  (el, i) => { const cs = getComputedStyle(el);
    const shown = p => !/^border-(top|bottom)-(style|color)$/.test(p)
      || cs.getPropertyValue(p.replace(/-(style|color)$/, '-width')) !== '0px';
    return [i + ' ' + el.tagName + '.' + el.className,
            props.map(p => p + ': ' + (shown(p) ? cs.getPropertyValue(p) : '(no border)'))]; })"""


@pytest.fixture(scope="module")
def panel_html(browser: Any, live_demo: LiveDemo) -> str:
    """The outer HTML of a loaded panel with rows, from the demo."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        log_in(page, live_demo.url, "rep@acme.test")
        open_first(page, live_demo, "account")
        page.wait_for_selector("[data-testid=invoice-row]")
        html: str = page.locator("section[data-xero-panel]").evaluate("e => e.outerHTML")
        return html
    finally:
        context.close()


def static_page(page: Any, body: str, *css: str, html_class: str = "") -> None:
    styles = "".join(f"<style>{c}</style>" for c in css)
    page.set_content(
        f'<!doctype html><html class="{html_class}"><head>{styles}</head><body>{body}</body></html>'
    )


def styles(page: Any, selector: str) -> list[Any]:
    result: list[Any] = page.evaluate(STYLES_JS, [selector, PROPERTIES])
    return result


@pytest.mark.parametrize("framework", sorted(HOST_CSS))
def test_host_reset_changes_nothing_in_the_panel(
    page: Page, panel_html: str, framework: str
) -> None:
    host_css = HOST_CSS[framework].read_text()
    static_page(page.page, panel_html, PANEL_CSS)
    alone = styles(page.page, "[data-xero-panel], [data-xero-panel] *")
    static_page(page.page, panel_html, host_css, PANEL_CSS)
    under_host = styles(page.page, "[data-xero-panel], [data-xero-panel] *")
    assert len(alone) > 100  # rows, totals, views, filters, tooltips
    differences = [
        (element, a, b)
        for (element, props_a), (_, props_b) in zip(alone, under_host, strict=True)
        for a, b in zip(props_a, props_b, strict=True)
        if a != b
    ]
    assert differences == [], summary(differences)


def summary(differences: list[Any]) -> str:
    seen: dict[str, str] = {}
    for element, a, b in differences:
        tag = element.split(" ", 1)[1]
        seen.setdefault(f"{tag} {a.split(':')[0]}", f"{a} -> {b.split(': ', 1)[1]}")
    return "\n".join(f"{k}: {v}" for k, v in sorted(seen.items()))


@pytest.mark.parametrize("framework", sorted(HOST_CSS))
def test_panel_css_changes_nothing_in_the_host(page: Page, panel_html: str, framework: str) -> None:
    host_css = HOST_CSS[framework].read_text()
    body = HOST_MARKUP + panel_html
    static_page(page.page, body, host_css)
    without = styles(page.page, "html, body, #host, #host *")
    static_page(page.page, body, host_css, PANEL_CSS)
    assert styles(page.page, "html, body, #host, #host *") == without


def background(page: Any) -> str:
    color: str = page.locator("[data-xero-panel]").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    return color


LIGHT, DARK = "rgb(255, 255, 255)", "rgb(31, 41, 51)"


@pytest.mark.parametrize(
    ("html_class", "host_css", "scheme", "expected"),
    [
        ("", "", "light", LIGHT),
        ("", "", "dark", LIGHT),  # a host that says nothing stays light in a dark system
        ("dark", "", "light", DARK),  # Tailwind's class
        ("light", "", "dark", LIGHT),
        ("", ":root { color-scheme: dark; }", "light", DARK),  # the host's color-scheme
        ("", ":root { color-scheme: light; }", "dark", LIGHT),
        ("", ":root { color-scheme: light dark; }", "dark", DARK),  # opted in to the system
        ("", ":root { color-scheme: light dark; }", "light", LIGHT),
        ("xp-theme-system", "", "dark", DARK),  # opted in with a class
        ("xp-theme-system", "", "light", LIGHT),
    ],
)
def test_theme_follows_the_host_page(
    page: Page, panel_html: str, html_class: str, host_css: str, scheme: str, expected: str
) -> None:
    page.page.emulate_media(color_scheme=scheme)
    static_page(page.page, panel_html, PANEL_CSS, host_css, html_class=html_class)
    assert background(page.page) == expected


def test_bootstrap_dark_theme_attribute(page: Page, panel_html: str) -> None:
    static_page(page.page, f'<div data-bs-theme="dark">{panel_html}</div>', PANEL_CSS)
    assert background(page.page) == DARK


def test_accent_and_surface_from_host_custom_properties(page: Page, panel_html: str) -> None:
    host = ":root { --xero-panel-accent: rgb(124, 58, 237); --xero-panel-surface: rgb(1, 2, 3); }"
    static_page(page.page, panel_html, PANEL_CSS, host)
    current = page.page.locator("[data-view][aria-current]").first
    assert current.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(124, 58, 237)"
    assert background(page.page) == "rgb(1, 2, 3)"


def test_borderless_inside_a_host_card(page: Page, panel_html: str) -> None:
    static_page(page.page, panel_html, PANEL_CSS)
    framed = page.page.locator("[data-xero-panel]").evaluate(
        "e => getComputedStyle(e).borderTopWidth"
    )
    static_page(page.page, f'<div class="card xp-borderless">{panel_html}</div>', PANEL_CSS)
    panel = page.page.locator("[data-xero-panel]")
    assert framed == "1px"
    assert panel.evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"
    assert panel.evaluate("e => getComputedStyle(e).paddingTop") == "0px"
