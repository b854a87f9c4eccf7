"""docs/emulator.md lists the built-in sample's contacts (names, emails, contact persons'
emails), so a host can seed CRM records that match without reading Python. The list is
checked against the seed itself, so the two cannot drift apart. The active contacts do not
depend on the day the seed is made; each organisation's one archived contact does (its name
is drawn after a number of invoices that depends on the time), so the list leaves it out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from xero_emulator import sample_seed

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"
START = "<!-- sample contacts: start (tests/emulator/test_emu_seed_docs.py checks it) -->\n"
END = "<!-- sample contacts: end -->"


def role(contact: dict[str, Any]) -> str:
    kinds = [
        k
        for k, flag in (("customer", "IsCustomer"), ("supplier", "IsSupplier"))
        if contact.get(flag)
    ]
    return " and ".join(kinds) or "neither"


def contacts_markdown(seed: dict[str, Any]) -> str:
    """The docs' list, as it must read for ``seed``."""
    out = []
    for tenant in seed["tenants"]:
        active = [c for c in tenant["Contacts"] if c.get("ContactStatus") != "ARCHIVED"]
        out += [
            f"**{tenant['tenantName']}** ({len(active)} active contacts)",
            "",
            "| contact | email | contact persons' emails | role |",
            "|---|---|---|---|",
        ]
        for c in sorted(active, key=lambda c: c["Name"].casefold()):
            persons = ", ".join(
                f"`{p['EmailAddress']}`"
                for p in c.get("ContactPersons", [])
                if p.get("EmailAddress")
            )
            email = f"`{c['EmailAddress']}`" if c.get("EmailAddress") else ""
            out.append(f"| {c['Name']} | {email} | {persons} | {role(c)} |")
        out.append("")
    return "\n".join(out)


def test_docs_list_the_sample_contacts() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text, "docs/emulator.md lost its sample contacts list"
    listed = text.split(START, 1)[1].split(END, 1)[0]
    expected = contacts_markdown(sample_seed())
    assert listed.strip() == expected.strip(), (
        "docs/emulator.md's sample contacts differ from the seed; put this between the"
        f" markers:\n{expected}"
    )


def test_the_sample_contacts_do_not_depend_on_the_day(time_machine: Any) -> None:
    from tests.clock import RUN_START

    time_machine.move_to(RUN_START, tick=False)
    listed = contacts_markdown(sample_seed())
    for hours in (13, 24 * 400 - 13):
        time_machine.move_to(RUN_START + dt.timedelta(hours=hours), tick=False)
        assert contacts_markdown(sample_seed()) == listed
    later = RUN_START.date() + dt.timedelta(days=30)
    assert contacts_markdown(sample_seed(today=later)) == listed
