"""Reading and checking a seed: Xero users, OAuth clients and organisations with their data.

The format (``docs/emulator.md`` describes each field)::

    {"users": [{"email", "password", "given_name", "family_name", "tenants": [tenantId]}],
     "clients": [{"client_id", "client_secret", "redirect_uris": [...], "name"}],
     "tenants": [{"tenantId", "tenantName", "tenantType", "Organisation": {...},
                  "Contacts": [...], "Invoices": [...], "CreditNotes": [...]}]}

Objects are in Xero's own shape; dates may be ``/Date(...)/`` or ISO 8601.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .objects import prepare_contact, prepare_document
from .store import (
    ID_FIELD,
    ControlError,
    Kind,
    TenantData,
    normalize_object,
)
from .xero_json import loads

__all__ = [
    "ClientSpec",
    "Seed",
    "SeedError",
    "UserSpec",
    "load_seed",
    "parse_seed",
]

_USER_NAMESPACE = uuid.UUID("5b0c3b52-83c5-4f45-9a43-4a8b5d2f7e11")


class SeedError(ValueError):
    """The seed is not valid; the message names the tenant, object and field."""


@dataclass(frozen=True)
class UserSpec:
    """A Xero user who can log in on the consent page."""

    email: str
    password: str
    given_name: str
    family_name: str
    tenants: tuple[str, ...]
    xero_userid: str


@dataclass(frozen=True)
class ClientSpec:
    """An OAuth client (a Xero "app"). ``loopback`` accepts any loopback http redirect URI."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()
    name: str = "Xero Emulator App"
    loopback: bool = False


@dataclass
class Seed:
    """A checked seed, ready to load into an emulator."""

    users: list[UserSpec] = field(default_factory=list)
    clients: list[ClientSpec] = field(default_factory=list)
    tenants: list[TenantData] = field(default_factory=list)


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a seed file. Numbers with a fraction become exact :class:`~decimal.Decimal` values.

    :param path: a JSON file in the seed format.
    :raises SeedError: when the file is not JSON or not an object.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(f"seed file {path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path}: the top level must be a JSON object")
    return data


