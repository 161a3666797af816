"""The vendor APIs this sandbox simulates; each package declares one `ApiDefinition`."""

from __future__ import annotations

import importlib

from sandbox.apis.base import ApiDefinition

#: name -> package; order is the order `serve` prints them in.
PACKAGES = {
    "hadar": "sandbox.apis.hadar",
    "hadar-crm": "sandbox.apis.hadar_crm",
    "leaditio": "sandbox.apis.leaditio",
    "askad": "sandbox.apis.askad",
    "href": "sandbox.apis.href",
}


def registry() -> dict[str, ApiDefinition]:
    return {name: importlib.import_module(package).API for name, package in PACKAGES.items()}
