"""The generic stateful behaviour of a spec's resources: create, read, list, update, delete, each in
the tenant's own collection of the store, with the sandbox's clock and deterministic ids.

Models decide; `handlers.py` translates HTTP. A scaffolded API's hand-written rules replace one of
these per operation (a handler of the same name in its own `handlers.py`) and may call them. The
mechanics underneath (a record or a 404, a new record, cursor and offset pages) are `records.py`,
shared with the five hand-written vendors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sandbox.apis.generic import records
from sandbox.apis.generic.resources import PARENT, Pagination, Place, Resource, Shape, normal, sanitized
from sandbox.core.errors import NotFound, ValidationFailed
from sandbox.core.workspace import Workspace


def new_id(ws: Workspace, resource: Resource, place: Place, moment: datetime | None = None) -> str | int:
    moment = moment or ws.now()[0]
    if resource.id_style == "uuid":
        return ws.ids.uuid4()
    if resource.id_style == "integer":
        return ws.store.next_count(f"ids:{ws.api}:{ws.tenant}:{place.kind}") + 1  # 1, 2, 3…
    return ws.ids.new(resource.singular, moment)


def _writable(resource: Resource, body: Mapping[str, Any] | None) -> dict[str, Any]:
    owned = {resource.id_field, resource.created_field, resource.updated_field, PARENT, *resource.read_only}
    return {name: value for name, value in (body or {}).items() if name not in owned}


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != PARENT}


def create(ws: Workspace, resource: Resource, place: Place, body: Mapping[str, Any] | None) -> dict[str, Any]:
    def with_parent(record: dict[str, Any]) -> dict[str, Any]:  # kept with the record, never shown
        return {**record, PARENT: place.parent} if place.parent is not None else record

    return records.create(
        ws, place.kind, lambda ws_, moment: new_id(ws_, resource, place, moment), _writable(resource, body),
        id_field=resource.id_field, stamps=[s for s in (resource.created_field, resource.updated_field) if s],
        stored=with_parent,
    )


def _stored(ws: Workspace, resource: Resource, place: Place, record_id: Any) -> dict[str, Any]:
    return records.get_or_raise(  # another owner's pet is not here
        ws, place.kind, str(record_id), lambda: NotFound(f"No {resource.singular} with id {record_id}"),
        belongs=lambda record: record.get(PARENT) == place.parent,
    )


def read(ws: Workspace, resource: Resource, place: Place, record_id: Any) -> dict[str, Any]:
    return public(_stored(ws, resource, place, record_id))


def update(ws: Workspace, resource: Resource, place: Place, record_id: Any, body: Mapping[str, Any] | None,
           *, replace: bool = False) -> dict[str, Any]:
    """PATCH merges the body's fields into the record; PUT replaces them (the server's own fields stay)."""
    record = _stored(ws, resource, place, record_id)
    kept = {name: record[name] for name in (resource.id_field, resource.created_field, PARENT)
            if name and name in record}
    record = {**kept, **_writable(resource, body)} if replace else {**record, **_writable(resource, body)}
    if resource.updated_field:
        record[resource.updated_field] = ws.now()[1]
    ws.collection(place.kind).replace(str(record_id), record)
    return public(record)


def delete(ws: Workspace, resource: Resource, place: Place, record_id: Any) -> dict[str, Any]:
    record = _stored(ws, resource, place, record_id)
    ws.collection(place.kind).delete(str(record_id))
    return public(record)


def _int(value: Any, name: str, default: int, low: int, high: int | None = None) -> int:
    """A paging number from the query: declared ones arrive typed, undeclared ones as text."""
    if value is None or value == "" or value == []:
        return default
    if isinstance(value, list):
        value = value[-1]
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{name} must be an integer", field=name) from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationFailed(f"{name} must be {bound}", field=name)
    return number


def listing(ws: Workspace, resource: Resource, place: Place, query: Mapping[str, Any]) -> Any:
    """One page, newest first, in the spec's list shape with the pagination facts it declares."""
    return listing_page(ws, resource, place, query)[0]


def listing_page(ws: Workspace, resource: Resource, place: Place,
                 query: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """(the page's body, the query of the next page or None). The handler also sends the next page as a
    `Link` header: a bare-array list has nowhere else to say where it is."""
    paging: Pagination = resource.pagination
    limit = _int(query.get(sanitized(paging.limit)), paging.limit, paging.default_limit, 1, paging.max_limit)
    facts: dict[str, Any] = {"limit": limit}
    offset = 0
    position = query.get(sanitized(paging.position))  # Connexion passes `page[size]` as `page_size`
    if isinstance(position, list):
        position = position[-1] if position else None
    if paging.style == "cursor":
        page = records.cursor_page(ws, place.kind, place.where(), str(position) if position else None, limit,
                                   tag=place.tag, field=paging.position)
        items, cursor = page.items, page.next_cursor
        facts.update(has_more=cursor is not None, next_cursor=cursor, cursor=cursor, next=cursor)
    else:
        if paging.style == "page":
            number = _int(position, paging.position, 1, 1)
            offset = (number - 1) * limit
            facts.update(page=number)
        else:
            offset = _int(position, paging.position, 0, 0)
            facts.update(offset=offset)
        items, total = records.offset_page(ws, place.kind, place.where(), offset=offset, limit=limit)
        facts.update(total=total, count=total, has_more=offset + len(items) < total,
                     pages=max(1, -(-total // limit)))
        if paging.style == "page":
            facts.update(next_page=facts["page"] + 1 if facts["has_more"] else None)
    following = {"cursor": facts.get("next_cursor"), "page": facts.get("next_page"),
                 "offset": offset + limit if paging.style == "offset" and facts["has_more"] else None}[paging.style]
    next_query = {paging.position: following, paging.limit: limit} if following is not None else None
    return shaped(resource.listing, [public(item) for item in items], facts), next_query


#: the declared property names a pagination fact fills (lower-case, without `_` and `-`)
_FACTS = {
    "hasmore": "has_more", "hasnext": "has_more", "nextcursor": "next_cursor", "cursor": "cursor", "next": "next",
    "total": "total", "totalcount": "total", "count": "count", "totalitems": "total", "page": "page",
    "limit": "limit", "perpage": "limit", "pagesize": "limit", "offset": "offset", "pages": "pages",
    "totalpages": "pages", "nextpage": "next_page",
}


def _fill(properties: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, schema in properties.items():
        fact = _FACTS.get(normal(name))
        if fact is not None and fact in facts:
            body[name] = facts[fact]
        elif isinstance(schema, dict) and isinstance(schema.get("properties"), dict):  # `pagination: {...}`
            nested = _fill(schema["properties"], facts)
            if nested:
                body[name] = nested
    return body


def shaped(shape: Shape, payload: Any, facts: Mapping[str, Any] | None = None) -> Any:
    """`payload` bare or under the shape's key, with the pagination facts its other properties name."""
    if shape.key is None:
        return payload
    if not shape.properties:  # no declared shape: the default list envelope
        return {shape.key: payload, **({"has_more": facts["has_more"], "next_cursor": facts.get("next_cursor")}
                                       if facts else {})}
    extra = _fill({k: v for k, v in shape.properties.items() if k != shape.key}, facts or {})
    return {shape.key: payload, **extra}
