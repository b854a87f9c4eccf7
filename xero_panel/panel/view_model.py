"""The view model the panel's templates render: one :class:`PanelView` instead of dozens of
loose template values.

Plain Python (no Flask): the web layer resolves who is looking, which record and which Xero
contacts, and passes the URLs in (:class:`PanelUrls`, callables and strings);
:func:`build_panel_view` decides the panel's mode, runs the page query and says what an
empty list says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

from sqlalchemy.orm import Session

from ..matching import Match, MatchedContact
from ..models import SHOWING_CACHE, Organisation
from ..sync.state import CacheStatus
from .formatting import (
    AGE_LABELS,
    PAYMENT_PERIOD_LABEL,
    SORT_LABELS,
    VIEW_LABELS,
    Formatter,
    PaymentText,
    empty_message,
    payment_text,
    plain_amount,
)
from .notices import RepNotice, rep_notice
from .params import (
    AGES,
    DEFAULT_VIEW,
    SORTS,
    VIEWS,
    AgeBucket,
    PanelParams,
    ParsedPanelParams,
    ViewName,
    page_past_end_message,
)
from .queries import panel_page
from .row_text import RowText, row_text
from .rows import AgeAmount, CurrencyTotal, InvoiceRow, PanelPage, RecordRef

#: The panel's display mode: what it shows instead of (or above) the list.
PanelMode = Literal[
    "not_connected", "no_organisations", "first_sync", "never_synced", "no_match", "list"
]
#: Polling interval while the first sync runs.
POLL_EVERY = "2s"


@dataclass(frozen=True)
class PanelUrls:
    """The panel's URLs, made by the web layer.

    :ivar panel: the panel's URL for some parameters (and extra query values, e.g. page).
    :ivar dom_id: an element id for a part of this record's panel.
    """

    panel: Callable[..., str]
    pin: Callable[[InvoiceRow], str]
    unlink: Callable[[MatchedContact], str]
    dom_id: Callable[..., str]
    refresh: str
    version: str
    link_search: str
    deep_link_base: str


@dataclass(frozen=True)
class PanelInputs:
    """What a panel request resolved before querying: the record, the viewer, the
    connection's status, the organisations and the matched Xero contacts."""

    record: RecordRef
    viewer_is_admin: bool
    connection_status: str | None
    organisations: Sequence[Organisation]
    match: Match
    may_link: bool


