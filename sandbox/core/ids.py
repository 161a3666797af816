"""Ids from a seeded source: `<prefix>_<ULID>`, time-ordered like the vendor's `lead_01HMNZ...`."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime

from ulid import ULID


def ulid_at(moment: datetime, rng: random.Random) -> str:
    millis = int(moment.timestamp() * 1000)
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + rng.getrandbits(80).to_bytes(10, "big")))


class IdFactory:
    """Makes ids from a clock time and a seeded random stream, so a seed gives the same ids."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def ulid(self, at: datetime) -> str:
        with self._lock:
            return ulid_at(at, self._rng)

    def new(self, prefix: str, at: datetime) -> str:
        return f"{prefix}_{self.ulid(at)}"

    def uuid4(self) -> str:
        """A version-4 UUID from the seeded stream (the form AskAd uses for ids)."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int = 32) -> str:
        """A random-looking alphanumeric token (webhook secrets, minted keys)."""
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(length))
