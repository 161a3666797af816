"""`lead-sandbox scaffold NAME --spec PATH`: a sixth API from its OpenAPI document, in a checkout.

Writes `openapi/NAME.yaml` (the spec, with an operationId on every operation and its auth applied), a
package `sandbox/apis/NAME/` whose `ApiDefinition` uses the generic behaviour (`sandbox.apis.generic`),
`fixtures/NAME.yaml` with two tenants and fixed test keys, and `tests/apis/NAME/test_NAME.py`, whose
tests drive the new API over HTTP. `serve --api NAME` then serves it; hand-written rules refine it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from sandbox.apis.generic.resources import discover, resolve
from sandbox.spec import UncompilableSchema, check_document
from sandbox.spec_upgrade import VERSION_30, VERSION_31, upgrade_to_31

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
#: package names under sandbox/apis that are not APIs (or are the control plane's)
RESERVED = frozenset({"generic", "triggering", "sandbox", "control", "core"})
TENANTS = (("acme", "Acme Corp"), ("globex", "Globex Inc"))
_METHODS = ("get", "put", "post", "patch", "delete")


class ScaffoldError(Exception):
    """A reason to write nothing, said in one line."""


@dataclass(frozen=True)
class Auth:
    header: str
    scheme: str | None  # "bearer" or None (the key is the header's whole value)


@dataclass(frozen=True)
class Plan:
    name: str
    package: str
    title: str
    solo_base: str
    auth: Auth
    spec: dict[str, Any]
    keys: tuple[tuple[str, str, str], ...]  # (slug, tenant name, key)
    upgraded_from: str | None = None  # the spec's own version when it was 3.0 (written as 3.1.0)


def read_spec(path: Path) -> dict[str, Any]:
    """The spec at `path`, parsed and validated (OpenAPI 3.0 or 3.1), or a one-line `ScaffoldError`."""
    try:  # a development dependency (the `dev` extra): scaffolding happens in a checkout
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    except ImportError:
        raise ScaffoldError("scaffold validates the spec with openapi-spec-validator: "
                            "pip install 'lead-sandbox[dev]' (or openapi-spec-validator)") from None

    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScaffoldError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScaffoldError(f"{path} is not YAML or JSON{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(spec, dict) or "openapi" not in spec:
        raise ScaffoldError(f"{path} is not an OpenAPI document (no `openapi` version field)")
    version = str(spec["openapi"])
    if not (VERSION_30.fullmatch(version) or VERSION_31.fullmatch(version)):
        raise ScaffoldError(f"{path} is OpenAPI {version}: scaffold reads OpenAPI 3.0.x or 3.1.x")
    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        message = " ".join(str(getattr(exc, "message", exc)).split())
        where = "/".join(str(part) for part in getattr(exc, "path", ()))
        raise ScaffoldError(f"{path} is not a valid OpenAPI document{' at ' + where if where else ''}: {message[:300]}") from None
    except Exception as exc:  # noqa: BLE001 - the validator's own failures on odd input: still one line, never a traceback
        raise ScaffoldError(f"{path} could not be validated: {' '.join(str(exc).split())[:300]}") from None
    return spec


def _auth(spec: dict[str, Any]) -> tuple[str, Auth]:
    """The first security scheme the gate can check: HTTP bearer, or an API key in a header."""
    schemes = (spec.get("components") or {}).get("securitySchemes") or {}
    for scheme_name, scheme in schemes.items():
        scheme = resolve(spec, scheme)
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            return scheme_name, Auth("authorization", "bearer")
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
            return scheme_name, Auth(str(scheme["name"]).lower(), None)
    raise ScaffoldError("the spec declares no security scheme the sandbox can check: add an HTTP bearer scheme "
                        "or an apiKey in a header under components.securitySchemes (every tenant has keys)")


def _operation_id(method: str, path: str, taken: set[str]) -> str:
    words = [part for part in re.split(r"[^A-Za-z0-9]+", re.sub(r"\{[^}]*\}", "", path)) if part]
    item = path.rstrip("/").endswith("}")
    verb = {"get": "get" if item else "list", "post": "create", "put": "replace", "patch": "update",
            "delete": "delete"}[method]
    base = verb + "".join(word[:1].upper() + word[1:] for word in words) or verb
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate


def prepared(spec: dict[str, Any], scheme_name: str) -> dict[str, Any]:
    """The spec as the sandbox serves it: every operation named (the resolver and the gate go by
    operationId) and secured by the spec's scheme when it says nothing about security."""
    taken = {op["operationId"] for item in (spec.get("paths") or {}).values() if isinstance(item, dict)
             for m, op in item.items() if m in _METHODS and isinstance(op, dict) and "operationId" in op}
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            op = item.get(method) if isinstance(item, dict) else None
            if isinstance(op, dict) and "operationId" not in op:
                op["operationId"] = _operation_id(method, path, taken)
                taken.add(op["operationId"])
    declared = "security" in spec or any(
        "security" in op for item in (spec.get("paths") or {}).values() if isinstance(item, dict)
        for m, op in item.items() if m in _METHODS and isinstance(op, dict))
    if not declared:
        spec["security"] = [{scheme_name: []}]
    return documented_errors(spec)


