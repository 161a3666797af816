"""One JSON codec for the whole sandbox: compact, fast, UTF-8 (orjson), with the standard library as the
fallback for what orjson refuses (integers beyond 64 bits, which clients may send in free-form fields)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # "Integer exceeds 64-bit range"
        return _exact(value).encode()


def _exact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_LONG_NUMBER = re.compile(r"\d{19}")


def loads(data: bytes | str) -> Any:
    """orjson turns integers beyond 64 bits into floats; such rare documents take the exact slow path."""
    text = data.decode() if isinstance(data, bytes) else data
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(data)


def js_numbers(value: Any) -> Any:
    """Numbers as a JavaScript service keeps them: JSON.parse/JSON.stringify turn 2.0 into 2, so
    integral floats become ints (everything else is unchanged)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [js_numbers(v) for v in value]
    return value


def dumps_document(value: Any) -> str:
    """A stored document: orjson's text, or, for what orjson refuses, the exact standard-library text
    marked by a leading space (still valid JSON, also for SQLite's json_extract) so that
    `loads_document` knows without scanning which few documents need the exact, slower parser."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return " " + _exact(value)


def loads_document(text: str | bytes) -> Any:
    if text[:1] in (" ", b" "):
        return json.loads(text)
    return orjson.loads(text)
