from __future__ import annotations

import pytest
from conftest import AISHA

from sandbox.apis.hadar.models import normalise_source, score_lead


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bayut", "bayut"),
        ("bayut.com", "bayut"),
        (" BAYUT ", "bayut"),
        ("Property Finder", "property_finder"),
        ("propertyfinder", "property_finder"),
        ("PF", "property_finder"),
        ("propertyfinder.ae", "property_finder"),
        ("Walk-in", "walk_in"),
        ("Google Ads", "google_ads"),
        ("web", "website"),
        ("WA", "whatsapp"),
        ("Some Expo 2026!", "some_expo_2026"),
        (None, "api"),
        ("", "api"),
        ("   ", "api"),
        ("!!!", "api"),
    ],
)
def test_normalise_source(raw, expected):
    assert normalise_source(raw) == expected


def test_normalise_source_truncates_to_100_chars():
    assert len(normalise_source("x" * 300)) == 100




def test_score_of_vendor_example():
    # 20 phone + 10 email + 20 budget + 15 bayut + 5 bedrooms + 5 area + 5 full name
    assert score_lead(AISHA) == 80


def test_score_is_deterministic():
    assert score_lead(dict(AISHA)) == score_lead(dict(AISHA))


def test_score_minimum_and_maximum_bounds():
    assert score_lead({}) == 5  # unknown source still gets its base points
    best = {
        "name": "Full Name",
        "phone": "+971500000000",
        "email": "a@b.co",
        "budget_aed": 50_000_000,
        "source": "bayut",
        "bedrooms": 3,
        "area": "Palm",
        "handover_horizon": "ready",
    }
    assert 0 <= score_lead(best) <= 100
    assert score_lead(best) == 100


def test_score_rewards_nearer_handover():
    near = score_lead({**AISHA, "handover_horizon": "off_plan_2027"})
    far = score_lead({**AISHA, "handover_horizon": "off_plan_2030"})
    ready = score_lead({**AISHA, "handover_horizon": "ready"})
    assert ready > near > far


@pytest.mark.parametrize("budget", [0, 1, 999_999, 1_000_000, 3_000_000, 10_000_000, 10_000_000_000])
def test_score_stays_in_bounds(budget):
    assert 0 <= score_lead({**AISHA, "budget_aed": budget}) <= 100


def test_update_lead_refuses_to_drop_both_contacts():
    from sandbox.apis.hadar import models
    from sandbox.core.clock import Clock
    from sandbox.core.errors import ValidationFailed
    from sandbox.core.ids import IdFactory
    from sandbox.core.store import Store

    ws = models.Workspace(Store("memory"), "hadar", "t", Clock(), IdFactory(1))
    lead = models.create_lead(ws, {"name": "Only Phone", "phone": "+971500000001"})
    with pytest.raises(ValidationFailed) as info:
        models.update_lead(ws, lead["id"], {"phone": None})
    assert info.value.field == "lead.phone"
    assert models.get_lead(ws, lead["id"]) == lead  # unchanged

    both = models.create_lead(ws, {"name": "Two Ways", "phone": "+971500000002", "email": "a@b.co"})
    updated = models.update_lead(ws, both["id"], {"phone": None, "budget_aed": 12_000_000})
    assert updated["phone"] is None
    assert updated["score"] == score_lead(updated)
