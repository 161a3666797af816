from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.core.clock import Clock, parse_iso, utc_iso


def test_freeze_holds_time_still():
    clock = Clock()
    at = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)
    clock.freeze(at)
    assert clock.frozen
    assert clock.now() == at
    assert clock.now() == at


def test_advance_moves_frozen_clock_forward():
    clock = Clock()
    at = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)
    clock.freeze(at)
    assert clock.advance(timedelta(hours=25)) == at + timedelta(hours=25)
    assert clock.now_iso() == "2026-05-16T09:00:00.000Z"


def test_unfreeze_resumes_from_frozen_instant_without_jumping_back():
    clock = Clock()
    future = datetime.now(UTC) + timedelta(days=30)
    clock.freeze(future)
    clock.unfreeze()
    assert not clock.frozen
    first = clock.now()
    assert first >= future
    assert first - future < timedelta(seconds=5)
    assert clock.now() >= first


def test_advance_on_ticking_clock_adds_offset():
    clock = Clock()
    before = datetime.now(UTC)
    moved = clock.advance(timedelta(days=2))
    assert moved >= before + timedelta(days=2)


def test_advance_negative_raises():
    clock = Clock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def test_utc_iso_and_parse_iso_roundtrip():
    moment = datetime(2026, 5, 15, 8, 42, 11, 103000, tzinfo=UTC)
    text = utc_iso(moment)
    assert text == "2026-05-15T08:42:11.103Z"
    assert parse_iso(text) == moment
    assert utc_iso(parse_iso("2026-05-15T12:42:11.103+04:00")) == text
