"""An OpenAPI 3.0 document rewritten as 3.1, for `lead-sandbox scaffold`.

The sandbox validates every schema as JSON Schema 2020-12 (what OpenAPI 3.1 uses, `sandbox.spec`). Read
that way, a 3.0 schema says something else: `nullable: true` is ignored (so a valid `null` is refused),
a boolean `exclusiveMinimum` does not compile, and `example` is an unknown keyword. This rewrites those
the way the OpenAPI 3.0 -> 3.1 migration guide does, in every schema of the document."""

from __future__ import annotations

import re
from typing import Any

from sandbox.spec import schema_locations

VERSION_30 = re.compile(r"3\.0\.\d+")
VERSION_31 = re.compile(r"3\.1\.\d+")
#: keys that describe a schema rather than constrain it: kept outside the `anyOf` a nullable `$ref` becomes
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
                "externalDocs", "xml")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
            "unevaluatedProperties", "unevaluatedItems", "additionalItems")


def upgrade_to_31(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (an OpenAPI 3.0.x document, validated as such) rewritten in place as 3.1.0, and returned."""
    spec["openapi"] = "3.1.0"
    for _, holder, key in schema_locations(spec):
        _upgrade(holder[key])
    return spec


def _upgrade(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    nested: list[Any] = [schema.get(name) for name in _SCHEMAS]
    nested += [sub for name in _SCHEMA_MAPS if isinstance(schema.get(name), dict) for sub in schema[name].values()]
    nested += [sub for name in _SCHEMA_LISTS if isinstance(schema.get(name), list) for sub in schema[name]]
    for sub in nested:
        _upgrade(sub)

    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):  # 3.0: a flag on `minimum`; 2020-12: the bound itself
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)
    if "example" in schema and "examples" not in schema:
        schema["examples"] = [schema.pop("example")]
    else:
        schema.pop("example", None)
    if schema.pop("nullable", False) is True:
        _allow_null(schema)


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            kind.append("null")
    else:  # a `$ref`, `allOf`, `oneOf`...: null, or what the schema says
        described = {key: schema.pop(key) for key in _ANNOTATIONS if key in schema}
        rest = dict(schema)
        schema.clear()
        schema.update({"anyOf": [rest, {"type": "null"}], **described})
        return
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"].append(None)  # an enum lists every allowed value, null too
    if "const" in schema:
        schema["anyOf"] = [{"const": schema.pop("const")}, {"type": "null"}]
