"""`lead-sandbox scaffold`: a sixth API from a small spec, into a copy of this checkout, then served by a
real `serve --api widgets` process and driven over HTTP: auth, create, read, list with pagination,
update, delete, tenant isolation and errors in the default shape. No hand-written model code is involved."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox.cli import main
from sandbox.serving import free_port

ROOT = Path(__file__).resolve().parents[1]

WIDGETS = """
openapi: 3.1.0
info: {title: Widgets API, version: 1.0.0}
servers: [{url: "https://api.widgets.example/v1"}]
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
  schemas:
    Widget:
      type: object
      additionalProperties: false
      required: [id, name, size, created_at]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string, minLength: 1, example: Sprocket}
        size: {type: integer, minimum: 1, example: 3}
        color: {type: string, enum: [red, green, blue]}
        created_at: {type: string, format: date-time, readOnly: true}
        updated_at: {type: string, format: date-time, readOnly: true}
    WidgetInput:
      type: object
      additionalProperties: false
      required: [name, size]
      properties:
        name: {type: string, minLength: 1, example: Sprocket}
        size: {type: integer, minimum: 1, example: 3}
        color: {type: string, enum: [red, green, blue]}
    WidgetList:
      type: object
      additionalProperties: false
      required: [data, has_more, next_cursor]
      properties:
        data: {type: array, items: {$ref: "#/components/schemas/Widget"}}
        has_more: {type: boolean}
        next_cursor: {type: [string, "null"]}
