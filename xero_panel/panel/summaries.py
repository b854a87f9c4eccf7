"""The record's summaries from the local cache: the totals with what they include, the
ageing strip and the live update's fingerprint.

Plain SQLAlchemy (no Flask), and never a call to Xero; each summary is one query whatever
the number of invoices. What each adds up is stated in :mod:`.view_rules`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..models import Invoice, Organisation, Pin
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
    age_bucket,
    rule_condition,
    today_in,
)


def contacts_condition(contacts: Sequence[tuple[int, str]]) -> ColumnElement[bool]:
    by_org: dict[int, list[str]] = {}
    for organisation_id, contact_id in contacts:
        by_org.setdefault(organisation_id, []).append(contact_id)
    if not by_org:
        return false()
    return or_(
        *(
            and_(Invoice.organisation_id == org, Invoice.contact_id.in_(sorted(ids)))
            for org, ids in sorted(by_org.items())
        )
    )


def record_totals(
    session: Session, contacts: Sequence[tuple[int, str]]
) -> tuple[CurrencyTotal, ...]:
    """*Total paid* and *Total unpaid* per currency over the record's listed invoices
    (not narrowed by view, search or dates; credit notes excluded), with what they include
    (paid on still unpaid invoices, credit applied) and the unused credit of the record's
    credit notes, by currency code; one query."""
    if not contacts:
        return ()
    invoice = rule_condition(TOTALS_RULE)
    credit_note = rule_condition((CREDIT_NOTE, LISTED))
    part_paid = and_(invoice, UNPAID.sql(dt.date.min), PART_PAID.sql(dt.date.min))

    def total(condition: Any, column: Any) -> Any:
        return func.sum(case((condition, column)))

    rows = session.execute(
        select(
            Invoice.currency,
            total(invoice, Invoice.amount_paid),
            total(invoice, Invoice.balance),
            total(part_paid, Invoice.amount_paid),
            total(invoice, Invoice.amount_credited),
            total(credit_note, Invoice.balance),
            func.count(case((invoice, Invoice.id))),
        )
        .where(contacts_condition(contacts), rule_condition((DOCUMENT, LISTED)))
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    ).all()
    return tuple(
        CurrencyTotal(
            currency=currency,
            paid=_cents(paid),
            unpaid=_cents(unpaid),
            part_paid=_cents(partly),
            credited=_cents(credited),
            credit=_cents(credit),
            has_invoices=bool(invoices),
        )
        for currency, paid, unpaid, partly, credited, credit, invoices in rows
    )


def record_aging(
    session: Session,
    org_by_id: dict[int, Organisation],
    contacts: Sequence[tuple[int, str]],
    now: dt.datetime,
) -> tuple[AgeAmount, ...]:
    """The ageing strip: the record's unpaid balances per currency and bucket (every bucket,
    in order, for each currency with an unpaid invoice), on each organisation's "today";
    one query, grouped by due date, bucketed here by the same rule as ``age=``."""
    if not contacts:
        return ()
    rows = session.execute(
        select(
            Invoice.organisation_id,
            Invoice.currency,
            Invoice.due_date,
            func.sum(Invoice.balance),
            func.count(Invoice.id),
        )
        .where(contacts_condition(contacts), rule_condition(AGING_RULE))
        .group_by(Invoice.organisation_id, Invoice.currency, Invoice.due_date)
    ).all()
    sums: dict[tuple[str, str], tuple[Any, int]] = {}
    for org_id, currency, due_date, amount, count in rows:
        organisation = org_by_id.get(org_id)
        if organisation is None:
            continue
        key = (age_bucket(due_date, today_in(organisation, now)), currency)
        before, n = sums.get(key, (ZERO, 0))
        sums[key] = (before + _cents(amount), n + count)
    currencies = sorted({currency for _, currency in sums})
    return tuple(
        AgeAmount(bucket, currency, *sums.get((bucket, currency), (ZERO, 0)))
        for currency in currencies
        for bucket in AGE_BUCKETS
    )


def record_version(
    session: Session, contacts: Sequence[tuple[int, str]], record: RecordRef, org_ids: Sequence[int]
) -> str:
    """A short fingerprint of what the record's panel shows from the cache: it changes when
    a document of the record or its pins change (the live update's cheap check; one query,
    no Xero call)."""
    if not contacts:
        documents: Any = (0, None, None, None)
    else:
        documents = session.execute(
            select(
                func.count(Invoice.id),
                func.max(Invoice.updated_at),
                func.sum(Invoice.balance),
                func.sum(Invoice.amount_paid),
            ).where(contacts_condition(contacts), rule_condition((DOCUMENT,)))
        ).one()
    pins = session.execute(
        select(func.count(Pin.id), func.max(Pin.id)).where(
            *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_ids)
        )
    ).one()
    text = "|".join(str(v) for v in (*documents, *pins))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cents(value: Decimal | None) -> Decimal:
    # SUM keeps the Money type, so sums come back as Decimal amounts already.
    return ZERO if value is None else value