def documented_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """The generic behaviour's errors written into the spec where it says nothing of them: the default error
    schema, each operation's possible error statuses, and the code catalogue (`x-error-codes`)."""
    from sandbox.apis.generic.errors import SCHEMA, STATUSES, catalogue

    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    name = next(n for n in ("SandboxError", "SandboxError2", "SandboxError3") if n not in schemas)
    schemas[name] = SCHEMA
    error = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    operations = discover(spec)
    top_security = spec.get("security")
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            op = item.get(method) if isinstance(item, dict) else None
            if not isinstance(op, dict):
                continue
            found = operations.get(op.get("operationId", ""))
            statuses = ["400"]
            if op.get("security", top_security):
                statuses += ["401", "403"]
            if found is not None and (found.id_param or "{" in path):
                statuses.append("404")
            if "requestBody" in op:
                statuses += ["413", "415"]
            if found is None or found.action is None:
                statuses.append("501")
            responses = op.setdefault("responses", {})
            for status in statuses:
                if status not in responses and "4XX" not in responses and "default" not in responses:
                    responses[status] = {"description": STATUSES[status], **error}
    spec.setdefault("x-error-codes", catalogue())
    return spec


def _solo_base(spec: dict[str, Any]) -> str:
    """The path of the spec's first server (`https://api.example.com/v1` -> `/v1`), else `/api`."""
    servers = spec.get("servers") or []
    url = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
    path = urlparse(url).path.rstrip("/") if url else ""
    path = re.sub(r"\{[^}]*\}", "", path).rstrip("/")  # server variables: not part of a local path
    return path if re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", path or "") else "/api"


def test_key(package: str, slug: str) -> str:
    """A fixed, public test key: the same on every scaffold of this name (tests and docs can quote it)."""
    return f"{package}_test_{slug}_{hashlib.sha256(f'{package}:{slug}'.encode()).hexdigest()[:16]}"


def plan(name: str, spec_path: Path, root: Path) -> Plan:
    if not NAME.fullmatch(name):
        raise ScaffoldError(f"bad API name {name!r}: use lower-case letters, digits and dashes, e.g. widgets")
    package = name.replace("-", "_")
    if package in RESERVED:
        raise ScaffoldError(f"{name} is a reserved name; choose another")
    if not (root / "sandbox" / "apis").is_dir() or not (root / "openapi").is_dir():
        raise ScaffoldError(f"{root} is not a lead-sandbox checkout (no sandbox/apis/ and openapi/): run inside one "
                            "or pass --into")
    existing = [path for path in (root / "sandbox" / "apis" / package, root / "openapi" / f"{name}.yaml",
                                  root / "fixtures" / f"{name}.yaml") if path.exists()]
    if existing:
        raise ScaffoldError(f"API {name} already exists ({existing[0].relative_to(root)}); nothing was written")
    spec = read_spec(spec_path)
    version = str(spec["openapi"])
    upgraded_from = version if VERSION_30.fullmatch(version) else None
    if upgraded_from:  # the sandbox validates as JSON Schema 2020-12, which 3.0 schemas do not speak
        spec = upgrade_to_31(spec)
    try:  # what `serve` would refuse to start with, refused here
        check_document(spec, str(spec_path))
    except UncompilableSchema as exc:
        raise ScaffoldError(str(exc)) from None
    scheme_name, auth = _auth(spec)
    spec = prepared(spec, scheme_name)
    if not any(op.action for op in discover(spec).values()):
        raise ScaffoldError("the spec has no collection the sandbox can serve: expected paths like /things "
                            "(GET list, POST create) and /things/{id} (GET, PATCH, PUT, DELETE)")
    title = str((spec.get("info") or {}).get("title") or name)
    keys = tuple((slug, tenant, test_key(package, slug)) for slug, tenant in TENANTS)
    return Plan(name, package, title, _solo_base(spec), auth, spec, keys, upgraded_from)


