"""What the Connexion fence (`sandbox.http.connexion_fence`) builds once instead of per request must not change what a request gets:
validation still runs on every request, every media type and charset is still judged, and the handler
still sees the body the client sent."""

from __future__ import annotations

import httpx
import orjson
from conftest import AISHA

from sandbox.core.store import Store


def _error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def test_validation_runs_on_every_request_not_only_the_first(client: httpx.Client) -> None:
    assert client.post("/leads", json=AISHA).status_code == 201
    bad = client.post("/leads", json={**AISHA, "email": 5})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "lead.email"
    assert client.post("/leads", json={**AISHA, "phone": "+971500000077"}).status_code == 201
    assert client.post("/leads", json={**AISHA, "name": None}).status_code == 400


def test_an_unsupported_media_type_is_refused_before_and_after_an_accepted_one(client: httpx.Client) -> None:
    first = client.post("/leads", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert first.status_code == 415 and _error_code(first) == "unsupported_media_type"
    assert client.post("/leads", json=AISHA).status_code == 201
    again = client.post("/leads", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert again.status_code == 415 and _error_code(again) == "unsupported_media_type"


def test_many_charsets_each_validated(client: httpx.Client) -> None:
    # The charset is the client's: more than the validators kept per operation, each still validated.
    for index in range(24):
        headers = {"Content-Type": f"application/json; charset=x-test-{index}"}
        good = client.post("/leads", content=orjson.dumps({**AISHA, "phone": f"+9715000{index:05d}"}), headers=headers)
        assert good.status_code == 201, good.text
        bad = client.post("/leads", content=b'{"name": 5}', headers=headers)
        assert bad.status_code == 400, bad.text


def test_the_handler_gets_the_body_as_sent(client: httpx.Client) -> None:
    # Parsed once by the validator and handed on: Arabic, an emoji and a large number survive intact.
    body = {**AISHA, "name": "عائشة خان 🏠", "phone": "+971500000088", "budget_aed": 9876543210}
    created = client.post("/leads", content=orjson.dumps(body), headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    lead = client.get(f"/leads/{created.json()['data']['id']}").json()["data"]
    assert lead["name"] == "عائشة خان 🏠"
    assert lead["budget_aed"] == 9876543210


def test_json_null_body_is_still_a_validation_error(client: httpx.Client) -> None:
    response = client.post("/leads", content=b"null", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["data"] is None


def test_raw_pages_serialise_exactly_like_decoded_pages() -> None:
    store = Store("memory")
    col = store.collection("hadar", "t", "leads")
    for i in range(5):
        col.insert(f"l{i}", "2026-01-01T00:00:00.000Z", {"id": f"l{i}", "name": f"Ünïcode {i} ✓", "n": i})
    decoded = col.page(before_seq=None, limit=3)
    raw = col.page(before_seq=None, limit=3, raw=True)
    assert isinstance(raw.items[0], orjson.Fragment)
    assert orjson.loads(orjson.dumps({"items": raw.items})) == {"items": decoded.items}
    assert raw.next_seq == decoded.next_seq
