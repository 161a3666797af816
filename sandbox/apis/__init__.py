"""The vendor APIs this sandbox simulates, found rather than listed: every package under `sandbox/apis/`
that declares `API = ApiDefinition(...)` is one (a scaffolded API is found the moment it is written).

An API's package is its name with `-` as `_` (`hadar-crm` -> `sandbox.apis.hadar_crm`), so one API is
imported without importing the others (a one-API `serve` starts faster). Order is each definition's
`order` (then its name): the five vendors keep the order the keys table and the landing page show."""

from __future__ import annotations

import importlib
import pkgutil

from sandbox.core.definition import ApiDefinition

#: packages here that are machinery, not APIs
NOT_APIS = frozenset({"generic"})


def package_of(name: str) -> str:
    return f"{__name__}.{name.replace('-', '_')}"


def names() -> list[str]:
    """Every API's name, in no particular order and without importing any (see `registry` for order)."""
    return sorted(module.name.replace("_", "-") for module in pkgutil.iter_modules(__path__)
                  if module.ispkg and module.name not in NOT_APIS)


def _load(name: str) -> ApiDefinition:
    api = getattr(importlib.import_module(package_of(name)), "API", None)
    if not isinstance(api, ApiDefinition) or api.name != name:
        raise ValueError(f"{package_of(name)} must declare API = ApiDefinition(name={name!r}, ...)")
    return api


def registry(names_: tuple[str, ...] | list[str] = ()) -> dict[str, ApiDefinition]:
    """The APIs by name, in their order; with `names_`, only those are imported."""
    known = names()
    unknown = [name for name in names_ if name not in known]
    if unknown:
        choices = ", ".join(registry())
        raise ValueError(f"unknown API {', '.join(unknown)}; choose from {choices}")
    apis = [_load(name) for name in (names_ or known)]
    return {api.name: api for api in sorted(apis, key=lambda api: (api.order, api.name))}
