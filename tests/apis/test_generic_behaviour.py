"""The generic behaviour's reading of a spec and its models, on a real SQLite store (in memory): styles the
widgets test over HTTP (tests/test_scaffold.py) does not show: page and offset pagination, an API key
header, nested collections, UUID and integer ids, PUT replacing, actions left to hand-written handlers."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import pytest

from sandbox.apis.generic import models
from sandbox.apis.generic.resources import Place, discover
from sandbox.core.clock import Clock
from sandbox.core.errors import NotFound, ValidationFailed
from sandbox.core.ids import IdFactory
from sandbox.core.store import Store
from sandbox.core.workspace import Workspace
from sandbox.scaffold import ScaffoldError, _auth, prepared


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


PET = {"type": "object", "properties": {
    "pet_id": {"type": "string", "format": "uuid", "readOnly": True}, "name": {"type": "string"},
    "tag": {"type": "string"}, "createdAt": {"type": "string", "readOnly": True}}}
PAGE = {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
                                          "meta": {"type": "object", "properties": {
                                              "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                              "total_count": {"type": "integer"}, "has_next": {"type": "boolean"}}}}}
SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Pets", "version": "1"},
    "components": {"schemas": {"Pet": PET},
                   "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Pets-Key"}}},
    "paths": {
        "/owners/{owner_id}/pets": {
            "parameters": [{"name": "owner_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "listPets",
                    "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}},
                                   {"name": "per_page", "in": "query", "schema": {"type": "integer", "default": 2,
                                                                                 "maximum": 5}}],
                    "responses": {"200": {"description": "ok", **_json(PAGE)}}},
            "post": {"responses": {"201": {"description": "ok", **_json({"$ref": "#/components/schemas/Pet"})}}},
        },
        "/owners/{owner_id}/pets/{pet_id}": {
            "put": {"operationId": "replacePet",
                    "responses": {"200": {"description": "ok", **_json({"$ref": "#/components/schemas/Pet"})}}},
            "delete": {"operationId": "deletePet", "responses": {"200": {"description": "ok",
                                                                         **_json({"$ref": "#/components/schemas/Pet"})}}},
        },
        "/owners/{owner_id}/pets/{pet_id}/adopt": {"post": {"operationId": "adoptPet", "responses": {"200": {"description": "ok"}}}},
        "/tickets": {"get": {"operationId": "listTickets",
                             "parameters": [{"name": "offset", "in": "query", "schema": {"type": "integer"}}],
                             "responses": {"200": {"description": "ok", **_json({"type": "array", "items": {
                                 "type": "object", "properties": {"id": {"type": "integer"}}}})}}},
                     "post": {"operationId": "createTicket", "responses": {"201": {"description": "ok"}}}},
    },
}


O1 = Place("owners_pets", "owner_id=o1")
O2 = Place("owners_pets", "owner_id=o2")
TICKETS = Place("tickets")


@pytest.fixture
def ws() -> Iterator[Workspace]:
    store = Store("memory")
    yield Workspace(store, "pets", "acme", Clock(), IdFactory(42))
    store.close()


def test_spec_is_prepared_with_operation_ids_and_its_key_header() -> None:
    spec = prepared(copy.deepcopy(SPEC), "key")
    assert spec["paths"]["/owners/{owner_id}/pets"]["post"]["operationId"] == "createOwnersPets"
    assert spec["security"] == [{"key": []}]
    name, auth = _auth(spec)
    assert (name, auth.header, auth.scheme) == ("key", "x-pets-key", None)
    with pytest.raises(ScaffoldError, match="no security scheme"):
        _auth({"components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}}})


def test_discovery_finds_actions_styles_and_shapes() -> None:
    ops = discover(prepared(copy.deepcopy(SPEC), "key"))
    assert {name: op.action for name, op in ops.items()} == {
        "listPets": "list", "createOwnersPets": "create", "replacePet": "replace", "deletePet": "delete",
        "adoptPet": None, "listTickets": "list", "createTicket": "create"}
    pets = ops["listPets"].resource
    assert pets is not None
    assert (pets.singular, pets.id_field, pets.id_style, pets.created_field) == ("pet", "pet_id", "uuid", "createdAt")
    assert (pets.pagination.style, pets.pagination.limit, pets.pagination.default_limit) == ("page", "per_page", 2)
    assert pets.kind == "owners_pets" and pets.place({"owner_id": "o1"}).parent == "owner_id=o1"
    assert ops["deletePet"].status == 200 and ops["deletePet"].id_param == "pet_id"
    tickets = ops["listTickets"].resource
    assert tickets is not None and tickets.pagination.style == "offset" and tickets.listing.key is None
    assert tickets.id_style == "integer"


def test_page_style_lists_fill_the_declared_meta_and_nested_collections_are_separate(ws: Workspace) -> None:
    pets = discover(prepared(copy.deepcopy(SPEC), "key"))["listPets"].resource
    assert pets is not None
    made = [models.create(ws, pets, O1, {"name": f"p{n}", "pet_id": "mine", "createdAt": "x"})
            for n in range(3)]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", pet["pet_id"]) for pet in made)  # the server's id, not the client's
    assert made[0]["createdAt"] != "x"
    first = models.listing(ws, pets, O1, {})
    assert [p["name"] for p in first["results"]] == ["p2", "p1"]
    assert first["meta"] == {"page": 1, "per_page": 2, "total_count": 3, "has_next": True}
    second = models.listing(ws, pets, O1, {"page": 2})
    assert [p["name"] for p in second["results"]] == ["p0"] and second["meta"]["has_next"] is False
    assert models.listing(ws, pets, O2, {})["results"] == []
    with pytest.raises(NotFound):  # the same pet is not another owner's
        models.read(ws, pets, O2, made[0]["pet_id"])
    assert "_parent" not in models.read(ws, pets, O1, made[0]["pet_id"])
    with pytest.raises(ValidationFailed, match="per_page must be between 1 and 5"):
        models.listing(ws, pets, O1, {"per_page": "9"})


def test_put_replaces_but_keeps_the_servers_fields_and_delete_forgets(ws: Workspace) -> None:
    pets = discover(prepared(copy.deepcopy(SPEC), "key"))["replacePet"].resource
    assert pets is not None
    pet = models.create(ws, pets, O1, {"name": "Rex", "tag": "dog"})
    replaced = models.update(ws, pets, O1, pet["pet_id"], {"name": "Max"}, replace=True)
    assert replaced == {"pet_id": pet["pet_id"], "createdAt": pet["createdAt"], "name": "Max"}
    assert models.delete(ws, pets, O1, pet["pet_id"]) == replaced
    with pytest.raises(NotFound):
        models.read(ws, pets, O1, pet["pet_id"])


def test_offset_lists_and_integer_ids(ws: Workspace) -> None:
    tickets = discover(prepared(copy.deepcopy(SPEC), "key"))["listTickets"].resource
    assert tickets is not None
    ids = [models.create(ws, tickets, TICKETS, {})["id"] for _ in range(3)]
    assert ids == [1, 2, 3]
    body, following = models.listing_page(ws, tickets, TICKETS, {"offset": "1", "limit": "1"})
    assert [t["id"] for t in body] == [2] and following == {"offset": 2, "limit": 1}
    assert models.listing_page(ws, tickets, TICKETS, {"offset": "2", "limit": "1"})[1] is None


def test_a_hand_written_handler_wins_over_the_generic_one() -> None:
    """A scaffolded `handlers.py` is `__getattr__ = handlers_for(...)` plus whatever is written in it."""
    import inspect
    import types

    from sandbox.apis.generic.handlers import handlers_for

    module = types.ModuleType("handlers")

    async def list_contacts() -> None:  # hand-written
        return None

    module.list_contacts = list_contacts  # type: ignore[attr-defined]
    module.__getattr__ = handlers_for("askad", "askad.yaml")  # type: ignore[attr-defined]
    assert module.list_contacts is list_contacts
    generic = module.list_deals
    assert generic.__name__ == "list_deals"
    assert list(inspect.signature(generic).parameters) == ["page", "limit", "stage"]  # only what the spec declares
    with pytest.raises(AttributeError):
        module.no_such_operation  # noqa: B018
