from __future__ import annotations

import datetime as dt

import pytest

from xero_panel.panel.params import (
    PanelParams,
    ParamError,
    ParsedPanelParams,
    host_params,
    page_past_end_message,
    parse_panel_params,
    read_panel_params,
)


def error_of(args: dict[str, str]) -> str:
    with pytest.raises(ParamError) as info:
        parse_panel_params(args)
    return str(info.value)


def test_parse_empty_gives_defaults() -> None:
    assert parse_panel_params({}) == PanelParams(view="unpaid", q="", page=1)


def test_parse_empty_strings_count_as_absent() -> None:
    params = parse_panel_params({"view": "", "q": " ", "from": "", "to": "", "page": ""})
    assert params == PanelParams()


def test_parse_all_values() -> None:
    params = parse_panel_params(
        {"view": "paid", "q": " inv-00 ", "from": "2026-01-01", "to": "2026-02-28", "page": "3"}
    )
    assert params == PanelParams(
        view="paid",
        q="inv-00",
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 2, 28),
        page=3,
    )


@pytest.mark.parametrize("view", ["unpaid", "open", "overdue", "paid", "pinned", "all"])
def test_parse_view_each_known(view: str) -> None:
    assert parse_panel_params({"view": view}).view == view


def test_parse_view_unknown_lists_valid_ones() -> None:
    assert error_of({"view": "late"}) == (
        "view must be one of unpaid, open, overdue, paid, pinned, all"
    )


def test_parse_view_is_case_sensitive() -> None:
    assert error_of({"view": "Paid"}).startswith("view must be one of")


def test_parse_from_impossible_date() -> None:
    assert error_of({"from": "2026-02-30"}) == "from must be a date like 2026-11-21"


def test_parse_to_not_a_date() -> None:
    assert error_of({"to": "yesterday"}) == "to must be a date like 2026-11-21"


def test_parse_from_compact_iso_form_refused() -> None:
    assert error_of({"from": "20261121"}) == "from must be a date like 2026-11-21"


def test_parse_from_after_to() -> None:
    assert (
        error_of({"from": "2026-03-02", "to": "2026-03-01"})
        == "The start date must not be after the end date."
    )


def test_parse_from_equal_to_is_one_day() -> None:
    params = parse_panel_params({"from": "2026-03-01", "to": "2026-03-01"})
    assert params.date_from == params.date_to == dt.date(2026, 3, 1)


@pytest.mark.parametrize("page", ["0", "-1", "1.5", "two", "1e3", "9999999999"])
def test_parse_page_not_whole_number(page: str) -> None:
    assert error_of({"page": page}) == "page must be a whole number of 1 or more"


def test_parse_q_over_100_characters() -> None:
    assert error_of({"q": "x" * 101}) == "q must be at most 100 characters"


def test_parse_q_of_100_characters_accepted() -> None:
    assert parse_panel_params({"q": "x" * 100}).q == "x" * 100


def test_state_leaves_defaults_out() -> None:
    assert PanelParams(page=4).state() == {}


def test_state_carries_filters() -> None:
    params = PanelParams(
        view="overdue", q="42", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 31)
    )
    assert params.state() == {
        "view": "overdue",
        "q": "42",
        "from": "2026-01-01",
        "to": "2026-01-31",
    }


def test_with_view_keeps_filters_resets_page() -> None:
    params = PanelParams(view="paid", q="7", page=3).with_view("all")
    assert params == PanelParams(view="all", q="7", page=1)


def test_filtered_false_without_search_or_dates() -> None:
    assert not PanelParams(view="paid").filtered


def test_host_params_reads_xp_prefixed() -> None:
    args = {"xp_view": "paid", "xp_q": "", "xp_from": "2026-01-01", "tab": "x", "view": "y"}
    assert host_params(args) == {"view": "paid", "from": "2026-01-01"}


def test_page_past_end_message_plural() -> None:
    assert page_past_end_message(4, 3) == "page 4 is past the last page: this list has 3 pages"


def test_page_past_end_message_single() -> None:
    assert page_past_end_message(2, 1) == "page 2 is past the last page: this list has 1 page"


def test_read_good_params_gives_the_parsed_form_text() -> None:
    parsed = read_panel_params({"view": "paid", "q": " INV ", "from": "2026-01-02"})
    assert parsed == ParsedPanelParams(
        params=PanelParams(view="paid", q="INV", date_from=dt.date(2026, 1, 2)),
        error=None,
        form={"q": "INV", "from": "2026-01-02", "to": ""},
        view_invalid=False,
    )


def test_read_bad_value_keeps_the_view_and_the_text_as_sent() -> None:
    parsed = read_panel_params({"view": "paid", "q": "x", "from": "soon"})
    assert parsed.params == PanelParams(view="paid")
    assert parsed.error == "from must be a date like 2026-11-21"
    assert parsed.form == {"q": "x", "from": "soon", "to": ""}
    assert not parsed.view_invalid


def test_read_bad_view_says_so() -> None:
    parsed = read_panel_params({"view": "nope"})
    assert parsed.params == PanelParams()
    assert parsed.error is not None
    assert parsed.view_invalid
