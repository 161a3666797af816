"""Generic, spec-derived stateful behaviour: what a scaffolded API (`lead-sandbox scaffold`) serves
before any hand-written rule. Its `ApiDefinition` is an ordinary one whose handlers are made from the
spec (`handlers.py`), whose records live in the one store keyed by (api, tenant), whose keys are
checked by the same gate, and whose errors have one default shape (`errors.py`)."""

from __future__ import annotations

import re

from sandbox.apis.generic.errors import render
from sandbox.core.definition import ApiDefinition, KeyAuth


def key_auth(prefix: str, header: str = "authorization", scheme: str | None = "bearer") -> KeyAuth:
    """Keys `<prefix>_test_…` (accepted) and `<prefix>_live_…` (refused as live), sent in `header`."""
    return KeyAuth(
        header=header.lower(),
        scheme=scheme,
        test_prefix=f"{prefix}_test_",
        live_prefixes=(f"{prefix}_live_",),
        pattern=re.compile(rf"{re.escape(prefix)}_(test|live)_[A-Za-z0-9_]{{8,128}}"),
    )


def seed_nothing(context: object) -> None:
    """A scaffolded API starts with its fixture's tenants and keys and no records: every record is
    one a test made (a seeder is what hand-written rules add first, if the vendor has example data)."""


def generic_api(*, name: str, title: str, spec_file: str, solo_mounts: tuple[str, ...], auth: KeyAuth,
                package: str | None = None) -> ApiDefinition:
    """An `ApiDefinition` served by the generic behaviour: mounted at its own paths alone (`serve --api
    NAME`) and under `/NAME` beside the others."""
    package = package or name.replace("-", "_")
    return ApiDefinition(
        name=name,
        title=title,
        spec_file=spec_file,
        mounts=tuple(f"/{name}{base.rstrip('/')}" for base in solo_mounts),
        solo_mounts=solo_mounts,
        handlers_module=f"sandbox.apis.{package}.handlers",
        auth=auth,
        render_error=render,
        seed=seed_nothing,
    )
