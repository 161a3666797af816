"""What a spec says about its resources, read once: which operation lists, creates, reads, updates or
deletes which collection, how records are identified and stamped, how lists page and are shaped.

The conventions are the REST ones every vendor spec here follows: a collection path (`/widgets`) with
GET (list) and POST (create), an item path one parameter deeper (`/widgets/{widget_id}`) with GET, PATCH
(merge), PUT (replace) and DELETE. A nested collection (`/owners/{owner_id}/pets`) is one collection per
parent: its path parameters are part of the stored kind. Anything else (an action such as
`POST /widgets/{id}/archive`) is left to a hand-written handler."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import inflection

from sandbox.core.store import Condition

Action = Literal["list", "create", "read", "update", "replace", "delete"]
Style = Literal["cursor", "page", "offset"]

_PARAM = re.compile(r"\{([^}/]+)\}")
_METHODS = ("get", "put", "post", "patch", "delete")

#: query parameter names (lower-case, without `_` and `-`) by the pagination role they play
CURSOR_NAMES = ("cursor", "startingafter", "after", "pagetoken", "nextcursor")
PAGE_NAMES = ("page", "pagenumber")
OFFSET_NAMES = ("offset", "skip")
LIMIT_NAMES = ("limit", "perpage", "pagesize", "size", "maxresults")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def normal(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def sanitized(name: str) -> str:
    """The keyword Connexion passes a parameter as (its `sanitized`, the default: `page[size]` ->
    `page_size`, other non-identifier characters dropped)."""
    return re.sub(r"^[^a-zA-Z_]+", "", re.sub(r"[^0-9a-zA-Z_]", "", re.sub(r"\[(?!])", "_", name)))


#: the stored field naming a nested record's parent (`owner_id=o1`); never sent to clients
PARENT = "_parent"


@dataclass(frozen=True)
class Place:
    """One collection of one tenant: a kind, and for a nested collection the parent's path values."""

    kind: str
    parent: str | None = None

    def where(self) -> list[Condition]:
        return [Condition(PARENT, "eq", self.parent)] if self.parent is not None else []

    @property
    def tag(self) -> str:
        """What a cursor is bound to: this list, not a sibling parent's."""
        return self.kind if self.parent is None else f"{self.kind}:{self.parent}"


@dataclass(frozen=True)
class Pagination:
    style: Style
    #: the query parameter names the handler reads (declared in the spec, or the default ones)
    limit: str = "limit"
    position: str = "cursor"  # the cursor, page or offset parameter
    default_limit: int = DEFAULT_LIMIT
    max_limit: int = MAX_LIMIT


@dataclass(frozen=True)
class Shape:
    """Where a response puts the record(s): bare (`key` None) or under one property (`{data: ...}`),
    and which declared properties it also has (pagination facts filled by name)."""

    key: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    #: the collection path (`/widgets`, `/owners/{owner_id}/pets`): with its parameters filled, the stored kind
    path: str
    singular: str
    #: the record's id property and how new ids look
    id_field: str = "id"
    id_style: Literal["uuid", "prefixed", "integer"] = "prefixed"
    #: stamp properties the record schema declares: created, updated
    created_field: str | None = None
    updated_field: str | None = None
    #: properties the server owns (readOnly): a client's values are dropped
    read_only: frozenset[str] = frozenset()
    item: Shape = Shape()
    listing: Shape = Shape(key="data")
    pagination: Pagination = Pagination("cursor")

    @property
    def kind(self) -> str:
        """The stored kind: the path's fixed segments (`widgets`, `owners_pets`), an identifier."""
        words = [part for part in re.split(r"[^A-Za-z0-9]+", _PARAM.sub("", self.path)) if part]
        return "_".join(words).lower() or "records"

    def place(self, path_values: Mapping[str, Any]) -> Place:
        """Where a request's records are: for `/owners/{owner_id}/pets`, the pets of that one owner."""
        names = _PARAM.findall(self.path)
        parent = "&".join(f"{name}={path_values.get(sanitized(name))}" for name in names) if names else None
        return Place(self.kind, parent)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    action: Action | None  # None: not a CRUD operation (a hand-written handler's job)
    resource: Resource | None
    #: the path parameter naming the record (item operations)
    id_param: str | None = None
    status: int = 200
    method: str = "get"
    path: str = "/"
    #: the keyword names of its declared path and query parameters, and whether it takes a body
    params: tuple[str, ...] = ()
    body: bool = False


