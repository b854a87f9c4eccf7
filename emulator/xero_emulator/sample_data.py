"""The data the built-in sample seed is drawn from: its three organisations, and the names,
words and products its contacts and invoices are made of."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "BUSINESS_KINDS",
    "BUSINESS_WORDS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "ORGS",
    "PRODUCTS",
    "SAMPLE_PASSWORDS",
    "SAMPLE_TENANT_IDS",
    "SUFFIXES",
    "SUPPLIERS",
    "SampleOrg",
]

SAMPLE_TENANT_IDS = (
    "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11",
    "a83d5e20-7b19-4f6c-8d2e-51c9b4e7f022",
    "c4e9f1a2-5b8d-4e3f-a7c6-93d2e1b0f533",
)
SAMPLE_PASSWORDS = {
    "owner@kiwi-garden.test": "kiwi-demo",
    "books@harbour-audio.test": "harbour-demo",
}


@dataclass(frozen=True)
class SampleOrg:
    """One sample organisation: its identity, money and timezone, and how many customers."""

    tenant_id: str
    name: str
    short_code: str
    currency: str
    country: str
    timezone: str
    iana: str
    tax_rate: Decimal
    customers: int
    other_currencies: tuple[tuple[str, Decimal], ...]


ORGS = (
    SampleOrg(
        SAMPLE_TENANT_IDS[0],
        "Kiwi Garden Supplies Ltd",
        "!kGs7Q",
        "NZD",
        "NZ",
        "NEWZEALANDSTANDARDTIME",
        "Pacific/Auckland",
        Decimal("0.15"),
        30,
        (("AUD", Decimal("0.912345")), ("USD", Decimal("0.598765"))),
    ),
    SampleOrg(
        SAMPLE_TENANT_IDS[1],
        "Kiwi Garden Australia Pty Ltd",
        "!aUg3K",
        "AUD",
        "AU",
        "AUSEASTERNSTANDARDTIME",
        "Australia/Sydney",
        Decimal("0.10"),
        24,
        (("NZD", Decimal("1.096100")),),
    ),
    SampleOrg(
        SAMPLE_TENANT_IDS[2],
        "Harbour Audio Inc",
        "!hA9dX",
        "USD",
        "US",
        "PACIFICSTANDARDTIME",
        "America/Los_Angeles",
        Decimal("0.00"),
        20,
        (("NZD", Decimal("1.670100")),),
    ),
)

FIRST_NAMES = [
    "Aroha",
    "Ben",
    "Chloe",
    "Dmitri",
    "Eva",
    "Farah",
    "Grace",
    "Hemi",
    "Isla",
    "Jack",
    "Kiri",
    "Liam",
    "Mei",
    "Noah",
    "Olivia",
    "Pita",
    "Quinn",
    "Rangi",
    "Sofia",
    "Tane",
    "Uma",
    "Vikram",
    "Wiremu",
    "Xin",
    "Yasmin",
    "Zoe",
]
LAST_NAMES = [
    "Anderson",
    "Brown",
    "Chen",
    "Davies",
    "Edwards",
    "Fletcher",
    "Gupta",
    "Harris",
    "Irwin",
    "Jones",
    "Kaur",
    "Lee",
    "Morgan",
    "Ngata",
    "Patel",
    "Roberts",
    "Smith",
    "Taylor",
    "Walker",
    "Young",
]
BUSINESS_WORDS = [
    "Alpine",
    "Bayview",
    "Cedar",
    "Driftwood",
    "Evergreen",
    "Fernleaf",
    "Golden",
    "Harbourside",
    "Ironbark",
    "Juniper",
    "Kauri",
    "Lakeside",
    "Manuka",
    "Northern",
    "Orchard",
    "Pohutukawa",
    "Rimu",
    "Southern",
    "Totara",
    "Valley",
    "Wattle",
    "Westcoast",
    "Willow",
    "Summit",
    "Coastal",
    "Riverside",
    "Hilltop",
    "Meadow",
    "Pacific",
    "Silverfern",
]
BUSINESS_KINDS = (
    "Landscaping",
    "Cafe",
    "Builders",
    "Nursery",
    "Events",
    "Property Services",
    "Studios",
    "Schools Trust",
    "Motors",
    "Hospitality",
    "Design",
    "Rentals",
)
SUFFIXES = ("Ltd", "Limited", "& Co", "Group", "Pty Ltd", "Inc")
PRODUCTS = (
    ("Native plant pack", Decimal("45.00")),
    ("Garden design consult (hour)", Decimal("120.00")),
    ("Bark mulch (m3)", Decimal("85.50")),
    ("Irrigation kit", Decimal("349.99")),
    ("Studio monitor pair", Decimal("899.00")),
    ("Cable set", Decimal("24.95")),
    ("Maintenance visit", Decimal("180.00")),
    ("Planter box", Decimal("64.00")),
    ("Sound system hire (day)", Decimal("450.00")),
    ("Compost (bag)", Decimal("12.50")),
)
SUPPLIERS = (
    "Canterbury Seeds Wholesale",
    "Pacific Freight Logistics",
    "Southern Tools Direct",
    "Metro Power & Gas",
)
