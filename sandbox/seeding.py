"""Deterministic seeding: tenants and hashed keys from `fixtures/<api>.yaml`, records from each vendor's seeder
(`sandbox/apis/<vendor>/factories.py`, named by its `ApiDefinition`).

The seeded world is anchored on the sandbox's now at seeding time (its clock, injected; floored to the
hour), so it has a past and a future: recent leads, upcoming bookings and appointments, this month's
deliveries. The same `--seed` and the same anchor give byte-identical tenants and records: every tenant
gets a Faker and random streams seeded from (seed, api, tenant), never from the wall clock.

Record ids do not depend on the anchor: each is a ULID on the fixture's own timeline (`anchor` in
`fixtures/<api>.yaml`) from its own random stream per kind, so the ids the specs and the README show stay
valid whenever a sandbox is seeded."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.core import owner
from sandbox.core.clock import Clock, parse_iso, utc_iso
from sandbox.core.keys import hash_key, last4
from sandbox.core.seed_context import SeedContext
from sandbox.core.store import KeyRecord, Store, TenantRecord

if TYPE_CHECKING:
    from faker import Faker  # imported when first needed: 40 ms of a restart that does not seed

    from sandbox.core.workspace import Workspace
    from sandbox.runtime import Runtime


def seeding_anchor(now: datetime) -> datetime:
    """The seeded world's now: the sandbox's now floored to the hour, so processes seeding a few
    seconds apart (`serve` and its seeding child, two workers) build the same world."""
    return now.replace(minute=0, second=0, microsecond=0)


def load_fixture(api: str) -> dict[str, Any]:
    text = resources.files("sandbox.fixtures").joinpath(f"{api}.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when built with it


def seed_api(store: Store, api_def: Any, seed: int, only_tenant: str | None = None, *, now: datetime) -> None:
    fixture = load_fixture(api_def.name)
    for tenant in fixture["tenants"]:
        if only_tenant is not None and tenant["slug"] != only_tenant:
            continue
        seed_tenant(store, api_def, seed, tenant, seeding_anchor(now), fixture.get("locales", ["en_US"]),
                    parse_iso(fixture["anchor"]))


def seed_tenant(
    store: Store,
    api_def: Any,
    seed: int,
    tenant: dict[str, Any],
    anchor: datetime,
    locales: list[str],
    fixture_anchor: datetime | None = None,
) -> None:
    api = api_def.name
    created = fixture_time(tenant.get("created_at"), anchor)
    store.put_tenant(
        TenantRecord(
            api=api,
            slug=tenant["slug"],
            name=tenant["name"],
            plan=tenant["plan"],
            data={k: v for k, v in tenant.items() if k not in {"slug", "name", "plan", "keys"}},
            created_at=created,
        )
    )
    for key in tenant.get("keys", []):
        store.add_key(
            KeyRecord(
                key_hash=hash_key(key["key"]),
                api=api,
                tenant=tenant["slug"],
                role=key.get("role", "admin"),
                plan=key.get("plan", tenant["plan"]),
                last4=last4(key["key"]),
                label=key.get("label", ""),
                created_at=created,
            )
        )
    if api_def.seed is not None:
        context_key = f"{seed}:{api}:{tenant['slug']}"
        faker = seeded_faker(locales, context_key)
        rng = random.Random(context_key)
        api_def.seed(SeedContext(store, api, tenant, faker, rng, anchor, fixture_anchor, context_key))


def seeded_faker(locales: Sequence[str], seed: str) -> Faker:
    """A Faker for `locales` seeded with `seed`: the same data as a new `Faker(locales)` seeded alike."""
    faker = _faker(tuple(locales))
    faker.seed_instance(seed)  # a new Random for every locale
    faker.unique.clear()
    return faker


def later_context(runtime: Runtime, ws: Workspace, prefix: str) -> SeedContext:
    """Faker data for a record made after seeding (a trigger, a matched lead), in the API's fixture
    locales and seeded from the tenant's id stream, so a run stays reproducible."""
    now = ws.clock.now()
    seed = ws.ids.new(prefix, now)
    faker = seeded_faker(load_fixture(ws.api).get("locales", ["en_US"]), seed)
    return SeedContext(runtime.store, ws.api, {"slug": ws.tenant}, faker, random.Random(seed), now, key=seed)


