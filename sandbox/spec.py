"""The only reader of `openapi/`: loads the specs, and judges instances against their schemas.

Connexion 3.3 validates with Draft 4, so under 3.1 `const`, numeric `exclusiveMinimum` and type arrays
silently misbehave (notes §1). Here schemas are compiled once each into JSON Schema 2020-12 validators
(jsonschema-rs), and their errors worded for clients with a `field` path; the validators Connexion runs
(sandbox/http/connexion_fence/validators.py) call into this module.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import yaml

from sandbox.config import SPEC_DIR
from sandbox.core.errors import Violation

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed(path: Path, mtime: float) -> dict[str, Any]:
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=_YamlLoader)


def spec_path(name: str) -> Path:
    return SPEC_DIR / name


def load_spec(name: str) -> dict[str, Any]:
    """A private deep copy of `openapi/<name>` (Connexion resolves `$ref`s in place)."""
    path = spec_path(name)
    return copy.deepcopy(_parsed(path, path.stat().st_mtime))


# --- compiled validators ---------------------------------------------------------------------------
_compiled: dict[int, tuple[dict[str, Any], Any]] = {}


def compiled(schema: dict[str, Any]) -> Any:
    """One compiled 2020-12 validator per schema object (Connexion's own rebuilds one per request)."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        # Keep a reference to the schema so its id cannot be reused by another object.
        # Connexion attaches the spec's `components` to schemas it hands out; every `$ref` is already
        # resolved in place, and an inline response schema under `components` would make it circular.
        bare = {key: value for key, value in schema.items() if key != "components"}
        entry = (schema, jsonschema_rs.Draft202012Validator(bare, validate_formats=True))
        _compiled[id(schema)] = entry
    return entry[1]


def _join(prefix: str | None, path: list[Any]) -> str | None:
    parts = [prefix] if prefix else []
    for item in path:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or None


def _anyof_required(kind: Any) -> list[str] | None:
    """For `anyOf: [{required: [a]}, {required: [b]}]`, the alternatives' names."""
    names: list[str] = []
    for branch in getattr(kind, "context", []) or []:
        if not branch or any(err.kind.name != "required" for err in branch):
            return None
        names.extend(err.kind.property for err in branch)
    return names or None


def describe(error: Any, prefix: str | None = None) -> tuple[str | None, str]:
    """(field path, human message) for a jsonschema-rs error, worded like the vendor's
    `lead.email must be a valid email address`."""
    kind = error.kind
    name = kind.name
    path = list(error.instance_path)
    if name == "required":
        field = _join(prefix, [*path, kind.property])
        return field, f"{field} is required"
    if name == "anyOf" and (alternatives := _anyof_required(kind)):
        field = _join(prefix, [*path, alternatives[0]])
        listed = " or ".join(_join(prefix, [*path, alt]) or alt for alt in alternatives)
        return field, f"at least one of {listed} is required"
    if name == "additionalProperties":
        field = _join(prefix, [*path, kind.unexpected[0]])
        return field, f"{field} is not a known field"
    field = _join(prefix, path)
    subject = field or "body"
    messages = {
        "format": lambda: {
            "email": f"{subject} must be a valid email address",
            "date-time": f"{subject} must be an RFC 3339 date-time, e.g. 2026-05-15T08:42:11Z",
            "date": f"{subject} must be an ISO 8601 date, e.g. 2026-05-01",
            "uri": f"{subject} must be an absolute URL",
            "uuid": f"{subject} must be a UUID",
        }.get(kind.format, f"{subject} must be a valid {kind.format}"),
        "type": lambda: f"{subject} must be of type {' or '.join(kind.types)}",
        "enum": lambda: f"{subject} must be one of: {', '.join(map(str, kind.options))}",
        "constant": lambda: f"{subject} must be {orjson.dumps(kind.value).decode()}",
        "pattern": lambda: f"{subject} has an invalid format (expected pattern {kind.pattern})",
        "minLength": lambda: f"{subject} must be at least {kind.limit} characters",
        "maxLength": lambda: f"{subject} must be at most {kind.limit} characters",
        "minimum": lambda: f"{subject} must be at least {kind.limit}",
        "maximum": lambda: f"{subject} must be at most {kind.limit}",
        "exclusiveMinimum": lambda: f"{subject} must be greater than {kind.limit}",
        "exclusiveMaximum": lambda: f"{subject} must be less than {kind.limit}",
        "minItems": lambda: f"{subject} must have at least {kind.limit} items",
        "maxItems": lambda: f"{subject} must have at most {kind.limit} items",
        "minProperties": lambda: f"{subject} must have at least {kind.limit} fields",
        "maxProperties": lambda: f"{subject} must have at most {kind.limit} fields",
        "uniqueItems": lambda: f"{subject} must not repeat items",
    }
    maker = messages.get(name)
    try:
        return field, maker() if maker else f"{subject}: {_short(error.message)}"
    except AttributeError:
        return field, f"{subject}: {_short(error.message)}"


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def all_errors(schema: dict[str, Any], instance: Any) -> list[Any]:
    """Every error of `instance`, shallowest first (so `lead` comes before `lead.utm.source`); among
    equals, in the validator's own (deterministic) order."""
    validator = compiled(schema)
    if validator.is_valid(instance):
        return []
    return sorted(validator.iter_errors(instance), key=lambda err: len(list(err.instance_path)))


def first_error(schema: dict[str, Any], instance: Any) -> Any | None:
    errors = all_errors(schema, instance)
    return errors[0] if errors else None


def violations(schema: dict[str, Any], instance: Any, prefix: str | None = None) -> list[Violation]:
    """Every violation of `instance`, worded for the client, one per distinct (field, message)."""
    found: dict[Violation, None] = {}
    for error in all_errors(schema, instance):
        found.setdefault(Violation(*describe(error, prefix)), None)
    return list(found)


# --- response headers added outside Connexion --------------------------------------------------
#: `EdgeMiddleware` adds these around Connexion (so error responses carry them too); Connexion's
#: response validator runs inside and cannot see them. Schemathesis checks them end to end.
EDGE_HEADERS = frozenset({"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-trace-id", "retry-after"})
