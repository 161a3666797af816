from __future__ import annotations

from datetime import UTC, datetime

import jsonschema_rs
import orjson

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.core.clock import Clock

#: seeding is deterministic for a seed and an anchor (the sandbox's now): the clock is frozen here
NOW = datetime(2027, 1, 15, 10, 30, tzinfo=UTC)


def _leads(db: str, seed: int) -> bytes:
    runtime = runtime_of(create_app(Config(db=db, seed=seed), clock=Clock(source=lambda: NOW)))
    try:
        records = runtime.store.collection("hadar", "marina-homes", "leads").all()
        assert len(records) == 150
        return orjson.dumps(records)
    finally:
        runtime.store.close()


def test_same_seed_gives_byte_identical_records(tmp_path):
    assert _leads(str(tmp_path / "a.db"), 42) == _leads(str(tmp_path / "b.db"), 42)


def test_same_seed_memory_and_file_agree(tmp_path):
    assert _leads("memory", 42) == _leads(str(tmp_path / "c.db"), 42)


def test_different_seed_gives_different_records():
    assert _leads("memory", 42) != _leads("memory", 43)


def test_seeded_counts_per_tenant():
    runtime = runtime_of(create_app(Config(db="memory")))
    store = runtime.store
    assert store.collection("hadar", "marina-homes", "leads").count() == 150
    assert store.collection("hadar", "palm-crest", "leads").count() == 120
    assert len(store.list_keys("hadar", "marina-homes")) == 4


def test_reopening_a_seeded_file_does_not_reseed(tmp_path):
    path = str(tmp_path / "s.db")
    runtime = runtime_of(create_app(Config(db=path)))
    runtime.store.collection("hadar", "marina-homes", "leads").insert(
        "lead_extra", "2026-06-01T00:00:00.000Z", {"id": "lead_extra"}
    )
    runtime.store.close()
    again = runtime_of(create_app(Config(db=path)))
    try:
        col = again.store.collection("hadar", "marina-homes", "leads")
        assert col.count() == 151
        assert col.get("lead_extra") == {"id": "lead_extra"}
    finally:
        again.store.close()


def test_seeded_emails_match_the_spec_email_format():
    # Regression: "Mrs. Tina Mata" once became `mrs..tina.mata26@…`, and every list page holding
    # that lead answered 500 under response validation.
    email = jsonschema_rs.Draft202012Validator({"type": "string", "format": "email"}, validate_formats=True)
    runtime = runtime_of(create_app(Config(db="memory")))
    bad = [
        lead["email"]
        for tenant in ("marina-homes", "palm-crest")
        for lead in runtime.store.collection("hadar", tenant, "leads").all()
        if lead["email"] is not None and not email.is_valid(lead["email"])
    ]
    assert bad == []
