"""Decision tables run under the sandbox: tests like "<= 100" and "100 < ?" work, and a
hostile cell is refused at deploy time, naming the cell."""

from __future__ import annotations

import io

import pytest

from tests.conftest import FIXTURES, deploy_files


@pytest.mark.parametrize(("amount", "route"), [(5, "small"), (100, "small"), (101, "large")])
def test_decision_table_routes_by_amount(users, amount, route):
    assert deploy_files(users["owner"], [FIXTURES / "decide.bpmn", FIXTURES / "route.dmn"]).status_code == 201
    r = users["admin"].post("/api/process-instances", {"process_key": "decide", "data": {"amount": amount}})
    assert r.status_code == 201, r.get_json()
    instance = users["admin"].get(f"/api/process-instances/{r.get_json()['id']}").get_json()
    assert instance["status"] == "completed"
    assert instance["data"]["route"] == route


def test_hostile_decision_cell_is_refused(users):
    dmn = (FIXTURES / "route.dmn").read_text(encoding="utf-8").replace("&lt;= 100", "open('/etc/passwd') is None")
    data = {
        "a": (io.BytesIO((FIXTURES / "decide.bpmn").read_bytes()), "decide.bpmn"),
        "b": (io.BytesIO(dmn.encode()), "route.dmn"),
    }
    r = users["owner"].post("/api/process-definitions", data=data, content_type="multipart/form-data")
    assert r.status_code == 400
    assert "open" in r.get_json()["errors"]["rule_small_in"]
