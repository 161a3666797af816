"""One tenant of one API, as models see it: its collections, the sandbox clock, the id source, and
the event publisher (webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.core.clock import Clock, utc_iso
from sandbox.core.ids import IdFactory
from sandbox.core.store import Collection, Store


@dataclass(frozen=True)
class Workspace:
    store: Store
    api: str
    tenant: str
    clock: Clock
    ids: IdFactory
    #: publishes an event (webhooks); None where nothing should be emitted (seeding, unit tests)
    events: Callable[[str, dict[str, Any]], Any] | None = None
    #: where this sandbox delivers webhooks (`sandbox.core.egress`), checked when an endpoint is registered
    webhook_hosts: str = "loopback"

    def collection(self, kind: str) -> Collection:
        return self.store.collection(self.api, self.tenant, kind)

    def now(self) -> tuple[datetime, str]:
        moment = self.clock.now()
        return moment, utc_iso(moment)

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            self.events(event_type, data)
