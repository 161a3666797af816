"""Opaque, tenant-scoped cursors (Hadar) and page/limit arithmetic (the others)."""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass

import orjson

from sandbox.core.errors import ValidationFailed


def _tenant_tag(api: str, tenant: str, kind: str) -> str:
    return hashlib.sha256(f"{api}:{tenant}:{kind}".encode()).hexdigest()[:12]


def encode_cursor(api: str, tenant: str, kind: str, seq: int) -> str:
    raw = orjson.dumps({"s": seq, "t": _tenant_tag(api, tenant, kind)})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, api: str, tenant: str, kind: str, *, field: str = "cursor") -> int:
    """The seq a cursor continues after; a cursor of another tenant or list is refused, not followed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
        seq, tag = payload["s"], payload["t"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise ValidationFailed(f"{field} is not a cursor returned by this API", field=field) from None
    if tag != _tenant_tag(api, tenant, kind):
        raise ValidationFailed(f"{field} belongs to another list or workspace", field=field)
    return seq


@dataclass(frozen=True, slots=True)
class PageMeta:
    total: int
    page: int
    limit: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit)) if self.limit else 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit
