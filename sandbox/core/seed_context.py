"""What a vendor's seeder gets for one tenant: the seeding protocol, at the bottom layer so that vendor
definitions (`sandbox.core.definition`) and each vendor's seeder (`factories`) can name it without importing the
seeding machinery."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.core.ids import ulid_at
from sandbox.core.store import Store

if TYPE_CHECKING:
    from faker import Faker  # imported when first needed: 40 ms of a restart that does not seed


@dataclass
class SeedContext:
    """What a vendor's seeder gets for one tenant."""

    store: Store
    api: str
    tenant: dict[str, Any]
    faker: Faker
    rng: random.Random
    #: the seeded world's now: record times are spread before it (and upcoming events after it)
    anchor: datetime
    #: the fixture's own timeline, on which record ids are made (None: the anchor)
    fixture_anchor: datetime | None = None
    #: seeds the named random streams (times and ids per kind)
    key: str = ""
    _streams: dict[str, random.Random] = field(default_factory=dict, repr=False)

    @property
    def slug(self) -> str:
        return str(self.tenant["slug"])

    def insert(self, kind: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.store.insert_records(self.api, self.slug, kind, rows)

    def stream(self, name: str) -> random.Random:
        """A random stream of its own: what one kind of record draws from it does not move another's."""
        found = self._streams.get(name)
        if found is None:
            found = self._streams[name] = random.Random(f"{self.key}:{name}")
        return found

    @property
    def shift(self) -> timedelta:
        return self.anchor - (self.fixture_anchor or self.anchor)

    def ulid(self, kind: str, moment: datetime) -> str:
        """A ULID for a record made at `moment` (anchor time), placed on the fixture's timeline."""
        return ulid_at(moment - self.shift, self.stream(f"ids:{kind}"))

    def record_id(self, prefix: str, moment: datetime) -> str:
        return f"{prefix}_{self.ulid(prefix, moment)}"
