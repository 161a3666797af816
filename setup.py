"""Packaging that pyproject.toml cannot say declaratively: which packages the wheel holds.

The repository keeps `contracts/`, `fixtures/` and `openapi/` at the top level, but a user's environment
must not gain top-level import names as generic as `contracts` or `fixtures`: they are installed as
`sandbox.contracts`, `sandbox.fixtures` and `sandbox.openapi` (the specs, package data). Editable installs
map the same names to the same folders, so imports read `sandbox.…` everywhere."""

from setuptools import find_packages, setup

#: installed name -> folder in this repository
MAPPED = {"sandbox.contracts": "contracts", "sandbox.fixtures": "fixtures", "sandbox.openapi": "openapi"}

#: folders of data only (no __init__.py): Python imports them as namespace packages, so setuptools warns
#: "Package would be ignored" unless they are packages of the wheel too; their files are package data
#: ([tool.setuptools.package-data] in pyproject.toml)
DATA_ONLY = ["sandbox.inspector.static", "sandbox.inspector.templates", "sandbox.templates.scaffold"]

packages = find_packages(include=["sandbox", "sandbox.*"]) + DATA_ONLY
for name, folder in MAPPED.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(where=folder))]

setup(packages=packages, package_dir=MAPPED)
