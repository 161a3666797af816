"""The sandbox clock: real time unless frozen or advanced (test clocks, like Stripe's)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sandbox.core.store import ALL_TENANTS, ClockState


def utc_iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and a `Z`, the format every vendor page shows."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    """An RFC 3339 date-time in UTC; ValueError when it is malformed or outside years 1-9999 in UTC."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError(str(exc)) from None


class Clock:
    """Wall time shifted by an offset, or frozen at one instant.

    Everything time-dependent (ids, created_at, idempotency expiry, webhook retries) asks this object,
    never `datetime.now()`, so tests and the control plane can move time. The few things that must be
    real time whatever the sandbox's time (webhook signature timestamps, which receivers compare with
    their own clock) ask `wall()`: the injected source, so tests control it too.
    """

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._lock = threading.Lock()

    def wall(self) -> datetime:
        """Wall time from the injected source, untouched by freeze and advance: leases, rate windows and
        webhook signature timestamps, which must not jump with tests."""
        return self._source()

    def now(self) -> datetime:
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return self._source() + self._offset

    def now_iso(self) -> str:
        return utc_iso(self.now())

    def timestamp(self) -> float:
        return self.now().timestamp()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> datetime:
        with self._lock:
            self._frozen_at = (at or self.now()).astimezone(UTC)
            return self._frozen_at

    def unfreeze(self) -> None:
        """Resume ticking from the frozen instant (time does not jump back to the wall clock)."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None


class ClockStore(Protocol):
    def clock_state(self, api: str, tenant: str) -> ClockState: ...
    def update_clocks(
        self, api: str, tenant: str, change: Callable[[ClockState], ClockState | None]
    ) -> ClockState: ...


def _iso_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class StoredClock(Clock):
    """A test clock kept in the store, so every worker of a deployment reads and moves the same time.

    One per tenant (`api`, `tenant`), plus the clock of every tenant (`ALL_TENANTS`): a tenant without a
    clock of its own follows that one; moving it moves every tenant. State is an offset from wall time in
    milliseconds, or a frozen instant. `snapshot=True` reads the state once (a clock for one request).
    """

    def __init__(
        self, store: ClockStore, api: str = "", tenant: str = "", source: Callable[[], datetime] | None = None,
        *, snapshot: bool = False,
    ) -> None:
        super().__init__(source)
        self.store = store
        self.api, self.tenant = api, tenant
        self._snapshot = snapshot
        self._state: ClockState | None = None

    @property
    def every_tenant(self) -> bool:
        return (self.api, self.tenant) == ALL_TENANTS

    def state(self) -> ClockState:
        state = self._state
        if state is None or not self._snapshot:
            state = self._state = self.store.clock_state(self.api, self.tenant)
        return state

    def _of(self, state: ClockState) -> datetime:
        if state.frozen_at is not None:
            return parse_iso(state.frozen_at)
        return self._source() + timedelta(milliseconds=state.offset_ms)

    def now(self) -> datetime:
        return self._of(self.state())

    @property
    def frozen(self) -> bool:
        return self.state().frozen_at is not None

    def _change(self, change: Callable[[ClockState], ClockState | None]) -> datetime:
        self._state = self.store.update_clocks(self.api, self.tenant, change)
        return self._of(self._state)

    def freeze(self, at: datetime | None = None) -> datetime:
        def frozen(state: ClockState) -> ClockState:
            return ClockState(state.offset_ms, utc_iso(at if at is not None else self._of(state)))

        return self._change(frozen)

    def unfreeze(self) -> None:
        def ticking(state: ClockState) -> ClockState:
            if state.frozen_at is None:
                return state
            return ClockState(_iso_ms(parse_iso(state.frozen_at)) - _iso_ms(self._source()))

        self._change(ticking)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        step = int(delta.total_seconds() * 1000)

        def later(state: ClockState) -> ClockState:
            if state.frozen_at is not None:
                return ClockState(state.offset_ms, utc_iso(parse_iso(state.frozen_at) + timedelta(milliseconds=step)))
            return ClockState(state.offset_ms + step)

        return self._change(later)

    def reset(self) -> None:
        # None: every tenant's own clock goes (the clock of every tenant), or this tenant is at wall time again
        self._change(lambda state: None if self.every_tenant else ClockState())
