"""Fake-data helpers every vendor's seeder shares, whatever its market: record times spread before the
seeding anchor, and an e-mail address made from a name. Here, below the vendor packages, so that no seeder
has to import another vendor's code to get them (vendors are independent, docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.core.seed_context import SeedContext


def spread_times(
    ctx: SeedContext, count: int, days: int = 120, stream: str = "records", until: timedelta = timedelta(0)
) -> list[datetime]:
    """`count` sorted instants in the `days` before the anchor (ending `until` before it), from the named
    stream, so what one kind of record draws does not move another kind's times (or ids)."""
    rng = ctx.stream(f"times:{stream}")
    end = ctx.anchor - until
    span = int((timedelta(days=days) - until).total_seconds())
    offsets = sorted(rng.randrange(0, span) for _ in range(count))
    return [end - timedelta(seconds=span) + timedelta(seconds=s, milliseconds=rng.randrange(1000)) for s in offsets]


def email_for(ctx: SeedContext, name: str) -> str:
    """A personal address for `name` at a common mail provider."""
    # Only ASCII letters and digits survive, joined by single dots: "Mrs. Tina Mata" -> mrs.tina.mata
    words = ["".join(c for c in word if c.isascii() and c.isalnum()) for word in name.lower().split()]
    local = ".".join(word for word in words if word) or f"lead{ctx.rng.randrange(1000, 9999)}"
    domain = ctx.rng.choice(["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "example.ae"])
    return f"{local}{ctx.rng.randrange(1, 99)}@{domain}"