security: [{bearerAuth: []}]
paths:
  /widgets:
    get:
      operationId: listWidgets
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 50, default: 10}}
        - {name: cursor, in: query, schema: {type: string}}
      responses:
        "200": {description: A page, content: {application/json: {schema: {$ref: "#/components/schemas/WidgetList"}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/WidgetInput"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
  /widgets/{widget_id}:
    parameters:
      - {name: widget_id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getWidget
      responses:
        "200": {description: One, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
    patch:
      operationId: updateWidget
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                name: {type: string, minLength: 1}
                size: {type: integer, minimum: 1}
                color: {type: string, enum: [red, green, blue]}
      responses:
        "200": {description: Updated, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
    delete:
      operationId: deleteWidget
      responses:
        "204": {description: Deleted}
"""


def _checkout_copy(target: Path) -> Path:
    """The parts of this checkout `serve` needs, laid out as the editable install maps them: the copy's
    `sandbox/` comes first on PYTHONPATH, and its openapi/, fixtures/ and contracts/ are reached as
    `sandbox.openapi`, `sandbox.fixtures` and `sandbox.contracts` through links."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("sandbox", "openapi", "fixtures", "contracts"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    (target / "tests").mkdir()
    for folder in ("openapi", "fixtures", "contracts"):
        (target / "sandbox" / folder).symlink_to(target / folder, target_is_directory=True)
    return target


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("scaffold")
    checkout = _checkout_copy(base / "checkout")
    spec = base / "widgets.yaml"
    spec.write_text(WIDGETS, encoding="utf-8")
    result = _run("scaffold", "widgets", "--spec", str(spec), "--into", str(checkout), cwd=base)
    assert result.returncode == 0, result.stdout + result.stderr
    return checkout


@pytest.fixture(scope="module")
def widgets(scaffolded: Path) -> Iterator[str]:
    """`serve --api widgets` from the scaffolded copy, as a real process on a 127.0.0.1 port."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(scaffolded), "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback",
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--api", "widgets", "--port", str(port), "--db", "memory",
         "--quiet", "--validate-responses"],
        cwd=scaffolded, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 120  # start-up on a busy machine; not a timed assertion
    for line in process.stdout:
        output.append(line)
        if line.startswith("ready on ") or time.monotonic() > deadline:
            break
    try:
        assert output and output[-1].startswith("ready on "), "".join(output)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _keys(scaffolded: Path) -> tuple[str, str]:
    tenants = yaml.safe_load((scaffolded / "fixtures" / "widgets.yaml").read_text())["tenants"]
    return tenants[0]["keys"][0]["key"], tenants[1]["keys"][0]["key"]


def test_scaffold_writes_spec_package_fixture_and_tests(scaffolded: Path) -> None:
    for relative in ("openapi/widgets.yaml", "sandbox/apis/widgets/__init__.py", "sandbox/apis/widgets/handlers.py",
                     "fixtures/widgets.yaml", "tests/apis/widgets/test_widgets.py"):
        assert (scaffolded / relative).is_file(), relative
    spec = yaml.safe_load((scaffolded / "openapi" / "widgets.yaml").read_text())
    assert spec["paths"]["/widgets"]["post"]["operationId"] == "createWidgets"  # named: the resolver needs one
    # the sandbox's own answers are documented where the spec said nothing: its errors and their codes
    assert set(spec["paths"]["/widgets/{widget_id}"]["get"]["responses"]) == {"200", "400", "401", "403", "404"}
    assert spec["x-error-codes"]["404"] == ["not_found"]
    fixture = yaml.safe_load((scaffolded / "fixtures" / "widgets.yaml").read_text())
    assert [t["slug"] for t in fixture["tenants"]] == ["acme", "globex"]
    assert _keys(scaffolded)[0].startswith("widgets_test_acme_")
    stubs = (scaffolded / "tests" / "apis" / "widgets" / "test_widgets.py").read_text()
    assert _keys(scaffolded)[0] in stubs and "assert" in stubs


def test_scaffold_refuses_to_overwrite_an_existing_api(scaffolded: Path, tmp_path: Path) -> None:
    spec = tmp_path / "widgets.yaml"
    spec.write_text(WIDGETS, encoding="utf-8")
    before = (scaffolded / "fixtures" / "widgets.yaml").read_text()
    result = _run("scaffold", "widgets", "--spec", str(spec), "--into", str(scaffolded), cwd=tmp_path)
    assert result.returncode != 0 and "already exists" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert (scaffolded / "fixtures" / "widgets.yaml").read_text() == before
    refused = _run("scaffold", "hadar", "--spec", str(spec), "--into", str(scaffolded), cwd=tmp_path)
    assert refused.returncode != 0 and "already exists" in refused.stderr


def test_served_widgets_are_stateful_paged_and_tenant_isolated(widgets: str, scaffolded: Path) -> None:
    key, other = _keys(scaffolded)
    mine, theirs = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {other}"}
    with httpx.Client(base_url=widgets, timeout=30) as client:
        refused = client.get("/widgets")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert client.get("/widgets", headers={"Authorization": "Bearer widgets_test_unknown_0000"}).status_code == 401

        created = [client.post("/widgets", json={"name": f"w{n}", "size": n + 1}, headers=mine) for n in range(3)]
        assert [r.status_code for r in created] == [201, 201, 201], created[-1].text
        first = created[0].json()
        assert first["id"].startswith("widget_") and first["name"] == "w0" and "created_at" in first

        fetched = client.get(f"/widgets/{first['id']}", headers=mine)
        assert fetched.status_code == 200 and fetched.json() == first

        page = client.get("/widgets", params={"limit": 2}, headers=mine)
        assert page.status_code == 200, page.text
        body = page.json()
        assert [w["name"] for w in body["data"]] == ["w2", "w1"] and body["has_more"] is True
        assert page.links["next"]["url"] == f"?cursor={body['next_cursor']}&limit=2"  # relative to the request
        rest = client.get("/widgets", params={"limit": 2, "cursor": body["next_cursor"]}, headers=mine).json()
        assert [w["name"] for w in rest["data"]] == ["w0"] and rest["has_more"] is False and rest["next_cursor"] is None

        # tenant isolation: the other tenant sees nothing, cannot read it, cannot follow its cursor
        assert client.get("/widgets", headers=theirs).json()["data"] == []
        assert client.get(f"/widgets/{first['id']}", headers=theirs).status_code == 404
        foreign = client.get("/widgets", params={"cursor": body["next_cursor"]}, headers=theirs)
        assert foreign.status_code == 400 and foreign.json()["error"]["field"] == "cursor"

        updated = client.patch(f"/widgets/{first['id']}", json={"color": "red"}, headers=mine)
        assert updated.status_code == 200, updated.text
        assert updated.json()["color"] == "red" and updated.json()["name"] == "w0"
        assert client.get(f"/widgets/{first['id']}", headers=mine).json()["color"] == "red"

        deleted = client.delete(f"/widgets/{first['id']}", headers=mine)
        assert deleted.status_code == 204 and deleted.content == b""
        gone = client.get(f"/widgets/{first['id']}", headers=mine)
        assert gone.status_code == 404
        assert gone.json() == {"error": {"code": "not_found", "message": f"No widget with id {first['id']}"}}


def test_served_widgets_answer_bad_input_in_the_default_error_shape(widgets: str, scaffolded: Path) -> None:
    headers = {"Authorization": f"Bearer {_keys(scaffolded)[0]}"}
    with httpx.Client(base_url=widgets, timeout=30) as client:
        bad = [
            client.post("/widgets", json={"name": "", "size": 0}, headers=headers),
            client.post("/widgets", json={"size": 1}, headers=headers),
            client.post("/widgets", content=b"{not json", headers={**headers, "Content-Type": "application/json"}),
            client.get("/widgets", params={"limit": "many"}, headers=headers),
            client.get("/widgets", params={"cursor": "not-a-cursor"}, headers=headers),
        ]
        for response in bad:
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "invalid_request" and error["message"]
        assert bad[0].json()["error"]["field"] == "name"
        live = client.get("/widgets", headers={"Authorization": "Bearer widgets_live_0123456789"})
        assert live.status_code == 401 and "test keys" in live.json()["error"]["message"]


def test_scaffolded_test_stubs_pass(scaffolded: Path) -> None:
    """The stubs the scaffold writes really drive the API (and fail when it misbehaves)."""
    env = {**os.environ, "PYTHONPATH": str(scaffolded)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/apis/widgets/test_widgets.py"],
        cwd=scaffolded, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout


def test_contract_suite_passes_on_the_scaffolded_api(scaffolded: Path) -> None:
    """Schemathesis against the new API (its own spec, a fresh sandbox): conformance, the default error
    shape and its catalogue, stateful create -> read links; a small run, as the machine is shared."""
    env = {**os.environ, "PYTHONPATH": str(scaffolded), "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback"}
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "contract", "--api", "widgets", "--max-examples", "3"],
        cwd=scaffolded, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "No issues found" in output and "Function argument" not in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n", "not a valid OpenAPI document"),
        ("openapi: [\n", "is not YAML or JSON"),
        ("just: a mapping\n", "not an OpenAPI document"),
        (("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /things:\n    get:\n"
          "      responses: {'200': {description: ok}}\n"), "no security scheme"),
    ],
)
def test_bad_spec_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 text: str, expected: str) -> None:
    (tmp_path / "sandbox" / "apis").mkdir(parents=True)
    (tmp_path / "openapi").mkdir()
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["scaffold", "things", "--spec", str(spec), "--into", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "Traceback" not in err, err
    assert not (tmp_path / "openapi" / "things.yaml").exists() and not (tmp_path / "sandbox" / "apis" / "things").exists()


def test_missing_spec_and_bad_name_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sandbox" / "apis").mkdir(parents=True)
    (tmp_path / "openapi").mkdir()
    assert main(["scaffold", "things", "--spec", str(tmp_path / "absent.yaml"), "--into", str(tmp_path)]) != 0
    assert "cannot read" in capsys.readouterr().err
    assert main(["scaffold", "Bad_Name", "--spec", str(tmp_path / "absent.yaml"), "--into", str(tmp_path)]) != 0
    assert "bad API name" in capsys.readouterr().err


GADGETS_30 = """
openapi: 3.0.3
info: {title: Gadgets API, version: 1.0.0}
servers: [{url: "https://api.gadgets.example/v2"}]
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Maker:
      type: object
      properties: {name: {type: string}}
    Gadget:
      type: object
      required: [id, name, price, created_at]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string, example: Lamp}
        price: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 1000, exclusiveMaximum: false}
        note: {type: string, nullable: true}
        maker: {allOf: [{$ref: "#/components/schemas/Maker"}], nullable: true}
        created_at: {type: string, format: date-time, readOnly: true}
        updated_at: {type: string, format: date-time, readOnly: true}
    GadgetInput:
      type: object
      required: [name, price]
      properties:
        name: {type: string, example: Lamp}
        price: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 1000, exclusiveMaximum: false, example: 9.5}
        note: {type: string, nullable: true}
        maker: {allOf: [{$ref: "#/components/schemas/Maker"}], nullable: true}
    GadgetList:
      type: object
      required: [data, has_more, next_cursor]
      properties:
        data: {type: array, items: {$ref: "#/components/schemas/Gadget"}}
        has_more: {type: boolean}
        next_cursor: {type: string, nullable: true}
paths:
  /gadgets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 0, exclusiveMinimum: true, maximum: 50}}
      responses:
        "200": {description: A page, content: {application/json: {schema: {$ref: "#/components/schemas/GadgetList"}}}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/GadgetInput"}}}}
      responses:
        "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Gadget"}}}}
  /gadgets/{gadget_id}:
    get:
      parameters:
        - {name: gadget_id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: One, content: {application/json: {schema: {$ref: "#/components/schemas/Gadget"}}}}
