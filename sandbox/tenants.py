"""Tenants and keys as operators manage them: provision a seeded tenant, mint and rotate keys.
Shared by the control plane and the CLI (`lead-sandbox href provision …`)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.errors import Conflict, NotFound, ValidationFailed
from sandbox.core.keys import hash_key, last4, mint_key
from sandbox.core.store import KeyRecord
from sandbox.seeding import load_fixture, seed_tenant, seeding_anchor

if TYPE_CHECKING:
    from sandbox.core.definition import ApiDefinition
    from sandbox.runtime import Runtime


def key_view(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": f"key_{record.key_hash[:16]}",
        "api": record.api,
        "tenant": record.tenant,
        "role": record.role,
        "plan": record.plan,
        "last4": record.last4,
        "label": record.label,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
    }


def tenant_view(runtime: Runtime, api: str, slug: str) -> dict[str, Any]:
    record = runtime.store.get_tenant(api, slug)
    if record is None:
        raise NotFound(f"No tenant {slug!r} in {api}", field="tenant")
    return {"api": api, "slug": slug, "name": record.name, "plan": record.plan, "created_at": record.created_at}


def _check_plan(api: ApiDefinition, plan: str) -> None:
    if api.plans and plan not in api.plans:
        raise ValidationFailed(f"plan must be one of {', '.join(api.plans)}", field="plan")


def new_key_plan(api: ApiDefinition, tenant_plan: str) -> str:
    """The plan of a key minted without one: the vendor's default tier where it documents one
    (Hadar CRM: Standard), else the tenant's plan."""
    return api.default_plan or tenant_plan


def mint(runtime: Runtime, api: ApiDefinition, tenant: str, role: str, plan: str, label: str) -> dict[str, Any]:
    """A new key (real randomness), stored as SHA-256; the value is in this result only."""
    if api.auth is None:
        raise ValidationFailed(f"{api.name} takes no keys", field="api")
    _check_plan(api, plan)
    key = mint_key(api.auth.test_prefix)
    record = KeyRecord(hash_key(key), api.name, tenant, role, plan, last4(key), label, runtime.clock.now_iso())
    runtime.store.add_key(record)
    return {**key_view(record), "key": key}


def provision(
    runtime: Runtime, api: ApiDefinition, slug: str | None, name: str | None, plan: str | None = None,
    ttl_seconds: int | None = None,
) -> dict[str, Any]:
    """A new tenant, seeded with the API's Faker data like the default ones, and its admin key.

    With `ttl_seconds` it is ephemeral: the job worker deletes it with all its data after that many
    wall-clock seconds (`JobWorker.purge_expired_tenants`). A slug left out is made up from real randomness, so CI jobs
    on one deployment never collide."""
    slug = slug or f"ci-{secrets.token_hex(5)}"
    name = name or slug
    if runtime.store.get_tenant(api.name, slug) is not None:
        raise Conflict(f"Tenant {slug!r} already exists in {api.name}", field="slug")
    fixture = load_fixture(api.name)
    template = fixture["tenants"][0]
    plan = plan or api.default_plan or template["plan"]
    _check_plan(api, plan)
    tenant = {
        **{k: v for k, v in template.items() if k not in {"slug", "name", "plan", "keys", "created_at"}},
        "slug": slug,
        "name": name,
        "plan": plan,
        "created_at": runtime.clock.now_iso(),
    }
    seed_tenant(
        runtime.store, api, runtime.config.seed, tenant, seeding_anchor(runtime.clock.now()),
        fixture.get("locales", ["en_US"]), parse_iso(fixture["anchor"]),
    )
    expires_at = None
    if ttl_seconds is not None:
        # Recorded before the key exists: a crash here leaves a tenant that still expires.
        expires = runtime.clock.wall().timestamp() + ttl_seconds
        runtime.store.set_tenant_ttl(api.name, slug, expires)
        expires_at = utc_iso(datetime.fromtimestamp(expires, UTC))
    key = mint(runtime, api, slug, "admin", plan, "Provisioned")
    return {"tenant": tenant_view(runtime, api.name, slug), "key": key, "expires_at": expires_at}


def rotate(runtime: Runtime, api: ApiDefinition, slug: str) -> dict[str, Any]:
    """Revoke every key of the tenant and mint one admin key."""
    tenant = runtime.store.get_tenant(api.name, slug)
    if tenant is None:
        raise NotFound(f"No tenant {slug!r} in {api.name}", field="slug")
    revoked = 0
    for record in runtime.store.list_keys(api.name, slug):
        revoked += runtime.store.revoke_key(record.key_hash, runtime.clock.now_iso())
    return {"key": mint(runtime, api, slug, "admin", tenant.plan, "Rotated"), "revoked": revoked}
