"""The panel's request parameters, parsed and checked into a frozen :class:`PanelParams`.

Plain Python (no Flask): :func:`parse_panel_params` takes any mapping of strings, such as
``request.args``. Every mistake raises :class:`ParamError` with a message the panel shows
as it is, in its ``panel-error`` element, with status 400.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: The panel's saved views; ``unpaid`` is the default.
ViewName = Literal["unpaid", "open", "overdue", "paid", "pinned", "all"]
VIEWS: tuple[ViewName, ...] = ("unpaid", "open", "overdue", "paid", "pinned", "all")
DEFAULT_VIEW: ViewName = "unpaid"
#: The list's orders (``date``, the default, is newest first; see ``view_rules.sort_order``).
SortName = Literal["date", "due", "balance"]
SORTS: tuple[SortName, ...] = ("date", "due", "balance")
DEFAULT_SORT: SortName = "date"
#: The ageing buckets ``age=`` takes (their day ranges: ``view_rules.AGE_BUCKETS``).
AgeBucket = Literal["current", "1-30", "31-60", "61-90", "90+"]
AGES: tuple[AgeBucket, ...] = ("current", "1-30", "31-60", "61-90", "90+")
#: The longest search text accepted (invoice numbers are far shorter).
MAX_QUERY_LENGTH = 100
#: The URL parameters of the panel, and their names on the host page (``xp_`` prefixed).
PARAM_NAMES = ("view", "q", "from", "to", "sort", "age")
HOST_PREFIX = "xp_"

T = TypeVar("T", bound=str)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PAGE = re.compile(r"[0-9]{1,9}")


class PanelQuery(TypedDict):
    """The list's choice as the panel query's keyword arguments."""

    view: ViewName
    q: str
    date_from: dt.date | None
    date_to: dt.date | None
    sort: SortName
    age: AgeBucket | None
    page: int


class ParamError(ValueError):
    """A panel parameter is not valid; ``str(error)`` says which and what to send."""


@dataclass(frozen=True)
class PanelParams:
    """What the panel shows: the view, the search, the date range and the page.

    :ivar q: the search text (stripped), ``""`` for none.
    :ivar date_from: the first invoice date shown (inclusive), or ``None``.
    :ivar date_to: the last invoice date shown (inclusive), or ``None``.
    """

    view: ViewName = DEFAULT_VIEW
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: SortName = DEFAULT_SORT
    age: AgeBucket | None = None
    page: int = 1

    def state(self) -> dict[str, str]:
        """The list's state as URL parameters, defaults left out (the page is not state:
        a reload shows the first page)."""
        out: dict[str, str] = {}
        if self.view != DEFAULT_VIEW:
            out["view"] = self.view
        if self.q:
            out["q"] = self.q
        if self.date_from is not None:
            out["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            out["to"] = self.date_to.isoformat()
        if self.sort != DEFAULT_SORT:
            out["sort"] = self.sort
        if self.age is not None:
            out["age"] = self.age
        return out

    def query(self) -> PanelQuery:
        """The list's choice as the panel query's keyword arguments."""
        return {
            "view": self.view,
            "q": self.q,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "sort": self.sort,
            "age": self.age,
            "page": self.page,
        }

    def with_view(self, view: ViewName) -> PanelParams:
        """The same search, dates, order and age in another view, from its first page."""
        return replace(self, view=view, page=1)

    def with_sort(self, sort: SortName) -> PanelParams:
        """The same list in another order, from its first page."""
        return replace(self, sort=sort, page=1)

    def with_age(self, age: AgeBucket | None) -> PanelParams:
        """The same list narrowed to another ageing bucket (``None``: any), first page."""
        return replace(self, age=age, page=1)

    @property
    def filtered(self) -> bool:
        """Whether a search or a date range narrows the view."""
        return (
            bool(self.q)
            or self.date_from is not None
            or self.date_to is not None
            or self.age is not None
        )


def parse_panel_params(args: Mapping[str, str]) -> PanelParams:
    """Read ``view``, ``q``, ``from``, ``to`` and ``page``; empty values count as absent.

    :raises ParamError: a value is not valid (see the module docs for the messages).
    """
    view = _view(args.get("view") or "")
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise ParamError(f"q must be at most {MAX_QUERY_LENGTH} characters")
    date_from = _date("from", args.get("from") or "")
    date_to = _date("to", args.get("to") or "")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ParamError("The start date must not be after the end date.")
    sort = _choice("sort", args.get("sort") or "", SORTS, DEFAULT_SORT)
    age_text = args.get("age") or ""
    age = _choice("age", age_text, AGES, AGES[0]) if age_text else None
    page = _page(args.get("page") or "")
    return PanelParams(
        view=view, q=q, date_from=date_from, date_to=date_to, sort=sort, age=age, page=page
    )


@dataclass(frozen=True)
class ParsedPanelParams:
    """The panel's parameters as :func:`read_panel_params` read them, good or bad.

    :ivar params: the parameters; after a bad value, the asked view (or the default) and
        nothing else.
    :ivar error: the message for the bad value, or ``None``.
    :ivar form: the text of ``q``, ``from`` and ``to`` to show back in the form: as sent
        after a bad value, as parsed for good ones.
    :ivar view_invalid: the bad value was ``view`` itself (no view tab is current).
    """

    params: PanelParams
    error: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    view_invalid: bool = False

    @classmethod
    def valid(cls, params: PanelParams) -> ParsedPanelParams:
        """Good parameters, with their form text."""
        return cls(params=params, error=None, form=raw_of(params))


def read_panel_params(args: Mapping[str, str]) -> ParsedPanelParams:
    """Like :func:`parse_panel_params`, but never raising: a bad value gives the asked
    view (or the default) and the error message (see :class:`ParsedPanelParams`)."""
    try:
        params = parse_panel_params(args)
    except ParamError as exc:
        view = args.get("view")
        return ParsedPanelParams(
            params=PanelParams(view=_view(view) if view in VIEWS else DEFAULT_VIEW),
            error=str(exc),
            form={name: str(args.get(name) or "") for name in ("q", "from", "to")},
            view_invalid=bool(view) and view not in VIEWS,
        )
    return ParsedPanelParams.valid(params)


def raw_of(params: PanelParams) -> dict[str, str]:
    """The form's text for valid parameters."""
    return {
        "q": params.q,
        "from": params.date_from.isoformat() if params.date_from else "",
        "to": params.date_to.isoformat() if params.date_to else "",
    }


