"""The record's summary from the local cache: the totals with what they include, the
ageing strip, how the customer pays and the live update's fingerprint.

Plain SQLAlchemy (no Flask), and never a call to Xero; the whole summary is one query
whatever the number of invoices. What each part adds up is stated in :mod:`.view_rules`
and, for how the customer pays, :mod:`.payment_rules`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..clock import utcnow
from ..models import Invoice, Organisation, Pin
from .payment_rules import (
    PaymentBehaviour,
    add_sums,
    payment_behaviour,
    period_values,
    sum_columns,
)
from .rows import ZERO, AgeAmount, CurrencyTotal, RecordRef
from .view_rules import (
    AGE_BUCKETS,
    AGING_RULE,
    CREDIT_NOTE,
    DOCUMENT,
    LISTED,
    PART_PAID,
    TOTALS_RULE,
    UNPAID,
    BoundOrganisation,
    age_condition,
    bound_values,
    rule_condition,
)


def contact_groups(contacts: Sequence[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    """The record's ``(organisation_id, ContactID)`` pairs by organisation, in order."""
    by_org: dict[int, list[str]] = {}
    for organisation_id, contact_id in contacts:
        by_org.setdefault(organisation_id, []).append(contact_id)
    return [(org, sorted(ids)) for org, ids in sorted(by_org.items())]


def contacts_condition(groups: int) -> ColumnElement[bool]:
    """The documents of the record's contacts, in ``groups`` organisations, as bound
    parameters (:func:`record_values` gives their values)."""
    if not groups:
        return false()
    return or_(
        *(
            and_(
                Invoice.organisation_id == bindparam(f"contact_org_{i}"),
                Invoice.contact_id.in_(bindparam(f"contact_ids_{i}", expanding=True)),
            )
            for i in range(groups)
        )
    )


def pins_condition(organisations: int) -> tuple[ColumnElement[bool], ...]:
    """The record's pins in its ``organisations`` (bound, like :func:`contacts_condition`)."""
    return Pin.of_record(
        bindparam("crm_account", type_=String),
        bindparam("record_type", type_=String),
        bindparam("record_id", type_=String),
        [BoundOrganisation(i).id for i in range(organisations)],
    )


def bound(organisations: int) -> list[BoundOrganisation]:
    return [BoundOrganisation(i) for i in range(organisations)]