@dataclass(frozen=True)
class PanelView:
    """Everything the panel's templates show for one record."""

    views: ClassVar[tuple[ViewName, ...]] = VIEWS
    view_labels: ClassVar[dict[ViewName, str]] = VIEW_LABELS
    sorts: ClassVar[tuple[str, ...]] = SORTS
    sort_labels: ClassVar[dict[str, str]] = SORT_LABELS
    ages: ClassVar[tuple[str, ...]] = AGES
    age_labels: ClassVar[dict[str, str]] = AGE_LABELS
    default_view: ClassVar[ViewName] = DEFAULT_VIEW
    poll_every: ClassVar[str] = POLL_EVERY
    payment_period_label: ClassVar[str] = PAYMENT_PERIOD_LABEL

    inputs: PanelInputs
    mode: PanelMode
    params: PanelParams
    #: The text of ``q``, ``from`` and ``to`` shown back in the form.
    form: dict[str, str]
    param_error: str | None
    #: The cache's state for the record's organisations (``None`` after a bad parameter).
    cache_status: CacheStatus | None
    listing: PanelPage | None
    fmt: Formatter
    urls: PanelUrls
    csrf_token: str
    #: This answer follows *Refresh*: the panel says "Updated just now".
    refreshed: bool = False
    #: The bad parameter was ``view`` itself: no view tab is marked current.
    view_invalid: bool = False

    @property
    def state(self) -> PanelMode:
        """Deprecated: :attr:`mode` (for host templates written before it was renamed)."""
        return self.mode

    @property
    def raw(self) -> dict[str, str]:
        """Deprecated: :attr:`form`, plus ``view_invalid: "true"`` when
        :attr:`view_invalid` is set (for host templates written before they existed)."""
        return {**self.form, "view_invalid": "true"} if self.view_invalid else dict(self.form)

    @property
    def status(self) -> int:
        """The answer's HTTP status: 400 for a bad parameter."""
        return 400 if self.param_error is not None else 200

    @property
    def version(self) -> str:
        """The cache's fingerprint for the live update's check (``""``: no live update, as
        after a bad parameter or for a single row)."""
        if self.listing is None or self.cache_status is None:
            return ""
        return self.listing.version

    @property
    def record_type(self) -> str:
        return self.inputs.record.record_type

    @property
    def record_id(self) -> str:
        return self.inputs.record.record_id

    @property
    def viewer_is_admin(self) -> bool:
        return self.inputs.viewer_is_admin

    @property
    def match(self) -> Match:
        return self.inputs.match

    @property
    def may_link(self) -> bool:
        return self.inputs.may_link

    @property
    def needs_reconnect(self) -> bool:
        return self.inputs.connection_status == "needs_reconnect"

    @property
    def notice(self) -> RepNotice | None:
        """The panel's one notice about the cache (see :mod:`~xero_panel.panel.notices`)."""
        if self.param_error is not None or self.mode == "not_connected":
            return None
        return rep_notice(self.cache_status, self.fmt, needs_reconnect=self.needs_reconnect)

    @property
    def multi_org(self) -> bool:
        return len(self.inputs.organisations) > 1

    @property
    def org_names(self) -> dict[int, str]:
        return {o.id: o.name for o in self.inputs.organisations}

    @property
    def empty_message(self) -> str:
        params = self.params
        return empty_message(
            params.view,
            filtered=params.filtered,
            age=params.age,
            searched=bool(params.q) or params.date_from is not None or params.date_to is not None,
            record_type=self.record_type,
            no_match=self.mode == "no_match",
        )

    def params_of(self, view: ViewName = DEFAULT_VIEW) -> PanelParams:
        """A view's parameters in the current order and age, without the current search and
        dates (the controls send those)."""
        return PanelParams(view=view, sort=self.params.sort, age=self.params.age)

    def clean_params(self, view: ViewName = DEFAULT_VIEW) -> PanelParams:
        """A view as it opens from the totals: nothing narrowing it, the default order."""
        return PanelParams(view=view)

    def did(self, *parts: object) -> str:
        """An element id for a part of this panel (the panel itself without parts)."""
        return self.urls.dom_id(*parts)

    @property
    def new_tab_id(self) -> str:
        """The id of the words that say, once for the table, where its Xero links open."""
        return self.urls.dom_id("newtab")

    def panel_url(self, params: PanelParams, **extra: object) -> str:
        return self.urls.panel(params, **extra)

    def unlink_url(self, contact: MatchedContact) -> str:
        return self.urls.unlink(contact)

    @property
    def refresh_url(self) -> str:
        return self.urls.refresh

    @property
    def version_url(self) -> str:
        return self.urls.version

    @property
    def link_search_url(self) -> str:
        return self.urls.link_search

    def plain_amount(self, amount: Decimal) -> str:
        return plain_amount(amount)

    def row_text(self, row: InvoiceRow) -> RowText:
        """What one row says: its amounts, dates, status and URLs as text."""
        urls = self.urls
        return row_text(row, self.fmt, pin_url=urls.pin, deep_link_base=urls.deep_link_base)

    @property
    def row_texts(self) -> list[RowText]:
        """The page's rows as text (:func:`row_text`), in order."""
        return [self.row_text(row) for row in self.listing.rows] if self.listing else []

    @property
    def invoice_totals(self) -> tuple[CurrencyTotal, ...]:
        """The currencies *Total paid* and *Total unpaid* show (those with invoices)."""
        if self.listing is None:
            return ()
        return tuple(t for t in self.listing.totals if t.has_invoices)

    @property
    def credits(self) -> tuple[CurrencyTotal, ...]:
        """The currencies with unused credit."""
        if self.listing is None:
            return ()
        return tuple(t for t in self.listing.totals if t.credit > 0)

    @property
    def payment_behaviour(self) -> PaymentText | None:
        """How the record's customers pay, in words (``None``: not shown)."""
        if self.listing is None or self.listing.payments is None:
            return None
        return payment_text(self.listing.payments, self.fmt)

    @property
    def aging(self) -> tuple[AgeAmount, ...]:
        return self.listing.aging if self.listing is not None else ()

    def totals_note(self, kind: str) -> str:
        """What a total includes, so it reconciles with the list it opens."""
        parts: list[str] = []
        for total in self.invoice_totals:
            money = self.fmt.money
            if kind == "paid" and total.part_paid > 0:
                amount = money(total.part_paid, total.currency)
                parts.append(f"includes {amount} part-paid on unpaid invoices")
            if kind == "unpaid" and total.credited > 0:
                amount = money(total.credited, total.currency)
                parts.append(f"after {amount} of credit applied")
        if not parts:
            return "of paid invoices" if kind == "paid" else "still owed"
        return "; ".join(parts)

    def age_params(self, age: AgeBucket) -> PanelParams:
        """The list narrowed to an ageing bucket; the current bucket again clears it."""
        return self.params.with_age(None if self.params.age == age else age)

    def without_search(self, params: PanelParams) -> PanelParams:
        """``params`` less the search and dates, for controls that send the inputs' own."""
        return dataclasses.replace(params, q="", date_from=None, date_to=None)


