"""What the host CRM tells the plugin about one of its records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

#: The CRM record types the panel can be shown on.
RecordType = Literal["contact", "account", "deal"]
RECORD_TYPES: tuple[RecordType, ...] = ("contact", "account", "deal")


@dataclass(frozen=True)
class CRMRecord:
    """A CRM record as the host's :meth:`~xero_panel.XeroPanel.record_loader` returns it.

    Matching uses what is given here: a contact matches Xero contacts by ``emails``, an
    account by ``name``, and a deal by its ``account`` and ``contacts``.

    :param name: the record's display name (a company name for an account).
    :param emails: the record's email addresses (contacts).
    :param account: for a deal, the account it belongs to.
    :param contacts: for a deal, the contacts on it.

    .. versionadded:: 0.1
    """

    name: str
    emails: tuple[str, ...] = ()
    account: CRMRecord | None = None
    contacts: tuple[CRMRecord, ...] = field(default_factory=tuple)

    def __init__(
        self,
        name: str,
        emails: Iterable[str] = (),
        account: CRMRecord | None = None,
        contacts: Iterable[CRMRecord] = (),
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "emails", tuple(e for e in emails if e))
        object.__setattr__(self, "account", account)
        object.__setattr__(self, "contacts", tuple(contacts))