def record_values(
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    record: RecordRef | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The values of the bound parameters of the record's statements: its organisations
    (ids and "today"), its contacts and the record itself."""
    values = bound_values(organisations, now) | period_values(organisations, now)
    for i, (organisation_id, ids) in enumerate(contact_groups(contacts)):
        values[f"contact_org_{i}"] = organisation_id
        values[f"contact_ids_{i}"] = ids
    if record is not None:
        values.update(
            crm_account=record.crm_account,
            record_type=record.record_type,
            record_id=record.record_id,
        )
    return values


@dataclass(frozen=True)
class RecordSummary:
    """What the panel shows of a record beside its list: the totals, the ageing strip, and
    the live update's fingerprint of its cached documents and pins."""

    totals: tuple[CurrencyTotal, ...]
    aging: tuple[AgeAmount, ...]
    #: Changes when a document of the record or its pins change (16 hex characters).
    version: str
    #: How the record's customers pay (``None`` when not asked for).
    payments: PaymentBehaviour | None = None


def record_summary(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    *,
    record: RecordRef | None = None,
    now: dt.datetime | None = None,
    payments: bool = False,
) -> RecordSummary:
    """The record's totals, ageing strip and fingerprint in one query, whatever the number
    of invoices: its documents grouped by currency and ageing bucket (the bucket worked out
    in SQL, on each organisation's "today"), beside the count of its pins. With
    ``payments``, the same query also adds up how the record's customers pay
    (:mod:`.payment_rules`).

    *Total paid* and *Total unpaid* add up the record's listed invoices (not narrowed by
    view, search or dates; credit notes excluded), with what they include (paid on still
    unpaid invoices, credit applied), and the unused credit of its credit notes, by
    currency code. The ageing strip has every bucket, in order, for each currency with an
    unpaid invoice.
    """
    now = now or utcnow()
    statement = _summary_statement(
        len(organisations), len(contact_groups(contacts)), record is not None, payments
    )
    values = record_values(organisations, contacts, record, now)
    rows = session.execute(statement, values).all()
    groups = [row for row in rows if row.currency is not None]
    return RecordSummary(
        totals=_totals(groups),
        aging=_aging(groups),
        version=_fingerprint(groups, rows[0].pins, rows[0].last_pin, rows[0].last_pinned_at),
        payments=payment_behaviour(add_sums(g._mapping for g in groups)) if payments else None,
    )


@functools.lru_cache(maxsize=64)
def _summary_statement(
    organisations: int, groups: int, with_pins: bool, with_payments: bool = False
) -> Select[Any]:
    """The summary's statement for a shape of record (how many organisations and contact
    groups), built once and run with bound values."""
    invoice = rule_condition(TOTALS_RULE)
    part_paid = and_(invoice, UNPAID.sql(dt.date.min), PART_PAID.sql(dt.date.min))
    aged = rule_condition(AGING_RULE)
    bucket = case(
        *(
            (rule_condition((age_condition(name),), bound(organisations)), name)
            for name in AGE_BUCKETS
        )
    )
    summed = {
        "paid": (invoice, Invoice.amount_paid),
        "unpaid": (invoice, Invoice.balance),
        "part_paid": (part_paid, Invoice.amount_paid),
        "credited": (invoice, Invoice.amount_credited),
        "credit": (rule_condition((CREDIT_NOTE, LISTED)), Invoice.balance),
        "aged": (aged, Invoice.balance),
    }
    counted = {"invoices": invoice, "listed": rule_condition((LISTED,)), "aged_count": aged}
    shares = sum_columns(organisations) if with_payments else {}
    documents = (
        select(
            Invoice.currency,
            bucket.label("bucket"),
            Invoice.balance,
            Invoice.amount_paid,
            Invoice.updated_at,
            *(case((when, column)).label(name) for name, (when, column) in summed.items()),
            *(case((when, 1), else_=0).label(name) for name, when in counted.items()),
            *(share.label(name) for name, share in shares.items()),
        )
        .where(contacts_condition(groups), rule_condition((DOCUMENT,)))
        .subquery()
    )
    c = documents.c
    grouped = (
        select(
            c.currency,
            c.bucket,
            *(func.sum(c[name]).label(name) for name in (*summed, *counted, *shares)),
            func.count().label("documents"),
            func.max(c.updated_at).label("updated_at"),
            func.sum(c.balance).label("balance"),
            func.sum(c.amount_paid).label("amount_paid"),
        )
        .group_by(c.currency, c.bucket)
        .subquery()
    )
    pins = (
        select(
            func.count(Pin.id).label("pins"),
            func.max(Pin.id).label("last_pin"),
            func.max(Pin.created_at).label("last_pinned_at"),
        )
        .where(*(pins_condition(organisations) if with_pins else (false(),)))
        .subquery()
    )
    return (
        select(pins, grouped)
        .select_from(pins.outerjoin(grouped, true()))
        .order_by(grouped.c.currency, grouped.c.bucket)
    )


def _totals(groups: Sequence[Any]) -> tuple[CurrencyTotal, ...]:
    fields = ("paid", "unpaid", "part_paid", "credited", "credit")
    by_currency: dict[str, dict[str, Any]] = {}
    for group in groups:
        if not group.listed:
            continue
        sums = by_currency.setdefault(group.currency, dict.fromkeys((*fields, "invoices"), 0))
        for name in (*fields, "invoices"):
            sums[name] += _cents(getattr(group, name)) if name in fields else group.invoices
    return tuple(
        CurrencyTotal(
            currency=currency,
            **{name: ZERO + sums[name] for name in fields},
            has_invoices=bool(sums["invoices"]),
        )
        for currency, sums in sorted(by_currency.items())
    )


def _aging(groups: Sequence[Any]) -> tuple[AgeAmount, ...]:
    sums = {
        (g.bucket, g.currency): (_cents(g.aged), g.aged_count)
        for g in groups
        if g.aged_count and g.bucket is not None
    }
    currencies = sorted({currency for _, currency in sums})
    return tuple(
        AgeAmount(bucket, currency, *sums.get((bucket, currency), (ZERO, 0)))
        for currency in currencies
        for bucket in AGE_BUCKETS
    )


def _fingerprint(
    groups: Sequence[Any], pins: int, last_pin: int | None, last_pinned_at: Any
) -> str:
    """The live update's fingerprint of a record's panel: its documents' count, newest Xero
    update and sums, and its pins' count, highest id and newest time (an unpin and a pin of
    another invoice keep the count, and on SQLite, which reuses the highest id, the id; the
    new pin's time is later)."""
    documents = (
        sum(g.documents for g in groups),
        max((g.updated_at for g in groups if g.updated_at is not None), default=None),
        sum((_cents(g.balance) for g in groups), ZERO),
        sum((_cents(g.amount_paid) for g in groups), ZERO),
    )
    text = "|".join(str(v) for v in (*documents, pins, last_pin, last_pinned_at))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_version(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    record: RecordRef,
) -> str:
    """The live update's cheap check: the fingerprint of :func:`record_summary` (one query,
    no Xero call), the same one the panel carries in ``data-version``."""
    return record_summary(session, organisations, contacts, record=record).version


def content_version(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    record: RecordRef,
) -> str:
    """The fragment cache's fingerprint of everything the record's panel reads from the
    cache: its documents' count, newest Xero update and sums (as :func:`record_version`)
    and each of its pins by id and invoice, so that a pin moved to another invoice under a
    reused id still changes it. One statement, no Xero call (a cache hit's only read of
    the record's documents)."""
    statement = _content_statement(len(organisations), len(contact_groups(contacts)))
    values = record_values(organisations, contacts, record, utcnow())
    rows = session.execute(statement, values).all()
    documents = next(row for row in rows if row.kind == "d")
    pins = sorted((row.n, row.pin) for row in rows if row.kind == "p")
    text = repr((documents.n, documents.at, documents.balance, documents.paid, pins))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=64)
def _content_statement(organisations: int, groups: int) -> CompoundSelect[Any]:
    """The statement of :func:`content_version` for a shape of record, built once."""
    documents = select(
        literal("d").label("kind"),
        func.count().label("n"),
        func.max(Invoice.updated_at).label("at"),
        func.sum(Invoice.balance).label("balance"),
        func.sum(Invoice.amount_paid).label("paid"),
        cast(null(), String).label("pin"),
    ).where(contacts_condition(groups), rule_condition((DOCUMENT,)))
    pins = select(
        literal("p"),
        Pin.id,
        null(),
        null(),
        null(),
        cast(Pin.organisation_id, String) + "/" + Pin.xero_invoice_id,
    ).where(*pins_condition(organisations))
    return union_all(documents, pins)


def _cents(value: Decimal | None) -> Decimal:
    # SUM keeps the Money type, so sums come back as Decimal amounts already.
    return ZERO if value is None else value