def panel_mode(inputs: PanelInputs, cache_status: CacheStatus | None) -> PanelMode:
    """What the panel shows: a notice instead of the list, or the list."""
    if inputs.connection_status not in SHOWING_CACHE:
        return "not_connected"
    if not inputs.organisations:
        return "no_organisations"
    if cache_status is None:  # a bad parameter: nothing was asked of the sync
        return "list"
    if cache_status.first_sync_running:
        return "first_sync"
    if cache_status.fresh_at is None and cache_status.state.ok and not inputs.match:
        return "never_synced"
    if not inputs.match:
        return "no_match"
    return "list"


def build_panel_view(
    session: Session,
    inputs: PanelInputs,
    parsed: ParsedPanelParams,
    cache_status: CacheStatus | None,
    *,
    urls: PanelUrls,
    locale: str,
    csrf_token: str,
    page_size: int,
    now: dt.datetime | None = None,
    refreshed: bool = False,
    payment_behaviour: bool = False,
) -> PanelView:
    """The panel's view model: its display mode and, when it shows the list, the page of rows
    (and, with ``payment_behaviour``, how the record's customers pay).

    A ``page`` past the last one is a parameter error (status 400), like a bad value.
    """
    params, param_error = parsed.params, parsed.error
    mode = panel_mode(inputs, cache_status)
    listing: PanelPage | None = None
    if mode == "list" and param_error is None:
        listing = panel_page(
            session,
            inputs.organisations,
            inputs.match.keys(),
            record=inputs.record,
            page_size=page_size,
            now=now,
            payments=payment_behaviour,
            **params.query(),
        )
        if params.page > listing.last_page:
            param_error = page_past_end_message(params.page, listing.last_page)
            listing = None
    return PanelView(
        inputs=inputs,
        mode=mode,
        params=params,
        form=parsed.form,
        param_error=param_error,
        cache_status=cache_status,
        listing=listing,
        fmt=Formatter(locale, currencies=_currencies_on_screen(listing)),
        urls=urls,
        csrf_token=csrf_token,
        refreshed=refreshed,
        view_invalid=parsed.view_invalid,
    )


def _currencies_on_screen(listing: PanelPage | None) -> int:
    if listing is None:
        return 1
    return len({t.currency for t in listing.totals} | {r.currency for r in listing.rows})


def panel_locale(
    host_locale: str | None, organisations: Sequence[Organisation], default: str
) -> str:
    """The locale of money and dates: the viewer's, as the host's locale selector gives it,
    else ``default`` (``XERO_PANEL_DEFAULT_LOCALE``). The organisations' country does not
    choose it: a reader in the US reads dates the US way whatever the organisation.

    .. versionchanged:: 0.3 The organisation's country is no longer a fallback.
    """
    del organisations  # kept in the signature for callers written before 0.3
    return host_locale or default
