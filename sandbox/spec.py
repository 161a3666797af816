"""The only reader of `openapi/`: loads the specs, and judges instances against their schemas.

Connexion 3.3 validates with Draft 4, so under 3.1 `const`, numeric `exclusiveMinimum` and type arrays
silently misbehave (notes §1). Here schemas are compiled once each into JSON Schema 2020-12 validators
(jsonschema-rs), and their errors worded for clients with a `field` path; the validators Connexion runs
(sandbox/http/connexion_fence/validators.py) call into this module.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import orjson
import platformdirs
import yaml

from sandbox.config import SPEC_DIR
from sandbox.core.errors import Violation

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Bump when what `_as_json` makes of a YAML document changes: older cache entries are then never read.
_CACHE_FORMAT = 1


def spec_cache_dir() -> Path | None:
    """Where parsed specs are kept as JSON: `LEAD_SANDBOX_CACHE_DIR`, else the user's cache directory;
    None where there is none (no home directory): then nothing is cached."""
    chosen = os.environ.get("LEAD_SANDBOX_CACHE_DIR")
    if chosen:
        return Path(chosen)
    try:
        return platformdirs.user_cache_path("lead-sandbox") / "openapi"
    except (RuntimeError, OSError, KeyError):  # no HOME and no passwd entry: run without the cache
        return None


def _as_json(source: bytes) -> bytes | dict[str, Any]:
    """A YAML document as compact JSON (integer keys such as `200:` become strings, as JSON has only those;
    YAML timestamps become RFC 3339 strings, as Connexion's encoder serves them); the parsed document itself
    when it holds what JSON cannot (integers past 64 bits, `!!binary`): such a spec is not cached."""
    document = yaml.load(source, Loader=_YamlLoader)
    try:
        return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return document  # type: ignore[no-any-return]


def _write_atomically(target: Path, content: bytes) -> None:
    """Best effort: a concurrent start reads the whole entry or none; a failure leaves nothing behind."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(partial, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


@functools.cache
def _json_of(path: Path, mtime: float, size: int) -> bytes | dict[str, Any]:
    """The spec at `path` as JSON bytes (or, for a spec JSON cannot hold, as its parsed document). Parsing
    YAML costs about 0.1 s for the six specs at every start, a JSON copy a millisecond, so the JSON is kept
    in a cache file named by the SHA-256 of the YAML (a changed spec can never read a stale entry, so nothing
    needs invalidating). The cache is best effort: no cache folder, an unwritable or a damaged entry only
    means parsing the YAML again."""
    source = path.read_bytes()
    folder = spec_cache_dir()
    cached = None
    if folder is not None:
        digest = hashlib.sha256(source).hexdigest()[:32]
        cached = folder / f"{path.stem}-{digest}-v{_CACHE_FORMAT}.json"
        try:
            document = cached.read_bytes()
            orjson.loads(document)  # a torn or edited entry is parsed again, never served
            return document
        except (OSError, orjson.JSONDecodeError):
            pass
    parsed = _as_json(source)
    if cached is not None and isinstance(parsed, bytes):
        _write_atomically(cached, parsed)
    return parsed


def _spec_json(path: Path) -> bytes | dict[str, Any]:
    status = path.stat()
    return _json_of(path, status.st_mtime, status.st_size)


def _copy_of(document: bytes | dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(document) if isinstance(document, bytes) else copy.deepcopy(document)  # type: ignore[no-any-return]


def spec_path(name: str) -> Path:
    return SPEC_DIR / name


def load_spec(name: str) -> dict[str, Any]:
    """A private copy of `openapi/<name>` (Connexion resolves `$ref`s in place): decoded from JSON each
    time, which is several times faster than a deep copy of the parsed document."""
    return _copy_of(_spec_json(spec_path(name)))


# --- where a spec keeps its schemas ----------------------------------------------------------------
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def schema_locations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every place an OpenAPI document holds a schema, as (JSON pointer, holder, key): the schema is
    `holder[key]`. Top-level schemas only; what they nest (properties, items, allOf, ...) is theirs."""

    def media(base: str, holder: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
        if not isinstance(holder, dict):
            return
        if isinstance(holder.get("schema"), (dict, bool)):  # a parameter or a header
            yield f"{base}/schema", holder, "schema"
        for kind in ("content", "headers"):
            for name, entry in (holder.get(kind) or {}).items():
                yield from media(f"{base}/{kind}/{_escape(name)}", entry)

    def parameters(base: str, listed: Any) -> Iterator[tuple[str, dict[str, Any], str]]:
        for index, parameter in enumerate(listed if isinstance(listed, list) else []):
            yield from media(f"{base}/parameters/{index}", parameter)

    components = spec.get("components") or {}
    for name, schema in (components.get("schemas") or {}).items():
        if isinstance(schema, (dict, bool)):
            yield f"/components/schemas/{_escape(name)}", components["schemas"], name
    for kind in ("parameters", "requestBodies", "responses", "headers"):
        for name, entry in (components.get(kind) or {}).items():
            yield from media(f"/components/{kind}/{_escape(name)}", entry)
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        base = f"/paths/{_escape(path)}"
        yield from parameters(base, item.get("parameters"))
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            yield from parameters(f"{base}/{method}", op.get("parameters"))
            yield from media(f"{base}/{method}/requestBody", op.get("requestBody"))
            for status, response in (op.get("responses") or {}).items():
                yield from media(f"{base}/{method}/responses/{_escape(status)}", response)


class UncompilableSchema(ValueError):
    """A spec's schema that JSON Schema 2020-12 (jsonschema-rs) cannot compile; said in one line."""


def _checked(document: bytes | dict[str, Any], label: str) -> None:
    if isinstance(document, bytes):
        _checked_json(document, label)
    else:
        check_document(document, label)


@functools.cache
def _checked_json(document: bytes, label: str) -> None:
    check_document(orjson.loads(document), label)


def check_document(spec: dict[str, Any], label: str) -> None:
    """`UncompilableSchema`, in one line starting with `label`, unless every schema of `spec` compiles."""
    pointers = [pointer for pointer, _, _ in schema_locations(spec)]
    if not pointers:
        return
    # One compile of the whole document, referring to every schema in it: each schema (and whatever it
    # refers to) is compiled once, in milliseconds, and an error names its place in the document.
    root = {**spec, "allOf": [{"$ref": "#" + quote(pointer, safe="/~")} for pointer in pointers]}
    try:
        jsonschema_rs.Draft202012Validator(root, validate_formats=True)
    except jsonschema_rs.ValidationError as exc:
        where = "/" + "/".join(_escape(part) for part in exc.instance_path) if list(exc.instance_path) else ""
        message = " ".join(str(exc.message).split())
        raise UncompilableSchema(f"{label}: the schema at {where or '(document)'} is not valid "
                                 f"JSON Schema 2020-12: {message[:200]}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. an unresolvable $ref: still one line
        message = " ".join(str(exc).split())
        raise UncompilableSchema(f"{label}: a schema cannot be compiled: {message[:300]}") from None


def check_schemas(name: str) -> None:
    """Raises `UncompilableSchema` (one line naming the spec and the JSON pointer) unless every schema of
    `openapi/<name>` compiles, so a bad schema stops the start, not each request with a 500. Once per file."""
    path = spec_path(name)
    _checked(_spec_json(path), f"openapi/{path.name}")


# --- compiled validators ---------------------------------------------------------------------------
_compiled: dict[int, tuple[dict[str, Any], Any]] = {}


def compiled(schema: dict[str, Any]) -> Any:
    """One compiled 2020-12 validator per schema object (Connexion's own rebuilds one per request).
    A schema that does not compile is remembered too (it is not recompiled on every request);
    `check_schemas` at start-up keeps served specs from getting here."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        # Keep a reference to the schema so its id cannot be reused by another object.
        # Connexion attaches the spec's `components` to schemas it hands out; every `$ref` is already
        # resolved in place, and an inline response schema under `components` would make it circular.
        bare = {key: value for key, value in schema.items() if key != "components"}
        try:
            validator: Any = jsonschema_rs.Draft202012Validator(bare, validate_formats=True)
        except jsonschema_rs.ValidationError as exc:
            validator = f"a schema cannot be compiled: {' '.join(str(exc.message).split())}"
        entry = (schema, validator)
        _compiled[id(schema)] = entry
    if isinstance(entry[1], str):  # a new exception each time: a re-raised one would keep every traceback
        raise UncompilableSchema(entry[1])
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
