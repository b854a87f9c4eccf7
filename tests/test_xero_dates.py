from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from xero_panel.xero.dates import (
    format_if_modified_since,
    loads_json,
    parse_ms_date,
    parse_xero_date,
    parse_xero_datetime,
    to_decimal,
)


def test_parse_ms_date_with_zero_offset() -> None:
    assert parse_ms_date("/Date(1539993600000+0000)/") == datetime(2018, 10, 20, tzinfo=UTC)


def test_parse_ms_date_without_offset_is_utc() -> None:
    assert parse_ms_date("/Date(1552326816230)/") == datetime(
        2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC
    )


def test_parse_ms_date_keeps_milliseconds() -> None:
    assert parse_ms_date("/Date(1541176592690+0000)/").microsecond == 690000


def test_parse_ms_date_offset_does_not_move_the_instant() -> None:
    assert parse_ms_date("/Date(1539993600000+1300)/") == datetime(2018, 10, 20, tzinfo=UTC)


def test_parse_ms_date_negative_timestamp() -> None:
    assert parse_ms_date("/Date(-86400000+0000)/") == datetime(1969, 12, 31, tzinfo=UTC)


def test_parse_ms_date_json_escaped_slashes() -> None:
    assert parse_ms_date("\\/Date(1439434356790)\\/") == datetime(
        2015, 8, 13, 2, 52, 36, 790000, tzinfo=UTC
    )


def test_parse_ms_date_result_is_utc_aware() -> None:
    assert parse_ms_date("/Date(1539993600000-0800)/").tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "Date(1)", "/Date(abc)/", "/Date(1+00000)/", "2018-10-20"])
def test_parse_ms_date_rejects_other_text(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Xero /Date"):
        parse_ms_date(bad)


def test_parse_xero_datetime_ms_date() -> None:
    assert parse_xero_datetime("/Date(1541176592690+0000)/") == datetime(
        2018, 11, 2, 16, 36, 32, 690000, tzinfo=UTC
    )


def test_parse_xero_datetime_iso_with_z() -> None:
    assert parse_xero_datetime("2018-11-02T16:31:30Z") == datetime(
        2018, 11, 2, 16, 31, 30, tzinfo=UTC
    )


def test_parse_xero_datetime_iso_with_offset_converted_to_utc() -> None:
    assert parse_xero_datetime("2020-02-06T12:17:43.202-08:00") == datetime(
        2020, 2, 6, 20, 17, 43, 202000, tzinfo=UTC
    )


def test_parse_xero_datetime_iso_without_offset_is_utc() -> None:
    assert parse_xero_datetime("2024-06-21T01:15:39.902") == datetime(
        2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC
    )


def test_parse_xero_datetime_seven_fractional_digits_truncated() -> None:
    assert parse_xero_datetime("2019-12-07T18:46:19.5165409") == datetime(
        2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC
    )


def test_parse_xero_datetime_compact_offset() -> None:
    assert parse_xero_datetime("2020-02-06T12:17:43+1300") == datetime(
        2020, 2, 5, 23, 17, 43, tzinfo=UTC
    )


def test_parse_xero_datetime_naive_datetime_taken_as_utc() -> None:
    assert parse_xero_datetime(datetime(2020, 1, 1, 12)) == datetime(2020, 1, 1, 12, tzinfo=UTC)


def test_parse_xero_datetime_aware_datetime_converted_to_utc() -> None:
    value = datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse_xero_datetime(value) == datetime(2020, 1, 1, 10, tzinfo=UTC)


def test_parse_xero_datetime_result_tzinfo_is_utc() -> None:
    assert parse_xero_datetime("2020-02-06T12:17:43-08:00").tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "yesterday", "2018-13-45T00:00:00", "2018-10-20T25:00:00"])
def test_parse_xero_datetime_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_xero_datetime(bad)


def test_parse_xero_date_ms_date() -> None:
    assert parse_xero_date("/Date(1539993600000+0000)/") == date(2018, 10, 20)


def test_parse_xero_date_iso_midnight() -> None:
    assert parse_xero_date("2018-10-20T00:00:00") == date(2018, 10, 20)


def test_parse_xero_date_plain_date() -> None:
    assert parse_xero_date("2018-10-20") == date(2018, 10, 20)


def test_parse_xero_date_iso_with_offset_keeps_written_date() -> None:
    assert parse_xero_date("2018-10-20T00:00:00+13:00") == date(2018, 10, 20)


def test_parse_xero_date_negative_timestamp() -> None:
    assert parse_xero_date("/Date(-86400000+0000)/") == date(1969, 12, 31)


def test_parse_xero_date_date_passes_through() -> None:
    assert parse_xero_date(date(2020, 2, 29)) == date(2020, 2, 29)


def test_parse_xero_date_aware_datetime_uses_utc_date() -> None:
    value = datetime(2020, 1, 1, 23, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_xero_date(value) == date(2020, 1, 2)


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_parse_xero_date_ignores_local_timezone(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert parse_xero_date("/Date(1539993600000+0000)/") == date(2018, 10, 20)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_parse_xero_date_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_xero_date("20/10/2018")


def test_format_if_modified_since_utc() -> None:
    value = datetime(2018, 11, 2, 16, 36, 32, 690000, tzinfo=UTC)
    assert format_if_modified_since(value) == "2018-11-02T16:36:32Z"


def test_format_if_modified_since_converts_offset_to_utc() -> None:
    value = datetime(2020, 2, 6, 12, 17, 43, 202000, tzinfo=timezone(timedelta(hours=-8)))
    assert format_if_modified_since(value) == "2020-02-06T20:17:43Z"


def test_format_if_modified_since_naive_taken_as_utc() -> None:
    assert format_if_modified_since(datetime(2020, 1, 1, 9, 5, 7)) == "2020-01-01T09:05:07Z"


def test_loads_json_keeps_decimal_places() -> None:
    body = loads_json(b'{"AmountPaid": 46.00, "CurrencyRate": 1.000000, "page": 1}')
    assert body == {"AmountPaid": Decimal("46.00"), "CurrencyRate": Decimal("1.000000"), "page": 1}
    assert str(body["AmountPaid"]) == "46.00"


def test_to_decimal_from_float_uses_its_text() -> None:
    assert to_decimal(0.1) == Decimal("0.1")


def test_to_decimal_from_string() -> None:
    assert to_decimal("50.00") == Decimal("50.00")


def test_to_decimal_from_int() -> None:
    assert to_decimal(3) == Decimal(3)


@pytest.mark.parametrize("bad", [True, None, "abc", "NaN", "Infinity", [1]])
def test_to_decimal_rejects_non_amounts(bad: object) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        to_decimal(bad)


def test_parse_ms_date_two_digit_offset() -> None:
    assert parse_ms_date("/Date(0+13)/") == datetime(1970, 1, 1, tzinfo=UTC)


def test_parse_ms_date_three_digit_offset_rejected() -> None:
    with pytest.raises(ValueError, match="not a UTC offset"):
        parse_ms_date("/Date(0+130)/")


def test_parse_xero_datetime_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="not a Xero timestamp"):
        parse_xero_datetime(12345)  # type: ignore[arg-type]


def test_parse_xero_date_naive_datetime_uses_its_date() -> None:
    assert parse_xero_date(datetime(2020, 1, 1, 23, 30)) == date(2020, 1, 1)


def test_parse_xero_date_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="not a Xero date"):
        parse_xero_date(20181020)  # type: ignore[arg-type]