def resolve(spec: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """A local `$ref` followed (nested ones too, a few levels deep: enough for response shapes)."""
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        target: Any = spec
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node


def _json_schema(spec: Mapping[str, Any], holder: Any) -> dict[str, Any] | None:
    content = resolve(spec, holder or {}).get("content") or {}
    media = next((value for name, value in content.items() if "json" in name), None)
    schema = resolve(spec, (media or {}).get("schema"))
    return schema if isinstance(schema, dict) else None


def _success(spec: Mapping[str, Any], operation: Mapping[str, Any], default: int) -> tuple[int, dict[str, Any] | None]:
    codes = sorted(str(code) for code in (operation.get("responses") or {}) if str(code).startswith("2"))
    if not codes:
        return default, None
    code = codes[0]
    return int(code) if code.isdigit() else default, _json_schema(spec, operation["responses"][code])


def _properties(spec: Mapping[str, Any], schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if not schema:
        return {}
    props: dict[str, Any] = {}
    for part in schema.get("allOf", []):  # composed records: every part's properties
        props.update(_properties(spec, resolve(spec, part)))
    props.update({name: resolve(spec, value) for name, value in (schema.get("properties") or {}).items()})
    return props


def _is_type(schema: Any, name: str) -> bool:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind == name or (isinstance(kind, list) and name in kind)


def _item_shape(spec: Mapping[str, Any], schema: dict[str, Any] | None) -> tuple[Shape, dict[str, Any]]:
    """(where the record sits, the record's schema) of a single-record response."""
    props = _properties(spec, schema)
    if "id" not in props:
        for name, value in props.items():  # `{data: {id, ...}}`: the record is wrapped
            if _is_type(value, "object") and "id" in _properties(spec, value):
                return Shape(name, props), value
    return Shape(None, props), schema or {}


def _list_shape(spec: Mapping[str, Any], schema: dict[str, Any] | None) -> tuple[Shape, dict[str, Any] | None]:
    if schema is None:
        return Shape("data"), None
    if _is_type(schema, "array"):
        return Shape(None), resolve(spec, schema.get("items"))
    props = _properties(spec, schema)
    for name, value in props.items():
        if _is_type(value, "array"):
            return Shape(name, props), resolve(spec, value.get("items"))
    return Shape("data", props), None


def _pagination(spec: Mapping[str, Any], operation: Mapping[str, Any], path_item: Mapping[str, Any]) -> Pagination:
    params = [resolve(spec, p) for p in (*path_item.get("parameters", []), *operation.get("parameters", []))]
    query = {normal(p["name"]): p for p in params if isinstance(p, dict) and p.get("in") == "query" and "name" in p}

    def declared(names: tuple[str, ...]) -> dict[str, Any] | None:
        return next((query[name] for name in names if name in query), None)

    limit = declared(LIMIT_NAMES)
    limit_schema = resolve(spec, (limit or {}).get("schema")) or {}
    default_limit = limit_schema.get("default", DEFAULT_LIMIT)
    max_limit = limit_schema.get("maximum", max(MAX_LIMIT, default_limit))
    limit_name = limit["name"] if limit else "limit"
    for style, names in (("cursor", CURSOR_NAMES), ("page", PAGE_NAMES), ("offset", OFFSET_NAMES)):
        found = declared(names)
        if found is not None:
            return Pagination(style, limit_name, found["name"], default_limit, max_limit)  # type: ignore[arg-type]
    return Pagination("cursor", limit_name, "cursor", default_limit, max_limit)


def _id_style(schema: Any) -> Literal["uuid", "prefixed", "integer"]:
    if isinstance(schema, dict) and schema.get("format") == "uuid":
        return "uuid"
    if _is_type(schema, "integer"):
        return "integer"
    return "prefixed"


def _stamp(props: Mapping[str, Any], *names: str) -> str | None:
    return next((name for name in props if normal(name) in names), None)


@dataclass
class _Found:
    path: str
    collection: dict[str, Any] = field(default_factory=dict)  # method -> operation
    item: dict[str, Any] = field(default_factory=dict)
    item_path: str = ""
    path_items: dict[str, Any] = field(default_factory=dict)


def discover(spec: Mapping[str, Any]) -> dict[str, Operation]:
    """Every operation of the spec by operationId, with the CRUD action it performs (or None)."""
    paths: dict[str, Any] = spec.get("paths") or {}
    found: dict[str, _Found] = {}
    for path, path_item in paths.items():
        path_item = resolve(spec, path_item)
        segments = path.rstrip("/").split("/")
        if segments[-1] and not _PARAM.fullmatch(segments[-1]):
            entry = found.setdefault(path.rstrip("/"), _Found(path.rstrip("/")))
            entry.collection = {m: path_item[m] for m in _METHODS if m in path_item}
            entry.path_items[path] = path_item
        elif len(segments) >= 2 and _PARAM.fullmatch(segments[-1]) and segments[-2] and not _PARAM.fullmatch(segments[-2]):
            parent = "/".join(segments[:-1])
            entry = found.setdefault(parent, _Found(parent))
            entry.item = {m: path_item[m] for m in _METHODS if m in path_item}
            entry.item_path = path
            entry.path_items[path] = path_item

    operations: dict[str, Operation] = {}
    for entry in found.values():
        if "{" in entry.path and "get" not in entry.collection and not entry.item:
            continue  # `POST /pets/{pet_id}/adopt`: an action on a record, not a collection of its own
        resource = _resource(spec, entry)
        id_param = _PARAM.fullmatch(entry.item_path.rstrip("/").split("/")[-1]) if entry.item_path else None
        for method, action, default in (("get", "list", 200), ("post", "create", 201)):
            op = entry.collection.get(method)
            if op and op.get("operationId"):
                status, _ = _success(spec, op, default)
                operations[op["operationId"]] = Operation(op["operationId"], action, resource, None, status, method, entry.path)  # type: ignore[arg-type]
        for method, action, default in (("get", "read", 200), ("patch", "update", 200), ("put", "replace", 200),
                                        ("delete", "delete", 204)):
            op = entry.item.get(method)
            if op and op.get("operationId") and id_param is not None:
                status, _ = _success(spec, op, default)
                operations[op["operationId"]] = Operation(op["operationId"], action, resource,  # type: ignore[arg-type]
                                                          sanitized(id_param.group(1)), status, method, entry.item_path)
    for path, path_item in paths.items():  # the rest: known by id, served by a hand-written handler
        for method in _METHODS:
            op = resolve(spec, path_item).get(method)
            if isinstance(op, dict) and op.get("operationId") and op["operationId"] not in operations:
                operations[op["operationId"]] = Operation(op["operationId"], None, None, None, 200, method, path)
    for name, found_op in operations.items():
        path_item = resolve(spec, paths[found_op.path])
        op = path_item[found_op.method]
        declared = [resolve(spec, p) for p in (*path_item.get("parameters", []), *op.get("parameters", []))]
        params = tuple(dict.fromkeys(sanitized(p["name"]) for p in declared
                                     if isinstance(p, dict) and p.get("in") in ("path", "query") and "name" in p))
        operations[name] = replace(found_op, params=params, body="requestBody" in op)
    return operations


def _resource(spec: Mapping[str, Any], entry: _Found) -> Resource:
    last = entry.path.rstrip("/").split("/")[-1]
    singular = re.sub(r"[^a-z0-9]+", "_", inflection.singularize(inflection.underscore(last))).strip("_") or "record"
    # the record's schema: what reading one answers, else what creating one answers
    item_schema = None
    for holder, method in ((entry.item, "get"), (entry.collection, "post"), (entry.item, "patch"), (entry.item, "put")):
        if method in holder:
            _, item_schema = _success(spec, holder[method], 200)
            if item_schema:
                break
    item, record = _item_shape(spec, item_schema)
    list_schema = _success(spec, entry.collection["get"], 200)[1] if "get" in entry.collection else None
    listing, listed = _list_shape(spec, list_schema)
    props = _properties(spec, record) or _properties(spec, listed)
    if not props and "post" in entry.collection:  # no response schema: the create body says what a record has
        body = resolve(spec, entry.collection["post"].get("requestBody"))
        props = _properties(spec, _json_schema(spec, body))
    id_field = "id" if "id" in props or not props else next((n for n in props if normal(n).endswith("id")), "id")
    pagination = (_pagination(spec, entry.collection["get"], entry.path_items.get(entry.path, {}))
                  if "get" in entry.collection else Pagination("cursor"))
    return Resource(
        path=entry.path,
        singular=singular,
        id_field=id_field,
        id_style=_id_style(props.get(id_field)),
        created_field=_stamp(props, "createdat", "created", "createdon"),
        updated_field=_stamp(props, "updatedat", "updated", "modifiedat", "updatedon"),
        read_only=frozenset(name for name, value in props.items() if isinstance(value, dict) and value.get("readOnly")),
        item=item,
        listing=listing,
        pagination=pagination,
    )


@functools.cache
def operations_of(spec_file: str) -> dict[str, Operation]:
    from sandbox.spec import load_spec

    return discover(load_spec(spec_file))
