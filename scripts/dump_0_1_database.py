"""Write tests/fixtures/xero_panel_0_1.{sqlite,postgresql}.sql: a database as xero-panel 0.1
made and filled it, for tests/test_upgrade_from_0_1.py.

0.1 is commit 6e4e8ca ("Move the emulator into its own distribution"), the last commit
before the plugin's tables became migrations (b2aae04; revision 0001 is "the schema of
0.1"). This script takes 0.1's ``xero_panel`` package from git, runs it in a child Python
ahead of the installed one, builds a host app as 0.1's README did (``db.create_all()`` in
``create_app()``), writes representative rows through 0.1's own models and token cipher (a
connection with encrypted tokens, organisations, sync state, contacts with emails,
invoices, a credit note, payments, pins, record links, a webhook event), then dumps the
database as SQL text: Python's ``sqlite3`` ``iterdump`` for SQLite, ``pg_dump`` (plain SQL,
INSERTs, no owner, schema-unqualified) for PostgreSQL.

    python scripts/dump_0_1_database.py [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The rows' values are fixed, so running it again gives the same rows (the token's ciphertext
aside: Fernet puts a fresh IV and the time in it). The Fernet key below encrypts the
fixture's tokens; it is a test value, nothing else uses it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import uuid
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE_0_1 = "6e4e8ca"
#: Encrypts the fixture's tokens (a test key, committed on purpose).
FIXTURE_KEY = "9UoU2SXBOXDpsUXnr39xAh2wgCkR5lhyvy5bXrFzXHk="
FIXTURES = ROOT / "tests" / "fixtures"
HTMX = "xero_panel/static/xero_panel/htmx.min.js"


def extract_0_1(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", RELEASE_0_1, "xero_panel"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    # 0.1's init_app wants the htmx copy its build made; the bytes do not matter here.
    shutil.copyfile(ROOT / HTMX, into / HTMX)
    return into


def fill(url: str, source: Path) -> None:
    """Run :func:`child` in a Python that imports 0.1's package."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    subprocess.run(
        [sys.executable, __file__, "--child", url, str(source)], env=env, check=True, cwd=source
    )


