"""Conditional fields and time rules in forms: checked by the engine (422 per field from the
API), and the page shows a conditional field only while its condition holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.service_api import Service, fast_passwords
from tests.procedures.test_warranty_claim import claim_data
from webapp.engine import forms
from webapp.engine.form_rules import active_fields, conditional_fields
from webapp.forms_render import build_fields

RULED = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["a", "b"]},
        "note": {"type": "string", "default": ""},
        "phone": {"type": "string"},
        "email": {"type": "string"},
        "vip": {"type": "boolean"},
        "manager": {"type": "string"},
        "start": {"type": "string", "format": "date-time", "x-time": {"notAfter": "now"}},
        "end": {"type": "string", "format": "date-time", "x-time": {"after": "start"}},
        "bought": {"type": "string", "format": "date", "x-time": {"notAfter": "now"}},
    },
    "if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]},
    "then": {"required": ["note"], "properties": {"note": {"minLength": 2}}},
    "dependentRequired": {"phone": ["email"]},
    "dependentSchemas": {"vip": {"required": ["manager"]}},
}


def test_engine_names_each_conditional_field(manual_clock):
    assert forms.validate(RULED, {"kind": "a"}) == {}
    assert set(forms.validate(RULED, {"kind": "b", "note": ""})) == {"note"}
    assert forms.validate(RULED, {"phone": "1"}) == {"email": "required / 必填"}
    assert forms.validate(RULED, {"vip": True}) == {"manager": "required / 必填"}
    assert conditional_fields(RULED) == {"note", "email", "manager"}
    assert active_fields(RULED, {"kind": "b", "phone": "1"}) == {"note", "email"}


def test_time_rules_against_the_clock_and_another_field(manual_clock):
    now = manual_clock.now()
    past, future = (now - timedelta(days=1)).isoformat(), (now + timedelta(days=1)).isoformat()
    assert set(forms.validate(RULED, {"start": future})) == {"start"}
    assert forms.validate(RULED, {"start": past, "end": now.isoformat()}) == {}
    assert set(forms.validate(RULED, {"start": past, "end": (now - timedelta(days=2)).isoformat()})) == {"end"}
    assert set(forms.validate(RULED, {"bought": "2030-01-01"})) == {"bought"}
    assert forms.validate(RULED, {"bought": now.date().isoformat()}) == {}


def test_the_page_hides_a_conditional_field_until_its_condition_holds(app):
    with app.test_request_context():
        hidden = {f.name: f for f in build_fields(RULED, {}, {"kind": "a"})}
        shown = {f.name: f for f in build_fields(RULED, {}, {"kind": "b"})}
    assert (hidden["note"].shown, hidden["note"].required) == (False, False)
    assert (shown["note"].shown, shown["note"].required) == (True, True)
    assert shown["kind"].when == [] and shown["start"].time["rules"][0][:2] == ["notAfter", "now"]


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    service.deploy("warranty_claim")
    service.deploy("parts_return")
    yield service
    service.verify_all()


def _to_decision(sv: Service) -> int:
    iid = sv.start("warranty_claim", claim_data(), as_="clerk")
    sv.run()
    sv.complete(iid, "technical_assessment", {"fault_point": "水泵轴封", "cause": "轴封材料老化导致渗漏",
                                              "cause_category": "material", "assessor": "车间主管刘"})
    return iid


def test_api_approves_a_claim_without_a_reason_and_names_the_missing_reason(sv):
    iid = _to_decision(sv)
    answer = sv.complete(iid, "clerk_decide", {"approve_claim": False, "labour_amount": 0, "parts_amount": 0,
                                               "special_policy": False, "quality_feedback": "无"}, expect=422)
    assert set(answer["errors"]) == {"rejection_reason"}
    sv.complete(iid, "clerk_decide", {"approve_claim": True, "labour_amount": 200, "parts_amount": 600,
                                      "special_policy": False, "quality_feedback": "同批次水泵渗漏"})
    assert "clerk_decide" not in sv.open_ids(iid)


def test_api_refuses_a_purchase_date_in_the_future(sv):
    client = sv.clients["clerk"]
    answer = client.post("/api/process-instances", {"process_key": "warranty_claim",
                                                     "data": claim_data(delivery_date="2030-01-01")})
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) == {"delivery_date"}