def host_params(args: Mapping[str, str]) -> dict[str, str]:
    """The panel parameters carried by a host page's URL (``xp_view`` and so on), under the
    panel's own names, empty ones left out."""
    out: dict[str, str] = {}
    for name in PARAM_NAMES:
        value = args.get(HOST_PREFIX + name)
        if value:
            out[name] = value
    return out


def replace_url(current_url: str, params: PanelParams | Mapping[str, str], panel_path: str) -> str:
    """The host page's URL with the panel's state in ``xp_*`` parameters (defaults left
    out, the page's other parameters kept). On the panel's own full page, its own
    parameters are used instead. ``params`` may also be the values as they were sent
    (after a bad one, so that a reload shows the same answer)."""
    parts = urlsplit(current_url)
    state = params.state() if isinstance(params, PanelParams) else dict(params)
    if parts.path == panel_path:
        kept = [(k, v) for k, v in parse_qsl(parts.query, True) if k not in (*PARAM_NAMES, "page")]
        pairs = kept + list(state.items())
    else:
        kept = [(k, v) for k, v in parse_qsl(parts.query, True) if not k.startswith(HOST_PREFIX)]
        pairs = kept + [(HOST_PREFIX + k, v) for k, v in state.items()]
    # One leading slash: "//evil.test/x" (or "/\\evil.test") would leave the site.
    path = "/" + parts.path.replace("\\", "/").lstrip("/")
    return urlunsplit(("", "", path, urlencode(pairs), parts.fragment))


def page_past_end_message(page: int, last_page: int) -> str:
    """The error for a ``page`` past the last one."""
    pages = "1 page" if last_page == 1 else f"{last_page} pages"
    return f"page {page} is past the last page: this list has {pages}"


def _view(value: str) -> ViewName:
    return _choice("view", value, VIEWS, DEFAULT_VIEW)


def _choice(name: str, value: str, choices: tuple[T, ...], default: T) -> T:
    if value == "":
        return default
    for choice in choices:
        if value == choice:
            return choice
    raise ParamError(f"{name} must be one of {', '.join(choices)}")


def _date(name: str, value: str) -> dt.date | None:
    value = value.strip()
    if value == "":
        return None
    if _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ParamError(f"{name} must be a date like 2026-11-21")


def _page(value: str) -> int:
    value = value.strip()
    if value == "":
        return 1
    if not _PAGE.fullmatch(value) or int(value) < 1:
        raise ParamError("page must be a whole number of 1 or more")
    return int(value)