"""


def _serve(checkout: Path, api: str) -> tuple[subprocess.Popen[str], list[str], int]:
    """`serve --api API` from a copy of the checkout, until `ready on` (or the process ends)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(checkout), "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--api", api, "--port", str(port), "--db", "memory",
         "--quiet", "--validate-responses"],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 120  # start-up on a busy machine; not a timed assertion
    for line in process.stdout:
        output.append(line)
        if line.startswith("ready on ") or time.monotonic() > deadline:
            break
    return process, output, port


def test_an_openapi_30_spec_is_written_as_31_and_served_as_it_means(tmp_path: Path) -> None:
    """3.0's `nullable: true` accepts null, its boolean `exclusiveMinimum` is exclusive, and no POST is a 500
    (2020-12 read unconverted: null refused, and the boolean bound a schema that cannot compile)."""
    checkout = _checkout_copy(tmp_path / "checkout")
    spec = tmp_path / "gadgets.yaml"
    spec.write_text(GADGETS_30, encoding="utf-8")
    result = _run("scaffold", "gadgets", "--spec", str(spec), "--into", str(checkout), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "converted OpenAPI 3.0.3 to 3.1.0" in result.stdout

    written = yaml.safe_load((checkout / "openapi" / "gadgets.yaml").read_text())
    schemas = written["components"]["schemas"]
    assert written["openapi"] == "3.1.0"
    assert schemas["GadgetInput"]["properties"]["note"] == {"type": ["string", "null"]}
    assert schemas["GadgetInput"]["properties"]["price"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1000,
                                                            "examples": [9.5]}
    assert schemas["GadgetInput"]["properties"]["maker"] == {
        "anyOf": [{"allOf": [{"$ref": "#/components/schemas/Maker"}]}, {"type": "null"}]}
    assert schemas["GadgetList"]["properties"]["next_cursor"]["type"] == ["string", "null"]
    limit = written["paths"]["/gadgets"]["get"]["parameters"][0]["schema"]
    assert limit == {"type": "integer", "exclusiveMinimum": 0, "maximum": 50}

    process, output, port = _serve(checkout, "gadgets")
    try:
        assert output and output[-1].startswith("ready on "), "".join(output)
        key = yaml.safe_load((checkout / "fixtures" / "gadgets.yaml").read_text())["tenants"][0]["keys"][0]["key"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v2", headers={"X-Api-Key": key}, timeout=30) as client:
            made = client.post("/gadgets", json={"name": "Lamp", "price": 0.01, "note": None, "maker": None})
            assert made.status_code == 201, made.text
            assert made.json()["note"] is None and made.json()["maker"] is None
            assert client.get(f"/gadgets/{made.json()['id']}").json()["note"] is None
            with_note = client.post("/gadgets", json={"name": "Desk", "price": 1000, "note": "oak", "maker": {"name": "A"}})
            assert with_note.status_code == 201, with_note.text

            refused = {
                "note": client.post("/gadgets", json={"name": "x", "price": 1, "note": 5}),
                "price": client.post("/gadgets", json={"name": "x", "price": 0}),  # exclusive: 0 itself is out
            }
            for field, response in refused.items():
                assert response.status_code == 400, response.text
                assert response.json()["error"]["field"] == field, response.text
            assert client.post("/gadgets", json={"name": "x", "price": 1000.5}).status_code == 400
            assert client.get("/gadgets", params={"limit": 0}).status_code == 400
            page = client.get("/gadgets", params={"limit": 1})
            assert page.status_code == 200 and page.json()["next_cursor"] is not None, page.text
            last = client.get("/gadgets", params={"limit": 5})
            assert last.status_code == 200 and last.json()["next_cursor"] is None, last.text
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("version", ["2.0", "3.2.0", "4.0"])
def test_a_spec_neither_30_nor_31_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        version: str) -> None:
    (tmp_path / "sandbox" / "apis").mkdir(parents=True)
    (tmp_path / "openapi").mkdir()
    spec = tmp_path / "things.yaml"
    spec.write_text(GADGETS_30.replace("openapi: 3.0.3", f"openapi: '{version}'"), encoding="utf-8")
    assert main(["scaffold", "things", "--spec", str(spec), "--into", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"OpenAPI {version}" in err and "3.0.x or 3.1.x" in err, err
    assert not (tmp_path / "openapi" / "things.yaml").exists()


def test_a_schema_that_cannot_compile_stops_the_start_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Not a 500 on every request: `create_app` and `serve` refuse the spec, naming it and the schema's place."""
    from sandbox import spec as specs
    from sandbox.app import create_app
    from sandbox.config import Config

    shutil.copytree(ROOT / "openapi", tmp_path / "openapi")
    broken = yaml.safe_load((tmp_path / "openapi" / "askad.yaml").read_text())
    broken["components"]["schemas"]["Broken"] = {"type": "object", "properties": {
        "price": {"type": "number", "minimum": 0, "exclusiveMinimum": True}}}
    (tmp_path / "openapi" / "askad.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    monkeypatch.setattr(specs, "SPEC_DIR", tmp_path / "openapi")

    with pytest.raises(specs.UncompilableSchema) as raised:
        create_app(Config(apis=("askad",), db="memory"))
    message = str(raised.value)
    assert "openapi/askad.yaml" in message and "/components/schemas/Broken/properties/price/exclusiveMinimum" in message
    assert "\n" not in message

    assert main(["serve", "--api", "askad", "--db", "memory", "--port", str(free_port()), "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "/components/schemas/Broken" in err and "Traceback" not in err, err
    create_app(Config(apis=("href",), db="memory"))  # the other specs still start


def test_a_schema_that_cannot_compile_at_request_time_is_compiled_once() -> None:
    from sandbox import spec as specs

    schema = {"type": "number", "exclusiveMinimum": True}
    for _ in range(2):
        with pytest.raises(specs.UncompilableSchema, match="cannot be compiled"):
            specs.compiled(schema)
    assert isinstance(specs._compiled[id(schema)][1], str)


def test_upgrade_to_31_reaches_every_schema_location_and_nested_schema() -> None:
    from sandbox.spec import check_document
    from sandbox.spec_upgrade import upgrade_to_31

    nullable = {"type": "integer", "nullable": True, "example": 3}
    spec = upgrade_to_31({
        "openapi": "3.0.1",
        "components": {
            "schemas": {
                "Deep": {"type": "object", "additionalProperties": {"type": "string", "nullable": True},
                         "properties": {"tags": {"type": "array", "items": dict(nullable)},
                                        "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                                        "either": {"oneOf": [{"type": "number", "minimum": 1, "exclusiveMinimum": True},
                                                             {"not": {"type": "string", "nullable": True}}]},
                                        "example": {"$ref": "#/components/schemas/Other", "nullable": True,
                                                    "description": "kept outside"}}},
                "Other": {"type": "object"},
            },
            "parameters": {"P": {"name": "p", "in": "query", "schema": dict(nullable)}},
            "responses": {"R": {"description": "r", "headers": {"H": {"schema": dict(nullable)}},
                                "content": {"application/json": {"schema": dict(nullable)}}}},
            "requestBodies": {"B": {"content": {"application/json": {"schema": dict(nullable)}}}},
        },
        "paths": {"/x": {"parameters": [{"name": "q", "in": "query", "schema": dict(nullable)}],
                         "get": {"parameters": [{"name": "r", "in": "query", "schema": dict(nullable)}],
                                 "responses": {"200": {"description": "ok",
                                                       "content": {"application/json": {"schema": dict(nullable)}}}}}}},
    })
    upgraded = {"type": ["integer", "null"], "examples": [3]}
    components = spec["components"]
    deep = components["schemas"]["Deep"]
    assert spec["openapi"] == "3.1.0"
    assert deep["additionalProperties"] == {"type": ["string", "null"]}
    assert deep["properties"]["tags"]["items"] == upgraded
    assert deep["properties"]["kind"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert deep["properties"]["either"]["oneOf"] == [{"type": "number", "exclusiveMinimum": 1},
                                                     {"not": {"type": ["string", "null"]}}]
    assert deep["properties"]["example"] == {"anyOf": [{"$ref": "#/components/schemas/Other"}, {"type": "null"}],
                                             "description": "kept outside"}  # a property named example is a property
    assert components["parameters"]["P"]["schema"] == upgraded
    assert components["responses"]["R"]["headers"]["H"]["schema"] == upgraded
    assert components["responses"]["R"]["content"]["application/json"]["schema"] == upgraded
    assert components["requestBodies"]["B"]["content"]["application/json"]["schema"] == upgraded
    assert spec["paths"]["/x"]["parameters"][0]["schema"] == upgraded
    assert spec["paths"]["/x"]["get"]["parameters"][0]["schema"] == upgraded
    assert spec["paths"]["/x"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == upgraded
    check_document(spec, "upgraded")  # and 2020-12 compiles all of it