@functools.cache
def _faker(locales: tuple[str, ...]) -> Faker:
    # Building a Faker discovers its providers on disk: 30 ms each, a third of start-up with every API,
    # so one instance per locale set is reseeded for each use instead.
    from faker import Faker

    return Faker(list(locales))


def fixture_time(value: Any, anchor: datetime) -> str:
    if value is None:
        return utc_iso(anchor)
    if isinstance(value, datetime):
        return utc_iso(value)
    return utc_iso(parse_iso(str(value)))


def ensure_seeded(runtime: Any, wait_seconds: float = 60.0) -> None:
    """Seed every API whose data is not in the store yet (first start on a new database)."""
    seed_missing(runtime.store, runtime.apis, runtime.config.seed, wait_seconds, clock=runtime.clock)


def seed_missing(
    store: Store, apis: dict[str, Any], seed: int, wait_seconds: float = 60.0, *, clock: Clock | None = None
) -> None:
    """The marker row is claimed first, so two processes starting on one new file (`serve` and `keys`,
    or `serve` and its seeding child) seed once; the others wait for the claim to finish. A claim whose
    owner has died (killed mid-seeding) is taken over at once, by exactly one of the waiting processes.
    The world is anchored on `clock`'s now (a new wall clock when none is given)."""
    now = (clock or Clock()).now()  # one anchor for every API seeded here, even across an hour's turn
    for api in apis.values():
        if api.seed is None:  # the control plane has no data of its own
            continue
        marker = f"seeded:{api.name}"
        deadline = time.monotonic() + wait_seconds
        while True:
            claim: dict[str, Any] | None = {"state": "seeding", "owner": owner.me()}
            if store.claim_meta(marker, claim):
                break
            current = store.get_meta(marker)
            if current is None:
                continue  # released between our two reads: claim it again
            if current.get("state") != "seeding":
                claim = None  # done by another process
                break
            if not owner.is_alive(current.get("owner")) and store.swap_meta(marker, current, claim):
                break  # the dead owner's claim is ours now (the swap lets only one waiter take it)
            if time.monotonic() > deadline:
                raise RuntimeError(f"another process has been seeding {api.name} for {wait_seconds:.0f}s")
            time.sleep(0.01)
        if claim is not None:
            store.wipe(api.name)
            seed_api(store, api, seed, now=now)
            store.set_meta(marker, {"state": "done", "seed": seed, "anchor": utc_iso(seeding_anchor(now))})


def release_unfinished_claims(store: Store) -> list[str]:
    """Drop seeding claims whose owner has died mid-way, so the next start seeds those APIs."""
    released = []
    for key in store.meta_keys("seeded:"):
        claim = store.get_meta(key) or {}
        if claim.get("state") == "seeding" and not owner.is_alive(claim.get("owner")) and store.swap_meta(key, claim, None):
            released.append(key)
    return released


def reset(
    store: Store, apis: dict[str, Any], seed: int, api: str | None = None, tenant: str | None = None,
    *, now: datetime,
) -> None:
    """Back to the seeded state (anchored on `now`, the sandbox's now): everything, one API, or one
    tenant of one API."""
    for name, api_def in apis.items():
        if api is not None and name != api:
            continue
        store.wipe(name, tenant)
        seed_api(store, api_def, seed, only_tenant=tenant, now=now)
        store.set_meta(f"seeded:{name}", {"state": "done", "seed": seed, "anchor": utc_iso(seeding_anchor(now))})
