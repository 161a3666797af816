"""Every example in every spec validates against its schema (stripe-mock checks its fixtures the same
way), and every request example of the vendor specs, replayed against a fresh sandbox, gets a documented
status and a response that validates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from sandbox.apis import registry
from sandbox.config import Config
from sandbox.contracts.cli import _default_base
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.contracts.vendors import VENDORS
from sandbox.spec import SPEC_DIR, load_spec

SPECS = sorted(path.name for path in Path(SPEC_DIR).glob("*.yaml"))
METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _examples(spec: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(JSON pointer, schema, example value) for every example in the spec."""

    def media(pointer: str, content: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        for media_type, body in content.items():
            body = _resolve(spec, body)
            schema = body.get("schema")
            here = f"{pointer}/content/{media_type.replace('/', '~1')}"
            if "example" in body and schema is not None:
                yield f"{here}/example", schema, body["example"]
            for name, example in (body.get("examples") or {}).items():
                example = _resolve(spec, example)
                if "value" in example and schema is not None:
                    yield f"{here}/examples/{name}/value", schema, example["value"]

    def parameters(pointer: str, params: list[Any]) -> Iterator[tuple[str, Any, Any]]:
        for index, param in enumerate(params):
            param = _resolve(spec, param)
            if "example" in param and "schema" in param:
                yield f"{pointer}/parameters/{index}/example", param["schema"], param["example"]
            for name, example in (param.get("examples") or {}).items():
                example = _resolve(spec, example)
                if "value" in example:
                    yield f"{pointer}/parameters/{index}/examples/{name}/value", param["schema"], example["value"]

    for section in ("paths", "webhooks"):
        for path, item in (spec.get(section) or {}).items():
            base = f"#/{section}/{path.replace('~', '~0').replace('/', '~1')}"
            yield from parameters(base, item.get("parameters", []))
            for method in METHODS:
                op = item.get(method)
                if not op:
                    continue
                here = f"{base}/{method}"
                yield from parameters(here, op.get("parameters", []))
                if "requestBody" in op:
                    yield from media(f"{here}/requestBody", _resolve(spec, op["requestBody"]).get("content", {}))
                for status, response in op.get("responses", {}).items():
                    response = _resolve(spec, response)
                    yield from media(f"{here}/responses/{status}", response.get("content", {}))
                    for header, definition in (response.get("headers") or {}).items():
                        definition = _resolve(spec, definition)
                        if "example" in definition:
                            yield (f"{here}/responses/{status}/headers/{header}/example", definition["schema"],
                                   definition["example"])
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        for index, example in enumerate(schema.get("examples", []) if isinstance(schema, dict) else []):
            yield f"#/components/schemas/{name}/examples/{index}", schema, example


@pytest.mark.parametrize("name", SPECS)
def test_every_spec_example_matches_its_schema(name: str) -> None:
    spec = load_spec(name)
    problems, checked = [], 0
    for pointer, schema, value in _examples(spec):
        checked += 1
        validator = jsonschema_rs.validator_for({**schema, "components": spec.get("components", {})},
                                                validate_formats=True)
        for error in validator.iter_errors(value):
            problems.append(f"{name} {pointer}: {error.message[:160]}")
            break
    assert checked > 0, f"{name} has no examples at all"
    assert not problems, "examples that do not match their schema:\n" + "\n".join(problems)


def _request_examples(api: str) -> list[Any]:
    spec = load_spec(VENDORS[api].spec_file)
    cases = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op or "requestBody" not in op:
                continue
            content = _resolve(spec, op["requestBody"])["content"].get("application/json", {})
            for name, example in (content.get("examples") or {}).items():
                params = [_resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
                values = {p["name"]: p.get("example") for p in params if p.get("in") == "path"}
                cases.append(pytest.param(api, method, path, values, _resolve(spec, example)["value"], op,
                                          id=f"{api}-{op['operationId']}-{name}"))
    return cases


ALL_CASES = [case for api in sorted(VENDORS) for case in _request_examples(api)]


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with running_sandbox(Config(db="memory", plans={"*": 10**9}, validate_responses=True)) as url:
        yield url


@pytest.mark.parametrize(("api", "method", "path", "path_values", "body", "operation"), ALL_CASES)
def test_every_request_example_replays_with_a_documented_answer(
    origin: str, api: str, method: str, path: str, path_values: dict[str, Any], body: Any, operation: dict[str, Any]
) -> None:
    conv = VENDORS[api]
    spec = load_spec(conv.spec_file)
    assert None not in path_values.values(), f"{path}: a path parameter has no example to replay with"
    url = origin + _default_base(api, registry()[api]) + path.format(**path_values)
    response = httpx.request(method.upper(), url, json=body, headers={conv.auth_header: conv.auth(conv.default_keys()[0])})
    assert str(response.status_code) in operation["responses"], response.text
    assert 200 <= response.status_code < 300, f"the example is rejected: {response.status_code} {response.text[:300]}"
    declared = _resolve(spec, operation["responses"][str(response.status_code)])
    schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        validator = jsonschema_rs.validator_for({**schema, "components": spec["components"]}, validate_formats=True)
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert not errors, errors[:3]
