"""Seeded data a local user would believe (issue 17, point 8): distributions and internal consistency.

Hadar lead budgets follow bedrooms (the page's own examples: a 2-bedroom for AED 1.8M, a 3-bedroom for
3.5M); listing prices follow bedrooms and sale/rent; a rental is never `sold`; a CRM lead's nationality
goes with its name and its budget with its purpose; every seeded phone number is valid for libphonenumber
and belongs to the workspace's country."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest
from faker.providers.person.en_GB import Provider as GBNames
from faker.providers.person.en_IN import Provider as INNames
from faker.providers.person.en_US import Provider as USNames

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.core.clock import Clock
from sandbox.core.dubai import EMIRATI_FIRST, EMIRATI_LAST, GROUPS
from sandbox.core.store import Store

NOW = datetime(2027, 3, 10, 13, 37, tzinfo=UTC)
HADAR_TENANTS = ("marina-homes", "palm-crest")
CRM_TENANTS = ("al-noor-realty", "skyline-homes")


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    runtime = runtime_of(create_app(Config(db="memory"), clock=Clock(source=lambda: NOW)))
    yield runtime.store
    runtime.store.close()


def records(store: Store, api: str, tenants: tuple[str, ...], kind: str) -> list[dict[str, Any]]:
    return [record for tenant in tenants for record in store.collection(api, tenant, kind).all()]


def median(values: list[int]) -> float:
    assert values, "no values to take the median of"
    return statistics.median(values)


# --- Hadar budgets -------------------------------------------------------------------------------------
def test_hadar_budgets_follow_bedrooms_around_the_pages_examples(store: Store) -> None:
    leads = [lead for lead in records(store, "hadar", HADAR_TENANTS, "leads") if lead["budget_aed"]]
    by_bedrooms = {n: [lead["budget_aed"] for lead in leads if lead["bedrooms"] == n] for n in range(6)}
    groups = [by_bedrooms[0] + by_bedrooms[1], by_bedrooms[2], by_bedrooms[3], by_bedrooms[4] + by_bedrooms[5]]
    medians = [median(group) for group in groups]
    assert medians == sorted(medians) and len(set(medians)) == 4, medians  # more bedrooms, bigger budgets
    assert 1_200_000 <= median(by_bedrooms[2]) <= 3_000_000  # the page's 2BR: 1.8M
    assert 2_000_000 <= median(by_bedrooms[3]) <= 5_500_000  # the page's 3BR: 3.5M
    assert 1_000_000 <= median([lead["budget_aed"] for lead in leads]) <= 4_000_000  # not 12.7M
    assert max(by_bedrooms[0] + by_bedrooms[1]) <= 5_000_000  # nobody budgets 10M for a studio
    assert all(lead["budget_aed"] % 50_000 == 0 for lead in leads)


# --- listings ----------------------------------------------------------------------------------------------
def listings(store: Store) -> list[dict[str, Any]]:
    return records(store, "hadar", HADAR_TENANTS, "properties") + records(store, "hadar-crm", CRM_TENANTS,
                                                                           "properties")


def test_listing_prices_follow_bedrooms_and_sale_or_rent(store: Store) -> None:
    homes = [p for p in listings(store) if p["type"] != "office"]
    sales = [p for p in homes if p["listing_type"] == "sale"]
    rents = [p for p in homes if p["listing_type"] == "rent"]
    assert len(sales) >= 40 and len(rents) >= 15
    assert all(p["price_aed"] <= 10_000_000 for p in sales if p["bedrooms"] <= 1), "studios and 1BRs over 10M"
    assert all(p["price_aed"] <= 1_000_000 for p in rents if p["bedrooms"] <= 1), "1BR rents over 1M a year"
    assert all(10_000 <= p["price_aed"] <= 2_000_000 for p in rents)  # yearly rents
    assert all(300_000 <= p["price_aed"] for p in sales)
    assert median([p["price_aed"] for p in rents]) * 5 < median([p["price_aed"] for p in sales])
    small = [p["size_sqft"] for p in homes if p["bedrooms"] == 0]
    large = [p["size_sqft"] for p in homes if p["bedrooms"] >= 4]
    assert max(small) < min(large)


def test_rentals_are_never_sold_and_sales_never_rented(store: Store) -> None:
    for listing in listings(store):
        if listing["listing_type"] == "rent":
            assert listing["status"] != "sold", listing
        else:
            assert listing["status"] != "rented", listing


def test_studios_and_offices_have_no_bedrooms_and_titles_agree(store: Store) -> None:
    for listing in listings(store):
        if listing["type"] == "office":
            assert listing["bedrooms"] == 0 and listing["title"].endswith("Office")
        elif listing["bedrooms"] == 0:
            assert listing["title"].endswith("Studio")
        else:
            assert listing["title"].endswith(f"{listing['bedrooms']}BR")


# --- CRM people --------------------------------------------------------------------------------------------
def _names(provider: Any, attribute: str) -> set[str]:
    found: set[str] = set()
    for name in ("first_names", "first_names_male", "first_names_female", "last_names"):
        if name.startswith(attribute) and hasattr(provider, name):
            found.update(getattr(provider, name))
    return found


FAKER_COUNTRIES = {"IN": INNames, "GB": GBNames, "US": USNames}
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")


def nationalities_for(name: str) -> set[str]:
    """Every nationality whose names this name is made of."""
    found = set()
    if ARABIC_SCRIPT.search(name):
        found.add("AE")
    first, _, last = name.partition(" ")
    if first in EMIRATI_FIRST and last in EMIRATI_LAST:
        found.add("AE")
    for country, firsts, lasts in GROUPS:
        if first in firsts and (last in lasts or last.removesuffix("a") in lasts):
            found.add(country)
    for country, provider in FAKER_COUNTRIES.items():
        if first in _names(provider, "first") and last in _names(provider, "last"):
            found.add(country)
    return found


def test_crm_nationality_goes_with_the_name(store: Store) -> None:
    leads = records(store, "hadar-crm", CRM_TENANTS, "leads")
    wrong = [(lead["full_name"], lead["nationality"]) for lead in leads
             if lead["nationality"] not in nationalities_for(lead["full_name"])]
    assert wrong == []
    spread = {lead["nationality"] for lead in leads}
    assert {"AE", "IN", "GB"} <= spread and len(spread) >= 6  # Dubai's buyers come from everywhere


def test_crm_budgets_follow_purpose(store: Store) -> None:
    leads = records(store, "hadar-crm", CRM_TENANTS, "leads")
    assert all(lead["budget_min_aed"] < lead["budget_max_aed"] <= 2.5 * lead["budget_min_aed"] for lead in leads)
    by_purpose = {p: [lead["budget_min_aed"] for lead in leads if lead["purpose"] == p]
                  for p in ("Investment", "Rental income", "End use", "Holiday home")}
    assert median(by_purpose["Rental income"]) < median(by_purpose["End use"]) < median(by_purpose["Holiday home"])
    assert 500_000 <= median([lead["budget_min_aed"] for lead in leads]) <= 4_000_000


# --- phone numbers -----------------------------------------------------------------------------------------
PHONES = [
    ("hadar", HADAR_TENANTS, "leads", "phone", "AE"),
    ("hadar-crm", CRM_TENANTS, "leads", "phone", "AE"),
    ("askad", ("brightpath-marketing", "nimbus-saas"), "contacts", "phone", "US"),
    ("href", ("acme", "bigfirm"), "leads", "phone", "US"),
    ("leaditio", ("sunvolt-solar", "cape-cover", "kopano-homes"), "leads", "phone", "ZA"),
]


@pytest.mark.parametrize(("api", "tenants", "kind", "field", "country"), PHONES, ids=[p[0] for p in PHONES])
def test_seeded_phone_numbers_are_valid_and_in_the_workspaces_country(
    store: Store, api: str, tenants: tuple[str, ...], kind: str, field: str, country: str
) -> None:
    numbers = [record[field] for record in records(store, api, tenants, kind) if record.get(field)]
    assert len(numbers) >= 10
    invalid = [n for n in numbers if not phonenumbers.is_valid_number(phonenumbers.parse(n))]
    assert invalid == []
    elsewhere = [n for n in numbers if phonenumbers.region_code_for_number(phonenumbers.parse(n)) != country]
    assert elsewhere == []