def _guid(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise SeedError(f"{where}: must be a GUID string, got {value!r}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise SeedError(f"{where}: not a GUID: {value!r}") from None


def _text(mapping: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = mapping.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise SeedError(f'{where}: field "{key}" is required and must be a non-empty string')
    return value


def _list(mapping: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = mapping.get(key, [])
    if not isinstance(value, list):
        raise SeedError(f'{where}: field "{key}" must be a list')
    return value


#: The kinds in loading order (invoices need their contacts), with their number field.
_NUMBER_FIELDS: tuple[tuple[Kind, str | None], ...] = (
    ("Contacts", None),
    ("Invoices", "InvoiceNumber"),
    ("CreditNotes", "CreditNoteNumber"),
)

_ORG_DEFAULTS: dict[str, Any] = {
    "BaseCurrency": "NZD",
    "CountryCode": "NZ",
    "Timezone": "NEWZEALANDSTANDARDTIME",
    "OrganisationStatus": "ACTIVE",
    "Edition": "BUSINESS",
}


def _parse_tenant(raw: object, index: int, now_ms: int) -> TenantData:
    where = f"tenants[{index}]"
    if not isinstance(raw, Mapping):
        raise SeedError(f"{where}: must be a JSON object")
    org_raw = raw.get("Organisation", {})
    if not isinstance(org_raw, Mapping):
        raise SeedError(f'{where}: field "Organisation" must be an object')
    tenant_id_raw = raw.get("tenantId") or org_raw.get("OrganisationID")
    tenant_id = _guid(tenant_id_raw, f'{where}: field "tenantId"')
    name = raw.get("tenantName") or org_raw.get("Name")
    if not isinstance(name, str) or not name:
        raise SeedError(f'{where}: field "tenantName" is required')
    where = f"{where} ({name})"
    try:
        org = normalize_object(dict(org_raw))
    except ControlError as exc:
        raise SeedError(f"{where} Organisation: {exc}") from None
    if "OrganisationID" in org and _guid(org["OrganisationID"], where) != tenant_id:
        raise SeedError(f'{where}: Organisation.OrganisationID must equal tenantId "{tenant_id}"')
    org.setdefault("OrganisationID", tenant_id)
    org.setdefault("Name", name)
    org.setdefault("ShortCode", "!" + tenant_id.replace("-", "")[:5])
    for key, value in _ORG_DEFAULTS.items():
        org.setdefault(key, value)
    tenant_type = raw.get("tenantType", "ORGANISATION")
    if tenant_type not in {"ORGANISATION", "PRACTICE"}:
        raise SeedError(f'{where}: field "tenantType" must be ORGANISATION or PRACTICE')
    tenant = TenantData(tenant_id, name, str(tenant_type), org)
    try:
        _load_objects(tenant, raw, where, now_ms)
    except ControlError as exc:
        raise SeedError(str(exc)) from None
    return tenant


def _load_objects(tenant: TenantData, raw: Mapping[str, Any], where: str, now_ms: int) -> None:
    """Add the seed's Contacts, then Invoices, then CreditNotes to ``tenant``."""
    numbers: set[str] = set()
    for kind, number_key in _NUMBER_FIELDS:
        id_key, store = ID_FIELD[kind], tenant.objects(kind)
        for i, item in enumerate(_list(raw, kind, where)):
            number = item.get(number_key) if number_key and isinstance(item, Mapping) else None
            label = f"{where} {kind}[{i}]" + (f" ({number})" if number else "")
            if kind == "Contacts":
                obj = prepare_contact(item, now_ms, label)
            else:
                obj = prepare_document(kind, item, tenant, now_ms, label)
            if obj[id_key] in store:
                raise SeedError(f"{label}: duplicate {id_key} {obj[id_key]}")
            if kind == "Invoices" and obj["Type"] == "ACCREC" and number:
                if number in numbers:
                    raise SeedError(f"{label}: duplicate InvoiceNumber {number!r}")
                numbers.add(number)
            store[obj[id_key]] = obj


def _parse_user(raw: object, index: int, tenant_ids: set[str]) -> UserSpec:
    where = f"users[{index}]"
    if not isinstance(raw, Mapping):
        raise SeedError(f"{where}: must be a JSON object")
    email = _text(raw, "email", where)
    where = f"{where} ({email})"
    password = _text(raw, "password", where)
    local = email.split("@", 1)[0]
    given = _text(raw, "given_name", where, default=local.split(".")[0].title())
    family = _text(raw, "family_name", where, default="")
    tenants = []
    for i, tenant_id in enumerate(_list(raw, "tenants", where)):
        tid = _guid(tenant_id, f"{where} tenants[{i}]")
        if tid not in tenant_ids:
            raise SeedError(f"{where} tenants[{i}]: no tenant with tenantId {tid}")
        tenants.append(tid)
    userid = raw.get("xero_userid") or str(uuid.uuid5(_USER_NAMESPACE, email.lower()))
    return UserSpec(email, password, given, family, tuple(tenants), str(userid))


def _parse_client(raw: object, index: int) -> ClientSpec:
    where = f"clients[{index}]"
    if not isinstance(raw, Mapping):
        raise SeedError(f"{where}: must be a JSON object")
    client_id = _text(raw, "client_id", where)
    where = f"{where} ({client_id})"
    secret = _text(raw, "client_secret", where, default="")
    uris = _list(raw, "redirect_uris", where)
    if not uris or not all(isinstance(u, str) and u for u in uris):
        raise SeedError(f'{where}: field "redirect_uris" must be a non-empty list of URLs')
    name = _text(raw, "name", where, default=client_id)
    return ClientSpec(client_id, secret, tuple(uris), name)


def parse_seed(raw: Mapping[str, Any], now_ms: int) -> Seed:
    """Check a seed and turn it into emulator data.

    :param raw: the seed dictionary (see :func:`load_seed`).
    :param now_ms: the time given to objects that have no UpdatedDateUTC.
    :raises SeedError: naming the tenant, object and field at fault.
    """
    if not isinstance(raw, Mapping):
        raise SeedError("seed: the top level must be a JSON object")
    unknown = set(raw) - {"users", "clients", "tenants"}
    if unknown:
        raise SeedError(f"seed: unknown top-level keys {sorted(unknown)}")
    seed = Seed()
    for i, item in enumerate(_list(raw, "tenants", "seed")):
        tenant = _parse_tenant(item, i, now_ms)
        if any(t.tenant_id == tenant.tenant_id for t in seed.tenants):
            raise SeedError(f"tenants[{i}]: duplicate tenantId {tenant.tenant_id}")
        seed.tenants.append(tenant)
    tenant_ids = {t.tenant_id for t in seed.tenants}
    emails: set[str] = set()
    for i, item in enumerate(_list(raw, "users", "seed")):
        user = _parse_user(item, i, tenant_ids)
        if user.email.lower() in emails:
            raise SeedError(f"users[{i}]: duplicate email {user.email}")
        emails.add(user.email.lower())
        seed.users.append(user)
    for i, item in enumerate(_list(raw, "clients", "seed")):
        seed.clients.append(_parse_client(item, i))
    return seed
