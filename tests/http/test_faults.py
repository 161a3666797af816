"""Injected faults (`sandbox.http.faults.FaultMiddleware`) sit just inside the gate: only a request the
gate let through takes one of a fault's N calls, and a fault answers before validation."""

from __future__ import annotations

import httpx
from conftest import MARINA_READONLY, bearer


def _fault(control: httpx.Client, operation_id: str, status: int = 503, count: int = 1) -> None:
    response = control.post("/faults", json={"api": "hadar", "operation_id": operation_id, "status": status,
                                             "count": count})
    assert response.status_code == 201, response.text


def test_a_request_the_gate_refuses_leaves_the_fault_for_the_next_one(client: httpx.Client, control: httpx.Client) -> None:
    _fault(control, "listLeads")
    refused = client.get("/leads", headers=bearer("hdr_test_not_a_key_000000000000"))
    assert refused.status_code == 401, refused.text
    assert len(control.get("/faults").json()["data"]) == 1  # still armed
    failed = client.get("/leads")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "service_unavailable"
    assert client.get("/leads").status_code == 200


def test_a_read_only_key_is_refused_a_write_before_any_fault(client: httpx.Client, control: httpx.Client) -> None:
    _fault(control, "createLead", status=500)
    refused = client.post("/leads", json={"name": "x"}, headers=bearer(MARINA_READONLY))
    assert refused.status_code == 403, refused.text
    failed = client.post("/leads", json={"name": 5})  # invalid, but the fault answers first
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal_error", failed.text
    assert control.get("/faults").json()["data"] == []


def test_the_control_plane_takes_faults_of_its_own_operations(control: httpx.Client) -> None:
    response = control.post("/faults", json={"api": "sandbox", "operation_id": "listFaults", "status": 503, "count": 1})
    assert response.status_code == 201, response.text
    assert control.get("/faults").status_code == 503
    assert control.get("/faults").status_code == 200