def child(url: str, source: str) -> None:  # runs with 0.1's xero_panel first on the path
    import datetime as dt
    from decimal import Decimal

    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    import xero_panel
    from xero_panel import CRMRecord, XeroPanel
    from xero_panel import models as m
    from xero_panel.crypto import TokenCipher

    assert xero_panel.__file__.startswith(source), xero_panel.__file__

    def create_app() -> tuple[Flask, SQLAlchemy]:  # the host of 0.1's README
        app = Flask("host_0_1")
        app.config.update(
            SQLALCHEMY_DATABASE_URI=url,
            SECRET_KEY="fixture",  # noqa: S106 (a throwaway app)
            XERO_PANEL_CLIENT_ID="fixture-client",
            XERO_PANEL_CLIENT_SECRET="fixture-secret",  # noqa: S106
            XERO_PANEL_ENCRYPTION_KEYS=FIXTURE_KEY,
        )
        db = SQLAlchemy(app)
        panel = XeroPanel(app, db=db)
        panel.record_loader(lambda record_type, record_id: CRMRecord(name="x"))
        panel.account_resolver(lambda: "acme")
        panel.admin_check(lambda: True)
        with app.app_context():
            db.create_all()
        return app, db

    app, db = create_app()
    cipher = TokenCipher([FIXTURE_KEY])
    at = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    with app.app_context():
        s = db.session
        acme = m.Connection(
            crm_account="acme",
            status="active",
            token_ciphertext=cipher.encrypt(
                {
                    "access_token": "fixture-access-0.1",
                    "refresh_token": "fixture-refresh-0.1",
                    "token_type": "Bearer",
                    "expires_at": 1795000000,
                }
            ),
            access_expires_at=at + dt.timedelta(minutes=30),
            scopes="openid profile email offline_access accounting.transactions.read"
            " accounting.contacts.read accounting.settings.read",
            connected_by_email="owner@acme.test",
            connected_by_name="Olive Owner",
            xero_user_id="user-acme-1",
            created_at=at,
            updated_at=at,
            activated_at=at,
        )
        globex = m.Connection(crm_account="globex", status="pending", created_at=at, updated_at=at)
        s.add_all([acme, globex])
        s.flush()
        kiwi = m.Organisation(
            connection_id=acme.id,
            tenant_id="tenant-kiwi",
            xero_connection_id="conn-kiwi",
            name="Kiwi Garden Ltd",
            short_code="!kW1g",
            base_currency="NZD",
            timezone="Pacific/Auckland",
            selected=True,
            created_at=at,
        )
        spare = m.Organisation(
            connection_id=acme.id,
            tenant_id="tenant-spare",
            name="Spare Demo Company",
            base_currency="AUD",
            timezone="Australia/Sydney",
            selected=False,
            created_at=at,
        )
        s.add_all([kiwi, spare])
        s.flush()
        s.add(
            m.SyncState(
                organisation_id=kiwi.id,
                status="idle",
                phase="done",
                progress_done=5,
                progress_total=5,
                full_sync_started_at=at,
                full_sync_completed_at=at + dt.timedelta(seconds=4),
                fresh_at=at + dt.timedelta(seconds=4),
                invoices_modified_since=at,
                contacts_modified_since=at,
                credit_notes_modified_since=at,
                reconciled_at=at,
            )
        )
        kat = m.XeroContact(
            organisation_id=kiwi.id,
            contact_id="contact-kat",
            name="Kat Warren Design",
            name_key="katwarrendesign",
            email="kat@warren.test",
            is_customer=True,
            updated_at=at,
        )
        bo = m.XeroContact(
            organisation_id=kiwi.id,
            contact_id="contact-bo",
            name="Bo's Bakery",
            name_key="bosbakery",
            email="bo@bakery.test",
            is_customer=True,
            is_supplier=True,
            updated_at=at,
        )
        s.add_all([kat, bo])
        s.flush()
        for contact, email in [
            (kat, "kat@warren.test"),
            (kat, "accounts@warren.test"),
            (bo, "bo@bakery.test"),
        ]:
            s.add(m.ContactEmail(contact_pk=contact.id, organisation_id=kiwi.id, email_key=email))

        def invoice(
            n: int, contact: str, status: str, total: str, paid: str, **more: object
        ) -> m.Invoice:
            row = m.Invoice(
                organisation_id=kiwi.id,
                xero_id=f"invoice-{n}",
                xero_type="ACCREC",
                number=f"INV-{n:04d}",
                reference=f"Order {n}",
                contact_id=contact,
                status=status,
                date=dt.date(2026, 10, n),
                due_date=dt.date(2026, 10, n) + dt.timedelta(days=20),
                currency="NZD",
                total=Decimal(total),
                balance=Decimal(total) - Decimal(paid),
                amount_paid=Decimal(paid),
                updated_at=at,
            )
            for key, value in more.items():
                setattr(row, key, value)
            return row

        paid = invoice(
            1, "contact-kat", "PAID", "1150.00", "1150.00", fully_paid_on=dt.date(2026, 10, 15)
        )
        part = invoice(2, "contact-kat", "AUTHORISED", "2300.50", "1000.25")
        due = invoice(3, "contact-bo", "AUTHORISED", "99.99", "0")
        credit = invoice(
            4,
            "contact-bo",
            "AUTHORISED",
            "40.00",
            "0",
            kind="credit_note",
            xero_type="ACCRECCREDIT",
        )
        s.add_all([paid, part, due, credit])
        s.flush()
        s.add_all(
            [
                m.Payment(
                    invoice_pk=paid.id,
                    payment_id="pay-1",
                    date=dt.date(2026, 10, 15),
                    amount=Decimal("1150.00"),
                    reference="Bank 1",
                ),
                m.Payment(
                    invoice_pk=part.id,
                    payment_id="pay-2",
                    date=dt.date(2026, 10, 10),
                    amount=Decimal("500.00"),
                ),
                m.Payment(
                    invoice_pk=part.id,
                    payment_id="pay-3",
                    date=dt.date(2026, 10, 20),
                    amount=Decimal("500.25"),
                ),
            ]
        )
        record = {"crm_account": "acme", "organisation_id": kiwi.id}
        s.add_all(
            [
                m.Pin(
                    **record,
                    record_type="contact",
                    record_id="1",
                    xero_invoice_id="invoice-2",
                    pinned_by="rep@acme.test",
                    created_at=at,
                ),
                m.Pin(
                    **record,
                    record_type="account",
                    record_id="7",
                    xero_invoice_id="invoice-1",
                    pinned_by="admin@acme.test",
                    created_at=at,
                ),
                m.RecordLink(
                    **record,
                    record_type="account",
                    record_id="7",
                    contact_id="contact-bo",
                    linked_by="admin@acme.test",
                    created_at=at,
                ),
                m.WebhookEvent(
                    tenant_id="tenant-kiwi",
                    event_category="INVOICE",
                    event_type="UPDATE",
                    resource_id="invoice-2",
                    event_date="2026-11-20T09:29:58.123",
                    received_at=at,
                    processed_at=at + dt.timedelta(seconds=1),
                ),
            ]
        )
        s.commit()


def dump_sqlite(source: Path, work: Path) -> str:
    path = work / "0_1.db"
    fill(f"sqlite:///{path}", source)
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump()) + "\n"


def dump_postgres(source: Path, url: str) -> str:
    import sqlalchemy as sa

    schema = f"xp_dump_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        fill(f"{url}{separator}options=-csearch_path%3D{schema}", source)
        plain = engine.url.set(drivername="postgresql")
        text = subprocess.run(
            [
                "pg_dump",
                "--schema",
                schema,
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "--inserts",
                "--column-inserts",
                "--dbname",
                plain.render_as_string(hide_password=False),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    kept = []
    for line in text.splitlines():
        # Session settings, psql meta-commands and the schema itself: the test loads the
        # tables into a schema of its own, through its search_path.
        if re.match(r"(SET |SELECT pg_catalog\.set_config|\\|CREATE SCHEMA|--)", line):
            continue
        kept.append(line.replace(f"{schema}.", ""))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


HEADER = (
    "-- xero-panel 0.1 (commit {commit}): its tables as its db.create_all() made them, with\n"
    "-- representative rows. Written by scripts/dump_0_1_database.py; do not edit.\n"
)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = extract_0_1(Path(tmp) / "xero-panel-0.1")
        header = HEADER.format(commit=RELEASE_0_1)
        for name, text in [
            ("sqlite", dump_sqlite(source, Path(tmp))),
            ("postgresql", dump_postgres(source, args.postgres_url)),
        ]:
            target = FIXTURES / f"xero_panel_0_1.{name}.sql"
            target.write_text(header + text)
            print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
