"""Each view rule is stated once and means the same in SQL and in Python: for a grid of
documents (every type, status, balance and due date around "today"), the SQL condition of
every rule selects exactly the documents its Python form accepts; and each row status comes
from those same rules."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.panel_fixtures import NOW, TODAY_NZ, Cache
from xero_panel.models import Invoice, Organisation
from xero_panel.panel.view_rules import (
    AGE_BUCKETS,
    AGING_RULE,
    ROW_STATUSES,
    TOTALS_RULE,
    VIEW_RULES,
    Condition,
    age_bucket,
    age_rule,
    due_info,
    row_status,
    rule_condition,
    rule_holds,
    today_in,
)

DAY = dt.timedelta(days=1)


def grid(session: Session) -> tuple[list[Organisation], list[Invoice]]:
    cache = Cache(session)
    connection = cache.connection("acme")
    # Two organisations whose "today" differs: Auckland is a day ahead of UTC at NOW.
    orgs = [cache.organisation(connection), cache.organisation(connection, timezone="UTC")]
    documents: list[Invoice] = []
    # Around today, and around the ageing buckets' edges (30/31, 60/61, 90/91 days past due).
    edges = (29, 30, 31, 32, 60, 61, 62, 89, 90, 91, 92)
    dues = (
        None,
        TODAY_NZ - 2 * DAY,
        TODAY_NZ - DAY,
        TODAY_NZ,
        TODAY_NZ + DAY,
        *(TODAY_NZ - n * DAY for n in edges),
    )
    amounts = (("100.00", "0.00"), ("100.00", "40.00"), ("100.00", "100.00"))
    statuses = ("AUTHORISED", "PAID", "VOIDED", "DELETED", "DRAFT")
    for org, due, (total, paid), status, xero_type in itertools.product(
        orgs, dues, amounts, statuses, ("ACCREC", "ACCPAY")
    ):
        customer = f"c-{org.id}"
        documents.append(
            cache.invoice(
                org, customer, due=due, total=total, paid=paid, status=status, xero_type=xero_type
            )
        )
    for org, status, remaining in itertools.product(orgs, ("AUTHORISED", "PAID"), ("0", "20")):
        documents.append(cache.credit_note(org, f"c-{org.id}", status=status, remaining=remaining))
    return orgs, documents


RULES: dict[str, tuple[Condition, ...]] = {
    **{f"view {name}": rule for name, rule in VIEW_RULES.items()},
    "totals": TOTALS_RULE,
    "ageing": AGING_RULE,
    **{f"age {bucket}": age_rule(bucket) for bucket in AGE_BUCKETS},
    **{f"status {i} {status}": rule for i, (status, rule) in enumerate(ROW_STATUSES)},
}


@pytest.mark.parametrize("name", list(RULES))
def test_sql_and_python_forms_of_each_rule_agree(session: Session, name: str) -> None:
    orgs, documents = grid(session)
    by_org = {o.id: o for o in orgs}
    rule = RULES[name]
    in_sql = set(session.scalars(select(Invoice.id).where(rule_condition(rule, orgs, NOW))))
    in_python = {
        d.id for d in documents if rule_holds(rule, d, today_in(by_org[d.organisation_id], NOW))
    }
    assert in_sql == in_python
    assert in_sql or name.startswith("status") or name == "view paid"  # the grid covers it


def test_an_overdue_row_is_what_the_overdue_view_lists(session: Session) -> None:
    orgs, documents = grid(session)
    by_org = {o.id: o for o in orgs}
    overdue_view = set(
        session.scalars(select(Invoice.id).where(rule_condition(VIEW_RULES["overdue"], orgs, NOW)))
    )
    overdue_rows = {
        d.id
        for d in documents
        if row_status(d, today_in(by_org[d.organisation_id], NOW))[0] == "overdue"
    }
    assert overdue_rows == overdue_view


def test_days_overdue_count_from_the_organisations_today(session: Session) -> None:
    cache = Cache(session)
    org = cache.organisation(cache.connection("acme"))
    invoice = cache.invoice(org, "c", due=TODAY_NZ - 3 * DAY)
    assert row_status(invoice, TODAY_NZ) == ("overdue", 3)
    assert row_status(cache.invoice(org, "c", due=TODAY_NZ), TODAY_NZ) == ("open", None)


def test_a_dated_rule_needs_the_time() -> None:
    organisation = Organisation(id=1, timezone="Pacific/Auckland")
    with pytest.raises(ValueError, match="needs the time"):
        rule_condition(VIEW_RULES["overdue"], [organisation])


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_age_bucket_edges(days_past_due: int, bucket: str) -> None:
    assert age_bucket(TODAY_NZ - days_past_due * DAY, TODAY_NZ) == bucket


def test_age_bucket_without_due_date_is_current() -> None:
    assert age_bucket(None, TODAY_NZ) == "current"


def test_every_unpaid_invoice_is_in_exactly_one_bucket(session: Session) -> None:
    orgs, _documents = grid(session)
    by_bucket = [
        set(session.scalars(select(Invoice.id).where(rule_condition(age_rule(b), orgs, NOW))))
        for b in AGE_BUCKETS
    ]
    unpaid = set(session.scalars(select(Invoice.id).where(rule_condition(AGING_RULE, orgs, NOW))))
    assert sum(len(b) for b in by_bucket) == len(unpaid) > 0
    assert set().union(*by_bucket) == unpaid


def test_due_info_per_document(session: Session) -> None:
    orgs, documents = grid(session)
    by_org = {o.id: o for o in orgs}
    for d in documents:
        today = today_in(by_org[d.organisation_id], NOW)
        info = due_info(d, today)
        if d.xero_type != "ACCREC" or d.status not in ("AUTHORISED", "PAID"):
            assert info is None
        elif d.balance == 0:
            assert info == ("paid", None)
        elif d.due_date is None:
            assert info is None
        elif d.due_date >= today:
            assert info == ("due", (d.due_date - today).days)
        else:
            assert info == ("overdue", (today - d.due_date).days)
