"""The vendor APIs this sandbox simulates; each package declares one `ApiDefinition`."""

from __future__ import annotations

import importlib

from sandbox.core.definition import ApiDefinition

#: name -> package; order is the order `serve` prints them in.
PACKAGES = {
    "hadar": "sandbox.apis.hadar",
    "hadar-crm": "sandbox.apis.hadar_crm",
    "leaditio": "sandbox.apis.leaditio",
    "askad": "sandbox.apis.askad",
    "href": "sandbox.apis.href",
}


def registry(names: tuple[str, ...] | list[str] = ()) -> dict[str, ApiDefinition]:
    """The APIs by name; with `names`, only those are imported (a one-API `serve` starts faster)."""
    unknown = [name for name in names if name not in PACKAGES]
    if unknown:
        raise ValueError(f"unknown API {', '.join(unknown)}; choose from {', '.join(PACKAGES)}")
    return {
        name: importlib.import_module(package).API
        for name, package in PACKAGES.items()
        if not names or name in names
    }
