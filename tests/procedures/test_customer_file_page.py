"""Issue 14, the customer and vehicle file 客户档案 as a staff page: looked up by plate, VIN or
phone at intake and on the hotline, the vehicle's repairs, claims, complaints and calls on one
page; the intake and hotline forms open pre-filled from it (进厂里程 never: it is read at every
intake); the customer's phone masked for staff who do not talk to customers (docs/security.md)."""

from __future__ import annotations

import re
from html import unescape

from tests.procedures.test_hotline_call import CALL, sv  # noqa: F401  (the fixture)
from tests.procedures.test_repair_dispatch import intake
from tests.test_ui_support import compiled_translations, signed_in, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import Customer, SystemLogEvent

VIN = "LSVAB2BR5EN000123"


def field_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return unescape(value.group(1)) if value else ""


def test_the_customer_file_page_finds_the_vehicle_and_opens_the_intake_pre_filled(sv, app):  # noqa: F811
    repair = sv.start("repair_dispatch", intake(mode="workshop", plate_no="苏E·12345", customer_name="赵敏",
                                                customer_phone="135 0000 8888"), as_="advisor")
    sv.start("hotline_call", {**CALL, "kind": "complaint", "content": "上次保养后漏油，无人处理"}, as_="agent")
    sv.run()
    customer = db.session.scalar(db.select(Customer).where(Customer.name == "赵敏"))
    advisor = signed_in(app, "sv_advisor")
    assert "/customers" in text_of(advisor.get("/"))  # in the menu
    for query in ("plate=苏E·12345", f"vin={VIN}", "phone=13500008888"):
        page = text_of(advisor.get(f"/customers?{query}"))
        assert "赵敏" in page and "135 0000 8888" in page, query
    assert sv.business_key(repair) in page  # the repair
    assert "上次保养后漏油" in page and 'data-list="complaints"' in page  # the complaint and the call
    assert f'customer={customer.id}' in page
    assert "未找到客户档案" in text_of(advisor.get("/customers?plate=京A00000"))

    assert "data-customer-file-link" in text_of(advisor.get("/new/repair_dispatch"))  # from the intake to the file
    form = text_of(advisor.get(f"/new/repair_dispatch?customer={customer.id}&vin={VIN}"))
    assert field_value(form, "customer_name") == "赵敏" and field_value(form, "customer_phone") == "135 0000 8888"
    assert field_value(form, "plate_no") == "苏E·12345" and field_value(form, "serial_no") == VIN
    assert field_value(form, "current_mileage") == ""  # read off the odometer at every intake
    agent = signed_in(app, "sv_agent")
    call_form = text_of(agent.get(f"/new/hotline_call?customer={customer.id}"))
    assert field_value(call_form, "customer_phone") == "135 0000 8888" and field_value(call_form, "serial_no") == VIN


def test_the_file_masks_the_phone_for_who_does_not_talk_to_customers(sv, app, make_client):  # noqa: F811
    sv.start("hotline_call", CALL | {"answered_now": True, "answer": "可以预约"}, as_="agent")
    sv.run()
    clerk = signed_in(app, "sv_clerk")  # the warranty clerk
    page = text_of(clerk.get("/customers?phone=13500008888"))
    assert "赵敏" in page and "135****8888" in page and "135 0000 8888" not in page
    body = sv.clients["clerk"].get("/api/customer-files?phone=13500008888").get_json()
    assert body["customer"]["phone"] == "135****8888"
    assert sv.clients["agent"].get("/api/customer-files?phone=13500008888").get_json()["customer"]["phone"] == "135 0000 8888"
    customer = db.session.scalar(db.select(Customer).where(Customer.name == "赵敏"))
    form = text_of(signed_in(app, "sv_clerk").get(f"/new/hotline_call?customer={customer.id}"))
    assert "135 0000 8888" not in form
    assert signed_in(app, "sv_tech").get("/customers?phone=13500008888").status_code == 403
    # the auditor reads the file in full, and that view is written to the system log
    auditor = make_client("cf-auditor", ["auditor"])
    assert auditor.get("/api/customer-files?phone=13500008888").get_json()["customer"]["phone"] == "135 0000 8888"
    db.session.rollback()
    logged = db.session.scalars(db.select(SystemLogEvent).where(SystemLogEvent.type == "personal_data_viewed")).all()
    assert [e.actor for e in logged] == ["cf-auditor"]
