"""Reading, storing and removing one CRM account's Xero connection and its cached data.

Plain SQLAlchemy: every function takes the session it works in, so it runs in a request,
a CLI command or a worker alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, joinedload

from .clock import utcnow
from .crypto import TokenCipher
from .exceptions import AuthExpired
from .models import (
    Connection,
    ContactEmail,
    Invoice,
    Organisation,
    Payment,
    Pin,
    ReconcileSeen,
    RecordLink,
    SyncState,
    XeroContact,
)
from .xero.client import XeroClient


def get_connection(session: Session, crm_account: str) -> Connection | None:
    """The CRM account's connection, or None when it never connected (or removed it)."""
    return session.scalars(select(Connection).where(Connection.crm_account == crm_account)).first()


def connection_and_organisations(
    session: Session, crm_account: str
) -> tuple[Connection | None, list[Organisation]]:
    """The CRM account's connection and the organisations that feed its panel, in one
    query: the selected ones, by name. An active connection's feed the panel; one that
    needs reconnecting still shows its cache. No connection: ``(None, [])``."""
    connection = (
        session.scalars(
            select(Connection)
            .where(Connection.crm_account == crm_account)
            .options(joinedload(Connection.organisations))
        )
        .unique()
        .first()
    )
    if connection is None:
        return None, []
    return connection, feeding_panel(connection.organisations)


def feeding_panel(organisations: Iterable[Organisation]) -> list[Organisation]:
    """The organisations that feed the panel, in its order: the selected ones, by name."""
    return sorted((o for o in organisations if o.selected), key=_by_name)


def _by_name(organisation: Organisation) -> tuple[str, int]:
    return (organisation.name, organisation.id)


def selected_organisations(session: Session, crm_account: str) -> list[Organisation]:
    """The organisations of the CRM account's active connection that feed its panel."""
    connection, organisations = connection_and_organisations(session, crm_account)
    return organisations if connection is not None and connection.status == "active" else []


def delete_account_data(session: Session, crm_account: str) -> None:
    """Delete the CRM account's connection, tokens and every cached row, pins and links
    included. The caller commits.
    """
    organisation_ids = (
        select(Organisation.id).join(Connection).where(Connection.crm_account == crm_account)
    )
    delete_organisation_data(session, organisation_ids)
    session.execute(delete(Pin).where(Pin.crm_account == crm_account))
    session.execute(delete(RecordLink).where(RecordLink.crm_account == crm_account))
    session.execute(delete(Organisation).where(Organisation.id.in_(organisation_ids)))
    session.execute(delete(Connection).where(Connection.crm_account == crm_account))


def delete_organisation_data(session: Session, organisation_ids: Any) -> None:
    """Delete every row cached for these organisations (a list of ids or a select of
    them), pins and links on them included, but not the organisation rows. Explicit
    deletes, table by table, because SQLite databases usually do not enforce
    ``ON DELETE CASCADE``.
    """
    invoice_ids = select(Invoice.id).where(Invoice.organisation_id.in_(organisation_ids))
    contact_ids = select(XeroContact.id).where(XeroContact.organisation_id.in_(organisation_ids))
    session.execute(delete(Pin).where(Pin.organisation_id.in_(organisation_ids)))
    session.execute(delete(RecordLink).where(RecordLink.organisation_id.in_(organisation_ids)))
    session.execute(delete(Payment).where(Payment.invoice_pk.in_(invoice_ids)))
    session.execute(delete(Invoice).where(Invoice.organisation_id.in_(organisation_ids)))
    session.execute(delete(ContactEmail).where(ContactEmail.contact_pk.in_(contact_ids)))
    session.execute(delete(XeroContact).where(XeroContact.organisation_id.in_(organisation_ids)))
    session.execute(delete(SyncState).where(SyncState.organisation_id.in_(organisation_ids)))
    seen = ReconcileSeen.organisation_id.in_(organisation_ids)
    session.execute(delete(ReconcileSeen).where(seen))


def jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT that came with a token response (the id_token, or the access
    token, whose ``authentication_event_id`` names the sign-in).

    The token came straight from Xero's token endpoint over TLS, which OpenID Connect
    accepts in place of checking the signature (Core 1.0, 3.1.3.7 item 6), so only the
    payload is read here.
    """
    if not token:
        return {}
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def id_token_claims(id_token: str | None) -> dict[str, Any]:
    """The claims of the id_token that came with a token response (see :func:`jwt_claims`)."""
    return jwt_claims(id_token)


def auth_event_of(token: dict[str, Any]) -> str | None:
    """The sign-in a token response belongs to: the access token's
    ``authentication_event_id``, which is the ``authEventId`` that ``GET /connections`` gives
    the connections this sign-in made or renewed."""
    value = jwt_claims(str(token.get("access_token") or "")).get("authentication_event_id")
    return str(value) if value else None


def save_connection(
    session: Session,
    *,
    crm_account: str,
    token: dict[str, Any],
    cipher: TokenCipher,
    client: XeroClient,
    tenant_ids: Iterable[str] | None = None,
    activate: bool = True,
    now: dt.datetime | None = None,
) -> Connection:
    """Store a fresh grant for a CRM account: encrypted token, who connected, and the
    organisations it covers (``tenant_ids`` chooses which are used; default those granted).

    The organisations offered are those this sign-in granted (``GET /connections`` filtered
    by the access token's ``authentication_event_id`` against ``authEventId``), plus those the
    CRM account already used that are still connected. The Xero user's other connections,
    made for other CRM accounts of this host, are not offered. Without an event id in the
    token, every connection is offered.

    A saved connection that is connected again (a reconnect) stays active until the admin
    presses Save, so the panel keeps showing the cache (``reconnect_started_at`` is set).

    Calls Xero twice per organisation at most: ``GET /connections`` once, then
    ``GET /Organisation`` for each new one (its short code and timezone). The caller
    commits.
    """
    now = now or utcnow()
    auth_event_id = auth_event_of(token)
    listed = [c for c in client.connections() if c.tenant_type == "ORGANISATION"]
    this_sign_in = {
        c.tenant_id
        for c in listed
        if auth_event_id is None or c.auth_event_id is None or c.auth_event_id == auth_event_id
    }
    wanted = set(tenant_ids) if tenant_ids is not None else this_sign_in
    claims = id_token_claims(token.get("id_token"))
    connection = get_connection(session, crm_account)
    if connection is None:
        connection = Connection(crm_account=crm_account)
        session.add(connection)
    reconnecting = not activate and connection.activated_at is not None
    expires_in = int(token.get("expires_in") or 1800)
    token = {**token, "expires_at": token.get("expires_at") or int(now.timestamp()) + expires_in}
    connection.token_ciphertext = cipher.encrypt(token)
    connection.access_expires_at = dt.datetime.fromtimestamp(token["expires_at"], dt.UTC)
    connection.scopes = str(token.get("scope") or "")
    connection.connected_by_email = claims.get("email")
    names = [claims.get("given_name"), claims.get("family_name")]
    connection.connected_by_name = " ".join(n for n in names if n) or None
    connection.xero_user_id = claims.get("xero_userid")
    connection.auth_event_id = auth_event_id
    if reconnecting:
        connection.status = "active"
        connection.reconnect_started_at = now
    else:
        connection.status = "active" if activate else "pending"
        connection.activated_at = now if activate else None
        connection.reconnect_started_at = None
    connection.last_error = None
    connection.last_error_at = None

    known = {o.tenant_id: o for o in connection.organisations}
    for grant in listed:
        granted_now = grant.tenant_id in this_sign_in
        organisation = known.pop(grant.tenant_id, None)
        if organisation is None and not granted_now:
            continue  # the Xero user's connection for another CRM account: not offered
        if organisation is None:
            organisation = Organisation(tenant_id=grant.tenant_id, selected=False)
            connection.organisations.append(organisation)
        if granted_now:
            organisation.auth_event_id = grant.auth_event_id
        organisation.xero_connection_id = grant.id
        organisation.name = grant.tenant_name or grant.tenant_id
        if not reconnecting:
            organisation.selected = grant.tenant_id in wanted
        if (organisation.selected or grant.tenant_id in wanted) and organisation.short_code is None:
            details = client.organisation(grant.tenant_id)
            organisation.name = details.name or organisation.name
            organisation.short_code = details.short_code
            organisation.base_currency = details.base_currency
            organisation.timezone = details.timezone
            organisation.country_code = details.country_code
    gone = list(known.values())
    if gone:
        # Disconnected in Xero since the last grant: its cache goes too.
        delete_organisation_data(session, [o.id for o in gone])
        for organisation in gone:
            connection.organisations.remove(organisation)
    return connection


def offered_tenants(connection: Connection) -> set[str]:
    """The organisations the settings page ticks: after a sign-in not saved yet, those it
    granted (and those already in use); otherwise those in use."""
    if connection.status == "pending" or connection.reconnect_started_at is not None:
        return {
            o.tenant_id
            for o in connection.organisations
            if o.selected
            or (
                connection.auth_event_id is not None and o.auth_event_id == connection.auth_event_id
            )
        }
    return {o.tenant_id for o in connection.organisations if o.selected}


def tenants_used_elsewhere(session: Session, crm_account: str) -> set[str]:
    """Which tenant ids other CRM accounts of this host use (chosen in their connection).
    The pages say so without naming those accounts."""
    return set(
        session.scalars(
            select(Organisation.tenant_id)
            .join(Connection)
            .where(
                Connection.crm_account != crm_account,
                Connection.status != "pending",
                Organisation.selected.is_(True),
            )
        )
    )


def shares_xero_user(session: Session, connection: Connection) -> bool:
    """Whether another CRM account of this host holds a grant of the same Xero user.

    Xero keeps one set of connections per app and Xero user: revoking any of that user's
    refresh tokens removes all of them, and the other account's tokens reach the same
    organisations through them. So while another account depends on them, Remove must not
    revoke or disconnect at Xero.
    """
    same_user = []
    if connection.xero_user_id:
        same_user.append(Connection.xero_user_id == connection.xero_user_id)
    if connection.connected_by_email:
        same_user.append(
            func.lower(Connection.connected_by_email) == connection.connected_by_email.lower()
        )
    if not same_user:
        return False
    others = session.scalar(
        select(func.count())
        .select_from(Connection)
        .where(
            Connection.id != connection.id,
            Connection.token_ciphertext.is_not(None),
            or_(*same_user),
        )
    )
    return bool(others)


def note_problem(connection: Connection, reason: str, now: dt.datetime | None = None) -> None:
    """Mark the connection as needing an admin's attention (reason and time). The caller commits."""
    connection.last_error = reason
    connection.last_error_at = now or utcnow()


def clear_problem(connection: Connection) -> None:
    """A call to Xero succeeded: the connection no longer needs attention (the caller commits)."""
    connection.last_error = None
    connection.last_error_at = None


class IssuedToken:
    """A :class:`~xero_panel.xero.client.TokenSource` for a token just issued by Xero, used
    while storing it; it cannot refresh (there is nothing stored to refresh yet)."""

    def __init__(self, token: dict[str, Any]) -> None:
        self._access_token = str(token["access_token"])

    def access_token(self) -> str:
        return self._access_token

    def refresh_access_token(self, rejected: str) -> str:
        raise AuthExpired("Xero refused a token it had just issued; connect Xero again.")