def example_body(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value the schema accepts, for the test stubs: its example, else one made from its type."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 5:
        return "example"
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            if key == "allOf":
                merged: dict[str, Any] = {}
                for part in schema[key]:
                    value = example_body(spec, part, depth + 1)
                    merged.update(value if isinstance(value, dict) else {})
                return merged
            return example_body(spec, schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        wanted = [name for name in props if name in set(schema.get("required") or [])]
        return {name: example_body(spec, props[name], depth + 1) for name in wanted
                if not resolve(spec, props[name]).get("readOnly")}
    if kind == "array":
        return [example_body(spec, schema.get("items"), depth + 1)] if schema.get("minItems") else []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "email":
        return "ada@example.com"
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    return "x" * max(1, int(schema.get("minLength", 7)))


def _render(template: str, **values: Any) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("sandbox", "templates/scaffold"),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(template).render(**values)


def files(p: Plan) -> dict[str, str]:
    """Relative path -> content of everything a scaffold writes."""
    operations = discover(p.spec)
    crud = [op for op in operations.values() if op.action]
    resources = [op.resource for op in crud if op.resource is not None]
    first = next((r for r in resources if "{" not in r.path), resources[0])  # the stubs drive a top-level one
    by_action = {op.action: op for op in crud if op.resource == first}
    create_op = by_action.get("create")
    body: dict[str, Any] = {}
    if create_op is not None:
        op_spec = p.spec["paths"][create_op.path][create_op.method]
        content = (resolve(p.spec, op_spec.get("requestBody")) or {}).get("content") or {}
        media: dict[str, Any] = next((v for k, v in content.items() if "json" in k), {})
        body = example_body(p.spec, media.get("schema")) if media else {}
        if not isinstance(body, dict):
            body = {}
    header = "Authorization" if p.auth.scheme else p.auth.header
    values: dict[str, Any] = {
        "name": p.name, "package": p.package, "title": p.title, "solo_base": p.solo_base, "auth": p.auth,
        "keys": p.keys, "header": header, "auth_format": "Bearer {key}" if p.auth.scheme else "{key}",
        "collection": first.path if "{" not in first.path else None, "id_field": first.id_field,
        "item_key": first.item.key, "list_key": first.listing.key, "body": body, "has": set(by_action),
    }
    return {
        f"openapi/{p.name}.yaml": yaml.safe_dump(p.spec, sort_keys=False, allow_unicode=True, width=110),
        f"sandbox/apis/{p.package}/__init__.py": _render("api_init.py.j2", **values),
        f"sandbox/apis/{p.package}/handlers.py": _render("handlers.py.j2", **values),
        f"fixtures/{p.name}.yaml": _render("fixture.yaml.j2", **values),
        f"tests/apis/{p.package}/test_{p.package}.py": _render("test_api.py.j2", **values),
    }


def scaffold(name: str, spec_path: Path, root: Path) -> list[Path]:
    """Write the new API into the checkout at `root`; returns the files written (nothing on an error)."""
    return write(plan(name, spec_path, root), root)


def write(p: Plan, root: Path) -> list[Path]:
    contents = files(p)
    written = []
    for relative, text in contents.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
