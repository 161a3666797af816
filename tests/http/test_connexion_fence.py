"""The Connexion fence (sandbox/http/connexion_fence/) fails loudly when an upgrade bypasses a seam.

Every seam there relies on a private name of Connexion 3.3. If a release renamed one, nothing would
raise: stock Draft-4 validation would quietly come back, or the per-request rebuilds would. So these
tests check what the seams must achieve, not how: the version guard refuses an unchecked release, 3.1-only
keywords are enforced over HTTP with the sandbox's own errors, the lean operation and the fenced
validators are the ones in the running stack, and importing the sandbox changes nothing in Connexion."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connexion.exceptions import InvalidSpecification
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from starlette.responses import JSONResponse

from sandbox.app import create_app
from sandbox.config import Config
from sandbox.core.errors import SandboxError
from sandbox.http.connexion_fence import (
    FencedApp,
    UnsupportedConnexion,
    middleware_stack,
    routed_operation_id,
    version,
)
from sandbox.http.connexion_fence.lean_operation import LeanASGIApp, LeanOperation
from sandbox.http.connexion_fence.security import GatePrincipal
from sandbox.http.connexion_fence.validate_once import OneParser, RequestValidation, ValidateOnce
from sandbox.http.connexion_fence.validators import ResponseOperation, ResponseValidation
from sandbox.http.errors import connexion_handler
from sandbox.serving import serve_in_thread

HADAR_KEY = "hdr_test_marina_growth_admin_4f9c2a7b"


# --- the version guard ------------------------------------------------------------------------------
def test_a_release_the_fence_was_not_written_against_is_refused_at_create_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(version, "installed_version", lambda: "3.4.0")
    with pytest.raises(UnsupportedConnexion, match=r"Connexion 3\.4\.0 is installed.*written against Connexion 3\.3"):
        create_app(Config(db="memory"))


def test_the_installed_release_is_one_the_fence_declares() -> None:
    installed = version.installed_version()
    assert ".".join(installed.split(".")[:2]) in version.WRITTEN_FOR
    version.check_connexion_version()  # does not raise


# --- 2020-12 validation over HTTP -------------------------------------------------------------------
_SPEC_31: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "fence probe", "version": "1"},
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "parameters": [
                    {"name": "weight", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["kind"],
                                "properties": {
                                    "kind": {"const": "lead"},
                                    "size": {"type": "number", "exclusiveMinimum": 0},
                                    "note": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "created"}},
            }
        }
    },
}


async def _create_thing(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201)


_PROBE_APPS: list[FencedApp] = []

#: what `_RoutedTo` saw: the operation id the fence found after Connexion's routing
_ROUTED: list[str | None] = []


class _RoutedTo:
    """Where the gate sits (before security): records the operation the fence says was routed to."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _ROUTED.append(routed_operation_id(scope))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def probe() -> Iterator[str]:
    """A FencedApp alone, serving a 3.1 spec whose keywords Draft 4 would ignore or misread."""
    app = FencedApp(__name__, middlewares=middleware_stack([(MiddlewarePosition.BEFORE_SECURITY, _RoutedTo, {})]))
    app.add_api(_SPEC_31, base_path="/probe", resolver=Resolver(function_resolver=lambda _: _create_thing))
    app.add_error_handler(SandboxError, connexion_handler)
    _PROBE_APPS.append(app)
    with serve_in_thread(app, lifespan="off") as origin:
        yield origin


def _post(origin: str, body: Any, query: str = "") -> httpx.Response:
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        return client.post(f"/probe/things{query}", json=body)


def test_a_valid_body_reaches_the_handler_as_sent(probe: str) -> None:
    response = _post(probe, {"kind": "lead", "size": 0.5, "note": None})
    assert response.status_code == 201, response.text
    assert response.json() == {"kind": "lead", "size": 0.5, "note": None}


def test_the_routed_operation_is_found_where_the_gate_runs(probe: str) -> None:
    # Without it the gate would treat every operation as public: no key would be asked for.
    _ROUTED.clear()
    assert _post(probe, {"kind": "lead"}).status_code == 201
    assert _ROUTED == ["createThing"]


