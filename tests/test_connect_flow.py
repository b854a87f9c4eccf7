"""The admin's connect as plain Python (xero_panel.connect_flow), without an app: each step's
refusals and what Save starts. The whole flow through the routes and the emulator is in
test_admin_flow.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.config_support import config
from xero_panel.config import read_settings
from xero_panel.connect_flow import (
    CALLBACK_ERRORS,
    ConnectFlow,
    ConnectRefused,
    PendingConnect,
)
from xero_panel.crypto import TokenCipher
from xero_panel.models import Base, Connection, Organisation
from xero_panel.sync.scheduling import CacheOnlyScheduler

SETTINGS = read_settings(config())


class StartsRecorded(CacheOnlyScheduler):
    def __init__(self) -> None:
        self.started: list[int] = []

    def start_full_sync(self, organisation_id: int) -> bool:
        self.started.append(organisation_id)
        return True


def no_xero(tokens: Any) -> Any:
    raise AssertionError("this step must not call Xero")


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def scheduler() -> StartsRecorded:
    return StartsRecorded()


@pytest.fixture
def flow(scheduler: StartsRecorded) -> ConnectFlow:
    cipher = TokenCipher(SETTINGS.encryption_keys)
    return ConnectFlow(settings=SETTINGS, cipher=cipher, client=no_xero, scheduler=scheduler)


def test_begin_sends_the_admin_to_xero_with_state_and_pkce(flow: ConnectFlow) -> None:
    url, pending = flow.begin("acme", "https://crm.test/xero/callback")
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == [pending.state]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["https://crm.test/xero/callback"]
    assert pending.crm_account == "acme" and len(pending.code_verifier) >= 43
    assert PendingConnect.from_dict(pending.as_dict()) == pending
    assert PendingConnect.from_dict({"state": "s"}) is None
    assert PendingConnect.from_dict("not a dict") is None


@pytest.mark.parametrize(
    ("pending", "answer"),
    [
        (None, {"state": "s", "code": "c"}),  # no connect begun in this browser
        (PendingConnect("globex", "s", "v"), {"state": "s", "code": "c"}),  # another account
        (PendingConnect("acme", "s", "v"), {"state": "other", "code": "c"}),  # forged
        (PendingConnect("acme", "s", "v"), {"code": "c"}),  # no state at all
        (PendingConnect("acme", "s", "v"), {"state": "other", "error": "access_denied"}),
    ],
)
def test_complete_refuses_an_answer_that_is_not_this_browsers(
    flow: ConnectFlow, session: Session, pending: PendingConnect | None, answer: dict[str, str]
) -> None:
    with pytest.raises(ConnectRefused, match="does not match a connect request"):
        flow.complete(session, crm_account="acme", pending=pending, answer=answer, redirect_uri="x")


def test_complete_words_xeros_error_itself_and_changes_nothing(
    flow: ConnectFlow, session: Session
) -> None:
    pending = PendingConnect("acme", "s", "v")
    answer = {"state": "s", "error": "access_denied", "error_description": "<b>evil</b>"}
    done = flow.complete(
        session, crm_account="acme", pending=pending, answer=answer, redirect_uri="x"
    )
    assert done.connection is None
    assert done.notices == [CALLBACK_ERRORS["access_denied"]]
    unknown = {"state": "s", "error": "made_up"}
    done = flow.complete(
        session, crm_account="acme", pending=pending, answer=unknown, redirect_uri="x"
    )
    assert "evil" not in done.notices[0][0] and done.notices[0][1] == "error"
    with pytest.raises(ConnectRefused, match="no authorisation code"):
        flow.complete(
            session, crm_account="acme", pending=pending, answer={"state": "s"}, redirect_uri="x"
        )
    assert session.scalar(select(func.count()).select_from(Connection)) == 0


def pending_grant(session: Session, *tenants: str) -> Connection:
    connection = Connection(crm_account="acme", status="pending")
    for tenant in tenants:
        connection.organisations.append(
            Organisation(tenant_id=tenant, name=f"Org {tenant}", selected=False)
        )
    session.add(connection)
    session.commit()
    return connection


def test_save_activates_the_chosen_and_starts_only_their_first_sync(
    flow: ConnectFlow, session: Session, scheduler: StartsRecorded
) -> None:
    connection = pending_grant(session, "t1", "t2")
    saved = flow.save(session, "acme", ["t2"])
    assert [o.tenant_id for o in saved.chosen] == [o.tenant_id for o in saved.first_sync] == ["t2"]
    assert connection.status == "active" and connection.activated_at is not None
    by_tenant = {o.tenant_id: o for o in connection.organisations}
    assert scheduler.started == [by_tenant["t2"].id]
    # Saving again with one more starts only the new one's first sync.
    flow.save(session, "acme", ["t1", "t2"])
    assert scheduler.started == [by_tenant["t2"].id, by_tenant["t1"].id]


def test_save_chooses_the_only_organisation_when_none_is_named(
    flow: ConnectFlow, session: Session, scheduler: StartsRecorded
) -> None:
    pending_grant(session, "t1")
    assert [o.tenant_id for o in flow.save(session, "acme", []).chosen] == ["t1"]
    assert len(scheduler.started) == 1


def test_save_refuses_what_it_cannot_save(
    flow: ConnectFlow, session: Session, scheduler: StartsRecorded
) -> None:
    with pytest.raises(ConnectRefused, match="connect to Xero first"):
        flow.save(session, "acme", ["t1"])
    pending_grant(session, "t1", "t2")
    with pytest.raises(ConnectRefused, match="not part of this Xero connection"):
        flow.save(session, "acme", ["t9"])
    with pytest.raises(ConnectRefused, match="Choose at least one"):
        flow.save(session, "acme", [])
    assert scheduler.started == []
