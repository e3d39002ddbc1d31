"""The modeler's working set names its main file (issue 16): validate and deploy take that
file's process as the key, whatever the order or names of the files, and the problems come in
the person's language beside the engine's own words (English: tests/browser/test_modeler_import.py)."""

from __future__ import annotations

from tests import modeler_diagrams as diagrams

LANES = {"workshop": "technician"}


def _body(main: str | None, **extra) -> dict:
    files = dict(sorted(diagrams.call_pair().items()))  # the called process' file first
    return {"files": files, "forms": {}, **({"main": main} if main else {}), **extra}


def test_main_names_the_key_whatever_the_order(users):
    owner = users["owner"]
    checked = owner.post("/processes/api/validate", _body("z_repair_order.bpmn", lane_roles=LANES)).get_json()
    assert (checked["ok"], checked["key"]) == (True, "repair_order"), checked
    # without `main` the first file's process would be the key
    assert owner.post("/processes/api/validate", _body(None)).get_json()["key"] == "parts_check"
    deployed = owner.post("/processes/api/deploy", _body("z_repair_order.bpmn", lane_roles=LANES))
    assert deployed.status_code == 201, deployed.get_json()
    assert (deployed.get_json()["key"], deployed.get_json()["file"]) == ("repair_order", "z_repair_order.bpmn")
    opened = owner.get("/processes/api/repair_order/versions/1").get_json()
    assert (opened["main_file"], opened["lane_roles"]) == ("z_repair_order.bpmn", LANES)
    # the version as opened (with its lane mapping) deploys as itself
    again = owner.post("/processes/api/deploy", _body(opened["main_file"], lane_roles=opened["lane_roles"]))
    assert (again.status_code, again.get_json()["version"]) == (200, 1)


def test_a_bad_main_is_refused_with_the_field(users):
    for main in ("nothing.bpmn", 7):
        response = users["owner"].post("/processes/api/validate", {**_body(None), "main": main})
        assert response.status_code == 400
        assert "main" in response.get_json()["errors"]


def test_unmapped_lane_problem_in_chinese_beside_the_engine_words(users):
    owner = users["owner"]
    body = owner.post("/processes/api/validate", _body("z_repair_order.bpmn")).get_json()
    assert body["unmapped_lanes"] == [{"id": "workshop", "name": "维修车间"}]
    assert body["problems"]["workshop"].startswith("lane '维修车间' matches no role")
    assert body["problems_text"]["workshop"].startswith("泳道 '维修车间' 不对应任何角色")