@pytest.mark.parametrize(
    ("body", "query", "message"),
    [
        ({"kind": "deal"}, "", 'kind: "lead" was expected'),  # `const`: Draft 4 has no such keyword
        ({"kind": "lead", "size": 0}, "", "size must be greater than 0"),  # numeric exclusiveMinimum (Draft 4: boolean)
        ({"kind": "lead", "note": 5}, "", "note must be of type null or string"),
        ({"kind": "lead"}, "?weight=0", "weight must be greater than 0"),  # the parameter validator too
    ],
)
def test_a_3_1_keyword_is_enforced_with_the_sandboxs_own_error(
    probe: str, body: dict[str, Any], query: str, message: str
) -> None:
    response = _post(probe, body, query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == message


def test_request_validators_are_built_once_and_still_run_on_every_request(probe: str) -> None:
    for size in (1, 2, 3):
        assert _post(probe, {"kind": "lead", "size": size}).status_code == 201
    assert _post(probe, {"kind": "lead", "size": -1}).status_code == 400
    stack = list(_PROBE_APPS[0].middleware.middleware_stack or [])
    validation = next(layer for layer in stack if isinstance(layer, RequestValidation))
    [operation] = [op for apis in validation.apis.values() for api in apis for op in api.operations.values()]
    assert isinstance(operation, ValidateOnce)
    # Upstream's __call__ ran (super()) and took its validators from the fence's map: one body validator.
    assert list(operation._validator_map["body"]._built) == [("application/json", "utf-8")]
    assert operation._accepted == {"application/json"}


def test_a_3_1_api_record_takes_options_as_upstreams_add_api_does() -> None:
    """Known options merge into the app's; any other keyword argument reaches the API record (upstream's rule)."""
    app = FencedApp(__name__, middlewares=middleware_stack([]), validate_responses=False)
    app.add_api(copy.deepcopy(_SPEC_31), base_path="/probe", validate_responses=True, for_a_middleware="x")
    [record] = app.middleware.apis
    assert record.kwargs["validate_responses"] is True and record.kwargs["for_a_middleware"] == "x"
    assert record.specification.spec["openapi"] == "3.1.0"


def test_a_3_0_spec_still_gets_connexions_own_meta_schema_check() -> None:
    app = FencedApp(__name__, middlewares=middleware_stack([]))
    broken = {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/x": {"get": {"responses": 5}}}}
    with pytest.raises(InvalidSpecification):
        app.add_api(broken)


# --- the running stack --------------------------------------------------------------------------------
def test_the_lean_operation_and_the_fenced_validators_are_what_serves_a_request() -> None:
    app = create_app(Config(db="memory", validate_responses=True))
    with serve_in_thread(app) as origin, httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        response = client.get("/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"})
    assert response.status_code == 200, response.text
    stack = list(app.middleware.middleware_stack or [])
    names = [type(layer).__name__ for layer in stack]
    # Ours in the order create_app composed them, around Connexion's own (outermost first).
    expected_order = ["JournalMiddleware", "EdgeMiddleware", "ExceptionMiddleware", "SwaggerDocsMiddleware",
                      "InspectorMiddleware", "SwaggerUIMiddleware", "RoutingMiddleware", "GateMiddleware",
                      "FaultMiddleware", "SecurityMiddleware", "IdempotencyMiddleware", "RequestValidation", "ResponseValidation"]
    assert [name for name in names if name in expected_order] == expected_order
    assert any(isinstance(layer, RequestValidation) for layer in stack)
    assert any(isinstance(layer, ResponseValidation) for layer in stack)
    lean = next(layer for layer in stack if isinstance(layer, LeanASGIApp))
    listed = [op for apis in lean.apis.values() for api in apis for op in api.operations.values()
              if op.operation_id == "listLeads"]
    assert listed and all(isinstance(op, LeanOperation) for op in listed)
    assert any("fn" in vars(op) for op in listed), "the request did not go through LeanOperation.fn"
    validation = next(layer for layer in stack if isinstance(layer, RequestValidation))
    operations = [op for apis in validation.apis.values() for api in apis for op in api.operations.values()]
    assert operations and all(isinstance(op, ValidateOnce) for op in operations)
    # one URI parser per operation, not one per request (upstream's __call__ asks the class for one each time)
    assert all(isinstance(op._operation._uri_parser_class, OneParser) for op in operations)
    assert MiddlewarePosition.BEFORE_VALIDATION.value is not RequestValidation  # Connexion's own class is untouched
    # The response seam (edge headers exempt from the spec's required headers) serves every operation.
    checking = next(layer for layer in stack if isinstance(layer, ResponseValidation))
    responses = [op for apis in checking.apis.values() for api in apis for op in api.operations.values()]
    assert responses and all(isinstance(op, ResponseOperation) for op in responses)
    # Connexion's security step reads the gate's principal: every scheme the specs use maps to GatePrincipal.
    security = next(layer for layer in stack if type(layer).__name__ == "SecurityMiddleware")
    factories = {api.security_handler_factory for apis in security.apis.values() for api in apis}
    assert factories
    for factory in factories:
        assert factory.security_handlers["bearer"] is GatePrincipal
        assert factory.security_handlers["apiKey"] is GatePrincipal


# --- importing the sandbox changes nothing in Connexion ----------------------------------------------
_FINGERPRINT = r"""
import json, sys, warnings
from connexion import validators, security
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.decorators import StarletteDecorator
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware, RequestValidationOperation, RequestValidationAPI
from connexion.middleware.response_validation import ResponseValidationMiddleware, ResponseValidationOperation, ResponseValidationAPI
from connexion.spec import OpenAPISpecification, Specification

def name(obj):
    obj = getattr(obj, "__func__", obj)
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, dict):
        return {key: name(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [name(value) for value in obj]
    if hasattr(obj, "keys") and hasattr(obj, "items"):
        return {key: name(value) for key, value in obj.items()}
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"

for module in sys.argv[1:]:
    __import__(module)
    if module == "sandbox.app":
        from sandbox.app import create_app
        from sandbox.config import Config
        create_app(Config(db="memory"))

print(json.dumps({
    "OpenAPISpecification._validate_spec": name(vars(Specification)["_validate_spec"]),
    "OpenAPISpecification.__dict__": sorted(vars(OpenAPISpecification)),
    "Specification.load": name(vars(Specification)["load"]),
    "ResponseValidationOperation.validate_required_headers": name(vars(ResponseValidationOperation)["validate_required_headers"]),
    "ResponseValidationOperation.__dict__": sorted(vars(ResponseValidationOperation)),
    "RequestValidationOperation.__dict__": sorted(vars(RequestValidationOperation)),
    "RequestValidationOperation.__call__": name(RequestValidationOperation.__call__),
    "RequestValidationAPI.make_operation": name(RequestValidationAPI.make_operation),
    "ResponseValidationAPI.make_operation": name(ResponseValidationAPI.make_operation),
    "RequestValidationMiddleware.api_cls": name(RequestValidationMiddleware.api_cls),
    "ResponseValidationMiddleware.api_cls": name(ResponseValidationMiddleware.api_cls),
    "AsyncOperation.fn": name(vars(AsyncOperation)["fn"]),
    "AsyncApi.make_operation": name(AsyncApi.make_operation),
    "AsyncASGIApp.api_cls": name(AsyncASGIApp.api_cls),
    "StarletteDecorator.__call__": name(StarletteDecorator.__call__),
    "ConnexionRequest.json": name(ConnexionRequest.json),
    "ConnexionMiddleware.default_middlewares": name(ConnexionMiddleware.default_middlewares),
    "validators.VALIDATOR_MAP": name(validators.VALIDATOR_MAP),
    "security.SECURITY_HANDLERS": name(security.SECURITY_HANDLERS),
    "warnings.filters": [repr(entry) for entry in warnings.filters],  # no filter added by importing us
}, sort_keys=True))
"""


def _connexion_fingerprint(*imports: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _FINGERPRINT, *imports], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_sandbox_the_plugin_or_building_an_app_leaves_connexion_untouched() -> None:
    fresh = _connexion_fingerprint()
    assert fresh["OpenAPISpecification._validate_spec"] == "connexion.spec.Specification._validate_spec"
    assert "_validate_spec" not in fresh["OpenAPISpecification.__dict__"]
    after = _connexion_fingerprint("sandbox", "sandbox.spec", "sandbox.contracts.pytest_plugin", "sandbox.app")
    assert after == fresh


def test_the_content_type_is_read_as_upstream_reads_it_and_remembered_per_value() -> None:
    from connexion.middleware.request_validation import RequestValidationOperation

    app = create_app(Config(db="memory"))
    with serve_in_thread(app) as origin, httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        assert client.get("/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"}).status_code == 200
    validation = next(layer for layer in app.middleware.middleware_stack if isinstance(layer, RequestValidation))
    op = next(op for apis in validation.apis.values() for api in apis for op in api.operations.values()
              if op._operation.operation_id == "createLead")
    cases = [
        [],
        [(b"content-type", b"application/json")],
        [(b"content-type", b"application/json; charset=latin-1")],
        [(b"Content-Type", b"text/plain"), (b"content-type", b"application/json")],  # the first, whatever its case
        [(b"host", b"x"), (b"content-type", b"application/merge-patch+json;charset=UTF-8")],
    ]
    for headers in cases * 2:  # the second round answers from memory
        assert op.extract_content_type(headers) == RequestValidationOperation.extract_content_type(op, headers)
    for n in range(100):  # values are the client's: what is remembered stays bounded
        op.extract_content_type([(b"content-type", f"application/json; charset=x{n}".encode())])
    assert len(op._types) <= 16
