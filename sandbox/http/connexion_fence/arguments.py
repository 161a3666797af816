"""A handler's keyword arguments from a plan made once per operation.

Connexion 3.3's parameter decorator works the arguments out afresh on every request: a Starlette request and
its query parser, the URI parser's resolution of path and query parameters (each coerced twice), the
definitions and defaults of the operation's parameters rebuilt as dicts (defaults deep-copied), the body's
name looked up by media type, a form parse attempt and the context merge. Under `make bench` that was about
a quarter of a GET's in-process CPU. For an operation whose parameters are plain scalars (string, integer,
number, boolean; not nullable, no array, object, style or empty-value rules) and whose handler takes only
those and the JSON body, everything but the values is known once: the plan keeps, per parameter, the
argument name, the cast Connexion applies and the default.

Exactly upstream's values or upstream itself: any operation outside that shape has no plan; any request
the plan cannot answer with certainty (a value whose cast fails, a body that is not the JSON object the
validator parsed, an undeclared path parameter) goes through upstream's decorator. With
`Arguments.verify` on (the test suite turns it on for every test), each planned request also runs
upstream's decorator and fails loudly when the two disagree."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from connexion.utils import boolean

from sandbox.http.connexion_fence.validators import PARSED_BODY

#: Connexion's casts for the scalar types (connexion.utils.make_type after coerce_type): the same functions
_CASTS: dict[str, Callable[[Any], Any]] = {"integer": int, "number": float, "string": str, "boolean": boolean}
#: parameter keys that change how a value is read or cast: an operation using any has no plan
_SPECIAL = frozenset({"style", "explode", "allowEmptyValue", "allowReserved", "content", "nullable", "x-nullable"})
_JSON = "application/json"
#: what upstream fills from the request's context (security results, the context itself) by argument name
_CONTEXT = frozenset({"user", "token_info", "context_"})


class Unplanned(Exception):
    """This request takes upstream's decorator."""


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    key: str  # the handler's argument name
    cast: Callable[[Any], Any]
    default: Any
    has_default: bool


@dataclass(frozen=True, slots=True)
class Plan:
    path: Mapping[str, tuple[str, Callable[[Any], Any]]]
    query: Sequence[_Param]
    body_key: str | None
    body_required: bool

    def kwargs(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        """The handler's keyword arguments, as upstream's decorator would pass them; Unplanned otherwise."""
        kwargs: dict[str, Any] = {}
        try:
            for name, value in (scope.get("path_params") or {}).items():
                found = self.path.get(name)
                if found is None:
                    raise Unplanned
                kwargs[found[0]] = found[1](value)
            if self.query:
                raw = scope.get("query_string") or b""
                # Starlette's parsing (latin-1, blank values kept); the last of repeated values wins, as upstream
                given = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}
                for param in self.query:
                    if param.name in given:
                        kwargs[param.key] = param.cast(given[param.name])
                    elif param.has_default:
                        kwargs[param.key] = param.cast(param.default)
        except (ValueError, TypeError):
            raise Unplanned from None
        if self.body_key is not None:
            state = scope.get("state") or {}
            body = state.get(PARSED_BODY)
            if not isinstance(body, dict) or _media_type(scope) != _JSON:
                raise Unplanned  # no body, another media type, a JSON scalar: upstream decides
            kwargs[self.body_key] = body
        return kwargs


def _media_type(scope: Mapping[str, Any]) -> str:
    for key, value in scope.get("headers") or ():
        if key == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


def _schema_cast(parameter: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    if _SPECIAL & parameter.keys():
        return None
    schema = parameter.get("schema")
    if not isinstance(schema, Mapping) or _SPECIAL & schema.keys():
        return None
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in _CASTS:
        return None
    if kind == "string" and schema.get("format") == "binary":
        return None
    return _CASTS[kind]


def plan_for(operation: Any, arguments: Sequence[str], has_kwargs: bool, sanitize: Callable[[str], str]) -> Plan | None:
    """The plan of `operation` for a handler taking `arguments`, or None (upstream serves every request)."""
    if has_kwargs or _CONTEXT & set(arguments):
        return None
    path: dict[str, tuple[str, Callable[[Any], Any]]] = {}
    query: list[_Param] = []
    known: set[str] = set()
    for parameter in operation.parameters:
        where = parameter.get("in")
        if where in ("header", "cookie"):
            continue  # upstream passes neither to handlers
        cast = _schema_cast(parameter)
        if cast is None or where not in ("path", "query"):
            return None
        key = sanitize(parameter["name"])
        known.add(key)
        if where == "path":
            path[parameter["name"]] = (key, cast)
        elif key in arguments:
            schema = parameter["schema"]
            has_default = "default" in parameter or "default" in schema
            default = parameter.get("default", schema.get("default"))
            query.append(_Param(parameter["name"], key, cast, default, has_default))
    body_key: str | None = None
    body_required = False
    if operation.request_body:
        body_schema = operation.body_schema(_JSON)
        if not isinstance(body_schema, Mapping) or body_schema.get("nullable") or body_schema.get("x-nullable"):
            return None
        name = sanitize(operation.body_name(_JSON))
        if name in arguments:
            body_key = name
            known.add(name)
        body_required = bool(operation.request_body.get("required"))
    if not set(arguments) <= known:
        return None  # an argument upstream fills from elsewhere (context, files, a form field)
    return Plan(path, query, body_key, body_required)
