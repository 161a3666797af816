"""Every bad field of a request is found, not only the first (issue 17, point 2).

Hadar CRM's `details.fieldErrors` and HREF's `details[]` list them all on the wire; Hadar, Leaditio and
AskAd keep their documented single-error shape (the first violation) while the error object carries the
whole list (`ValidationFailed.violations`, what the request log records)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.errors import ValidationFailed, Violation
from sandbox.http.connexion_fence.validators import Params2020, validate_body
from sandbox.spec import violations

HADAR_KEY = "hdr_test_marina_growth_admin_4f9c2a7b"
CRM_KEY = "ak_test_alnoor_professional_admin_7c2e91d4"
LEADITIO_KEY = "ldt_test_sunvolt_pro_9f31c0a7"
ASKAD_KEY = "ask_test_brightpath_admin_5e2a9c71"
HREF_KEY = "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1"


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with running_sandbox(Config(db="memory", plans={"*": 10**9}, validate_responses=True)) as url:
        yield url


def post(origin: str, path: str, headers: dict[str, str], body: Any) -> httpx.Response:
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        return client.post(path, json=body, headers=headers)


# --- the wire shapes that list every field ------------------------------------------------------
def test_crm__four_bad_fields_are_four_field_errors(origin: str) -> None:
    body = {"full_name": "", "email": "not-an-email", "nationality": "UAE", "budget_min_aed": "lots", "channel": "api"}
    response = post(origin, "/hadar-crm/api/v1/leads", {"X-API-Key": CRM_KEY}, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == {"code": "VALIDATION_FAILED", "message": "Validation failed"}
    field_errors = payload["details"]["fieldErrors"]
    assert set(field_errors) == {"full_name", "email", "nationality", "budget_min_aed"}
    assert all(isinstance(messages, list) and messages for messages in field_errors.values())
    assert field_errors["email"] == ["email must be a valid email address"]


def test_crm__every_bad_query_parameter_is_listed(origin: str) -> None:
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        response = client.get("/hadar-crm/api/v1/leads", params={"limit": 101, "page": 0},
                              headers={"X-API-Key": CRM_KEY})
    assert response.status_code == 400
    assert set(response.json()["details"]["fieldErrors"]) == {"limit", "page"}


def test_href__three_bad_fields_are_three_details(origin: str) -> None:
    body = {"name": "Jordan Rivera", "email": "nope", "phone": "512-555-0147", "consent": False,
            "practice_area": "tax"}
    response = post(origin, "/href/acme/api/leads/intake", {"X-API-Key": HREF_KEY}, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "invalid_request"
    fields = [detail["field"] for detail in payload["details"]]
    assert sorted(fields) == ["consent", "email", "phone", "practice_area"]
    assert all(set(detail) == {"field", "message"} and detail["message"] for detail in payload["details"])


# --- the single-error shapes keep the first violation -------------------------------------------
def test_hadar__single_error_shape_names_the_first_bad_field(origin: str) -> None:
    body = {"name": "Aisha Khan", "email": "nope", "phone": "0501234567", "bedrooms": -1}
    response = post(origin, "/hadar/v1/leads", {"Authorization": f"Bearer {HADAR_KEY}"}, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] in {"lead.email", "lead.phone", "lead.bedrooms"}
    assert set(error) == {"code", "message", "field", "trace_id"}


def test_leaditio__single_error_shape(origin: str) -> None:
    body = {"url": "http://insecure.example", "secret": "", "events": ["lead.gone"]}
    response = post(origin, "/leaditio/api/v1/leads/webhook", {"Authorization": f"Bearer {LEADITIO_KEY}"}, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid_request" and isinstance(payload["message"], str)


def test_askad__single_error_shape(origin: str) -> None:
    body = {"email": "nope", "phone": "12", "source": 5}
    response = post(origin, "/askad/api/v1/leads/inbound", {"Authorization": f"Bearer {ASKAD_KEY}"}, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


# --- the error object carries every violation -------------------------------------------------
def test_body_validator__raises_with_every_violation_first_is_the_message() -> None:
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "phone": {"type": "string", "pattern": "^\\+[1-9][0-9]{7,14}$"},
            "first_name": {"type": "string"},
        },
    }
    with pytest.raises(ValidationFailed) as caught:
        validate_body(schema, {"email": "nope", "phone": "12", "first_name": 7})
    error = caught.value
    assert {violation.field for violation in error.violations} == {"email", "phone", "first_name"}
    assert (error.field, error.message) == error.violations[0]


def test_violations__shallowest_first_and_no_duplicates() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}, "c": {"type": "string"}},
    }
    found = violations(schema, {"a": {"b": "x"}, "c": 1}, "lead")
    assert found == [Violation("lead.c", "lead.c must be of type string"),
                     Violation("lead.a.b", "lead.a.b must be of type integer")]


def test_parameters__every_bad_parameter_is_a_violation() -> None:
    params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "status", "in": "query", "required": True, "schema": {"type": "string"}},
    ]

    request = SimpleNamespace(query_params={"limit": 101, "page": 0}, path_params={}, headers={}, cookies={})
    validator = Params2020(params, uri_parser=None)
    with pytest.raises(ValidationFailed) as caught:
        validator.validate_request(request)
    assert [v.field for v in caught.value.violations] == ["limit", "page", "status"]
    assert caught.value.violations[2].message == "status is a required query parameter"


def test_a_single_validation_error_is_its_own_violation() -> None:
    error = ValidationFailed("plan must be one of a, b", field="plan")
    assert error.violations == [Violation("plan", "plan must be one of a, b")]
