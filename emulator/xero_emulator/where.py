"""A parser for the part of Xero's ``where`` filter language the emulator understands.

Supported: comparisons ``Field == value`` (also ``!=``, ``>``, ``>=``, ``<``, ``<=``) where the
value is a ``"string"``, ``GUID("...")``, ``DateTime(yyyy, mm, dd[, hh, mm, ss])``, a number,
``true``, ``false`` or ``null``; string methods ``Field.StartsWith("x")``, ``.EndsWith``,
``.Contains``; joined with ``&&`` / ``AND``, ``||`` / ``OR``, ``!`` and parentheses.
Anything else is rejected with :class:`WhereError` (Xero answers 400).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .xero_json import ms_from_datetime, parse_xero_date, to_decimal

__all__ = ["FIELDS", "Predicate", "WhereError", "compile_where"]

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]


class WhereError(ValueError):
    """The filter cannot be parsed or uses something the emulator does not support."""


@dataclass(frozen=True)
class _Guid:
    value: str


@dataclass(frozen=True)
class _Date:
    ms: int


def _path(*keys: str) -> Getter:
    def get(obj: Mapping[str, Any]) -> Any:
        value: Any = obj
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return get


def _date(key: str) -> Getter:
    def get(obj: Mapping[str, Any]) -> Any:
        value = obj.get(key)
        return _Date(parse_xero_date(value)) if value else None

    return get


def _money(key: str) -> Getter:
    def get(obj: Mapping[str, Any]) -> Any:
        value = obj.get(key)
        return to_decimal(value) if value is not None else None

    return get


def _guid(*keys: str) -> Getter:
    inner = _path(*keys)

    def get(obj: Mapping[str, Any]) -> Any:
        value = inner(obj)
        return _Guid(str(value).lower()) if value else None

    return get


_DOC_FIELDS: dict[str, Getter] = {
    "type": _path("Type"),
    "status": _path("Status"),
    "contact.contactid": _guid("Contact", "ContactID"),
    "contact.name": _path("Contact", "Name"),
    "contact.contactnumber": _path("Contact", "ContactNumber"),
    "reference": _path("Reference"),
    "date": _date("Date"),
    "duedate": _date("DueDate"),
    "updateddateutc": _date("UpdatedDateUTC"),
    "fullypaidondate": _date("FullyPaidOnDate"),
    "total": _money("Total"),
    "subtotal": _money("SubTotal"),
    "totaltax": _money("TotalTax"),
    "currencycode": _path("CurrencyCode"),
}

FIELDS: dict[str, dict[str, Getter]] = {
    "Invoices": {
        **_DOC_FIELDS,
        "invoiceid": _guid("InvoiceID"),
        "invoicenumber": _path("InvoiceNumber"),
        "amountdue": _money("AmountDue"),
        "amountpaid": _money("AmountPaid"),
        "amountcredited": _money("AmountCredited"),
        "senttocontact": _path("SentToContact"),
    },
    "CreditNotes": {
        **_DOC_FIELDS,
        "creditnoteid": _guid("CreditNoteID"),
        "creditnotenumber": _path("CreditNoteNumber"),
        "remainingcredit": _money("RemainingCredit"),
    },
    "Contacts": {
        "contactid": _guid("ContactID"),
        "contactstatus": _path("ContactStatus"),
        "name": _path("Name"),
        "firstname": _path("FirstName"),
        "lastname": _path("LastName"),
        "emailaddress": _path("EmailAddress"),
        "contactnumber": _path("ContactNumber"),
        "accountnumber": _path("AccountNumber"),
        "iscustomer": _path("IsCustomer"),
        "issupplier": _path("IsSupplier"),
        "updateddateutc": _date("UpdatedDateUTC"),
    },
}

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|>=|<=|&&|\|\||[><=!(),.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.replace("&quot;", '"')
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise WhereError(f"cannot parse the where filter near {text[pos : pos + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, Getter]) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise WhereError("the where filter ends too early")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise WhereError(f"expected {value!r} in the where filter, found {token[1]!r}")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[1].upper() in words

    def parse(self) -> Predicate:
        if not self.tokens:
            raise WhereError("the where filter is empty")
        pred = self.parse_or()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r} in the where filter")  # type: ignore[index]
        return pred

    def parse_or(self) -> Predicate:
        return self.parse_chain(("||", "OR"), self.parse_and, any)

    def parse_and(self) -> Predicate:
        return self.parse_chain(("&&", "AND"), self.parse_not, all)

    def parse_chain(
        self,
        words: tuple[str, str],
        parse_part: Callable[[], Predicate],
        combine: Callable[[Iterable[bool]], bool],
    ) -> Predicate:
        """Parts joined by one of ``words``, combined with :func:`any` or :func:`all`."""
        parts = [parse_part()]
        while self.at_word(*words):
            self.take()
            parts.append(parse_part())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: combine(p(obj) for p in parts)

    def parse_not(self) -> Predicate:
        if self.at_word("!", "NOT"):
            self.take()
            inner = self.parse_not()
            return lambda obj: not inner(obj)
        if self.at_word("("):
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_comparison()

    def parse_field(self) -> tuple[str, Getter, str | None]:
        kind, name = self.take()
        if kind != "name":
            raise WhereError(f"expected a field name in the where filter, found {name!r}")
        parts = [name]
        method: str | None = None
        while self.at_word("."):
            self.take()
            kind, part = self.take()
            if kind != "name":
                raise WhereError(f"expected a name after '.', found {part!r}")
            if part.lower() in {"startswith", "endswith", "contains"}:
                method = part.lower()
                break
            parts.append(part)
        dotted = ".".join(parts)
        getter = self.fields.get(dotted.lower())
        if getter is None:
            raise WhereError(f"the emulator cannot filter on {dotted!r}")
        return dotted, getter, method

    def parse_value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return Decimal(text)
        if kind != "name":
            raise WhereError(f"expected a value in the where filter, found {text!r}")
        word = text.lower()
        if word in {"true", "false"}:
            return word == "true"
        if word == "null":
            return None
        if word == "guid":
            self.expect("(")
            raw = self.parse_value()
            self.expect(")")
            try:
                return _Guid(str(uuid.UUID(str(raw))))
            except ValueError:
                raise WhereError(f"not a GUID: {raw!r}") from None
        if word == "datetime":
            self.expect("(")
            numbers = [self.parse_value()]
            while self.at_word(","):
                self.take()
                numbers.append(self.parse_value())
            self.expect(")")
            if len(numbers) == 1 and isinstance(numbers[0], str):
                try:
                    return _Date(parse_xero_date(numbers[0]))
                except ValueError:
                    raise WhereError(f"not a date: {numbers[0]!r}") from None
            if not 3 <= len(numbers) <= 6 or not all(isinstance(n, Decimal) for n in numbers):
                raise WhereError("DateTime takes (year, month, day[, hour, minute, second])")
            try:
                parts = [int(n) for n in numbers] + [0] * (6 - len(numbers))
                year, month, day, hour, minute, second = parts[:6]
                moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
            except ValueError as exc:
                raise WhereError(f"not a date: {exc}") from None
            return _Date(ms_from_datetime(moment))
        raise WhereError(f"unknown value {text!r} in the where filter")

    def parse_comparison(self) -> Predicate:
        dotted, getter, method = self.parse_field()
        if method is not None:
            self.expect("(")
            needle = self.parse_value()
            self.expect(")")
            if not isinstance(needle, str):
                raise WhereError(f"{dotted}.{method} takes a string")
            return _string_method(getter, method, needle)
        token = self.take()
        op = "==" if token[1] == "=" else token[1]
        if op not in {"==", "!=", ">", ">=", "<", "<="}:
            raise WhereError(f"unsupported operator {token[1]!r} in the where filter")
        value = self.parse_value()
        return _compare(getter, op, value, dotted)


def _string_method(getter: Getter, method: str, needle: str) -> Predicate:
    def pred(obj: Mapping[str, Any]) -> bool:
        value = getter(obj)
        if not isinstance(value, str):
            return False
        if method == "startswith":
            return value.startswith(needle)
        if method == "endswith":
            return value.endswith(needle)
        return needle in value

    return pred


def _coerce(field_value: Any, value: Any, dotted: str) -> tuple[Any, Any]:
    if isinstance(field_value, _Guid) or isinstance(value, _Guid):
        left = field_value.value if isinstance(field_value, _Guid) else field_value
        right = value.value if isinstance(value, _Guid) else value
        return (str(left).lower() if left is not None else None), (
            str(right).lower() if right is not None else None
        )
    if isinstance(field_value, _Date) or isinstance(value, _Date):
        left = field_value.ms if isinstance(field_value, _Date) else field_value
        if isinstance(value, str):
            try:
                value = _Date(parse_xero_date(value))
            except ValueError:
                raise WhereError(f"{dotted} must be compared with a DateTime") from None
        right = value.ms if isinstance(value, _Date) else value
        return left, right
    return field_value, value


def _compare(getter: Getter, op: str, value: Any, dotted: str) -> Predicate:
    def pred(obj: Mapping[str, Any]) -> bool:
        left, right = _coerce(getter(obj), value, dotted)
        if op == "==":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if left is None or right is None:
            return False
        try:
            if op == ">":
                return bool(left > right)
            if op == ">=":
                return bool(left >= right)
            if op == "<":
                return bool(left < right)
            return bool(left <= right)
        except TypeError:
            raise WhereError(f"cannot compare {dotted} with {value!r}") from None

    return pred


def compile_where(text: str, kind: str) -> Predicate:
    """Compile a ``where`` filter for ``Invoices``, ``CreditNotes`` or ``Contacts``.

    :raises WhereError: with a message fit for Xero's 400 validation body.
    """
    fields = FIELDS.get(kind)
    if fields is None:
        raise WhereError(f"where is not supported on {kind}")
    return _Parser(text, fields).parse()
