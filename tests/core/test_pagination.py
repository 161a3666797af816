from __future__ import annotations

import pytest

from sandbox.core.errors import ValidationFailed
from sandbox.core.pagination import PageMeta, decode_cursor, encode_cursor


def test_cursor_roundtrip():
    cursor = encode_cursor("hadar", "marina-homes", "leads", 1234)
    assert "=" not in cursor
    assert decode_cursor(cursor, "hadar", "marina-homes", "leads") == 1234


def test_cursor_of_another_tenant_is_refused():
    cursor = encode_cursor("hadar", "marina-homes", "leads", 10)
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(cursor, "hadar", "palm-crest", "leads")
    assert info.value.field == "cursor"
    assert "another" in info.value.message


def test_cursor_of_another_list_is_refused():
    cursor = encode_cursor("hadar", "marina-homes", "leads", 10)
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(cursor, "hadar", "marina-homes", "bookings")
    assert info.value.field == "cursor"


@pytest.mark.parametrize("garbage", ["", "not-a-cursor", "!!!!", "eyJzIjowLCJ0IjoiYWJjIn0", "e30"])
def test_garbage_cursor_is_validation_error(garbage):
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(garbage, "hadar", "marina-homes", "leads")
    assert info.value.field == "cursor"
    assert info.value.status == 400


def test_page_meta_arithmetic():
    meta = PageMeta(total=51, page=2, limit=25)
    assert meta.pages == 3
    assert meta.offset == 25
    assert meta.has_next and meta.has_prev
    assert PageMeta(total=0, page=1, limit=25).pages == 1
