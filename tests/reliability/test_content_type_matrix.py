"""Every state-changing operation of all five APIs and the control plane, over real HTTP, with a body
whose Content-Type is missing, empty, not a media type or another type
(issue 12 point 3): the API's own 415 in its own error envelope, never a 500, and the server stays up.
An operation that takes no body ignores one, whatever its type.
`APPLICATION/JSON; charset=UTF-8` is JSON (media types are case-insensitive): it gets exactly the answer
the lower-case form gets.

Before the fix a missing Content-Type and an upper-case `APPLICATION/JSON` answered 500 on every POST:
Connexion validated the body as JSON under a guessed or case-sensitive media type, then handed the
handler raw bytes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from sandbox.apis import registry
from sandbox.control import API as CONTROL_PLANE
from sandbox.core import errors as E
from sandbox.core.definition import ApiDefinition
from sandbox.seeding import load_fixture
from sandbox.spec import load_spec

UNUSABLE = {
    "missing": None,
    "empty": "",
    "not-a-media-type": "json",
    "text-plain": "text/plain",
    "form": "application/x-www-form-urlencoded",
}
WRITE_METHODS = ("post", "put", "patch")


def _apis() -> dict[str, ApiDefinition]:
    return {**registry(()), "sandbox": CONTROL_PLANE}


def _operations() -> Iterator[tuple[str, str, str]]:
    for name, api in _apis().items():
        for template, item in load_spec(api.spec_file)["paths"].items():
            for method in WRITE_METHODS:
                if "requestBody" in item.get(method, {}):  # an operation without one ignores any body
                    yield name, method.upper(), template


OPERATIONS = list(_operations())


def _base_and_headers(api: ApiDefinition) -> tuple[str, dict[str, str]]:
    base = api.bases(False)[0]
    if api.auth is None:
        return base, {}
    tenant = load_fixture(api.name)["tenants"][0]
    key = next(k["key"] for k in tenant["keys"] if k.get("role", "admin") == "admin")
    base = api.tenant_base(base, tenant["slug"])
    value = f"Bearer {key}" if api.auth.scheme == "bearer" else key
    return base, {api.auth.header: value}


def _send(server: str, api_name: str, method: str, template: str, content_type: str | None) -> httpx.Response:
    api = _apis()[api_name]
    base, headers = _base_and_headers(api)
    path = re.sub(r"\{[^}]+\}", "missing_id", template)
    if content_type is not None:
        headers["Content-Type"] = content_type
    request = httpx.Request(method, server + base + path, content=b'{"name": "x"}', headers=headers)
    assert content_type is not None or "content-type" not in request.headers
    with httpx.Client(timeout=30) as client:
        return client.send(request)


@pytest.mark.parametrize(("api_name", "method", "template"), OPERATIONS, ids=[f"{a}:{m}:{t}" for a, m, t in OPERATIONS])
def test_unusable_content_type_is_the_apis_own_415(server: str, api_name: str, method: str, template: str) -> None:
    expected_shape = set(_apis()[api_name].render_error(E.UnsupportedMediaType(), "trace"))
    for label, content_type in UNUSABLE.items():
        response = _send(server, api_name, method, template, content_type)
        assert response.status_code == 415, f"{label}: {response.status_code} {response.text[:200]}"
        assert set(response.json()) == expected_shape, f"{label}: not the API's error envelope: {response.text[:200]}"
    assert httpx.get(server + "/_sandbox/clock", timeout=30).status_code == 200  # still alive


BODILESS = [
    (name, method.upper(), template)
    for name, api in _apis().items()
    for template, item in load_spec(api.spec_file)["paths"].items()
    for method in WRITE_METHODS
    if method in item and "requestBody" not in item[method]
]


@pytest.mark.parametrize(("api_name", "method", "template"), BODILESS, ids=[f"{a}:{m}:{t}" for a, m, t in BODILESS])
def test_operation_without_a_request_body_ignores_a_body_of_any_type(
    server: str, api_name: str, method: str, template: str
) -> None:
    for content_type in UNUSABLE.values():
        response = _send(server, api_name, method, template, content_type)
        assert response.status_code != 415 and response.status_code < 500, response.text[:200]


@pytest.mark.parametrize(("api_name", "method", "template"), OPERATIONS, ids=[f"{a}:{m}:{t}" for a, m, t in OPERATIONS])
def test_media_types_are_case_insensitive(server: str, api_name: str, method: str, template: str) -> None:
    lower = _send(server, api_name, method, template, "application/json; charset=utf-8")
    upper = _send(server, api_name, method, template, "APPLICATION/JSON; charset=UTF-8")
    assert upper.status_code < 500, upper.text[:200]
    assert upper.status_code == lower.status_code, (lower.text[:200], upper.text[:200])


#: one operation of each API: the 415 of a media type Connexion refuses names the expected types as text
FIRST_OF_EACH = list({name: (name, method, template) for name, method, template in reversed(OPERATIONS)}.values())


@pytest.mark.parametrize(("api_name", "method", "template"), FIRST_OF_EACH, ids=[a for a, _, _ in FIRST_OF_EACH])
def test_415_names_the_expected_media_types_as_text(server: str, api_name: str, method: str, template: str) -> None:
    item = load_spec(_apis()[api_name].spec_file)["paths"][template][method.lower()]
    expected = " or ".join(item["requestBody"]["content"])
    response = _send(server, api_name, method, template, "text/plain")
    assert response.status_code == 415, response.text[:200]
    assert f"expected {expected}" in response.text and "['" not in response.text, response.text[:300]
