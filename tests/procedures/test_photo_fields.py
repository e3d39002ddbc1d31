"""Issue 14, photos as attachments: the intake's 接车照片 and the complaint's evidence 投诉证据 are
files uploaded through POST /api/attachments and referenced in the start data; they become the
case's files, their SHA-256 is in the start event, and the history still verifies. (The claim's
old-part photos are the assessment's 故障件照片: tests/test_attachments.py.)"""

from __future__ import annotations

import json

from tests.procedures.test_hotline_call import sv  # noqa: F401  (the fixture)
from tests.procedures.test_repair_dispatch import intake
from tests.test_attachments import photo_bytes, upload
from webapp.extensions import db
from webapp.models import Attachment, ComplaintCase, HistoryEvent, RepairOrder


def start_event(iid: int) -> dict:
    event = db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.instance_id == iid).order_by(HistoryEvent.seq)).first()
    return json.loads(event.payload)


def test_intake_photos_and_complaint_evidence_are_the_cases_files(sv):  # noqa: F811
    advisor, agent = sv.clients["advisor"], sv.clients["agent"]
    body = upload(advisor, photo_bytes("gray"), "左前门划痕.jpg").get_json()
    bad = {**body["reference"], "sha256": "0" * 64}
    refused = advisor.post("/api/process-instances", {"process_key": "repair_dispatch",
                                                      "data": intake(mode="workshop", intake_photos=[bad])})
    assert refused.status_code == 422 and "intake_photos.0" in refused.get_json()["errors"]
    repair = sv.start("repair_dispatch", intake(mode="workshop", plate_no="苏E·77777", intake_photos=[body["reference"]]),
                      as_="advisor")
    sv.run()
    assert sv.one(RepairOrder, number=sv.business_key(repair)).plate_no == "苏E·77777"
    db.session.rollback()
    assert db.session.get(Attachment, body["id"]).instance_id == repair
    assert start_event(repair)["data"]["intake_photos"][0]["sha256"] == body["sha256"]

    evidence = upload(agent, photo_bytes("white"), "发票.jpg").get_json()
    complaint = sv.start("complaint_handling", {"customer_name": "钱七", "customer_phone": "137 0000 5555",
                                                "channel": "12315", "description": "12315 转来：维修后仍漏油",
                                                "evidence": [evidence["reference"]]}, as_="agent")
    sv.run()
    case = sv.one(ComplaintCase, number=sv.business_key(complaint))
    assert case.channel == "12315"
    db.session.rollback()
    assert db.session.get(Attachment, evidence["id"]).instance_id == complaint
    # the case's files are downloadable by its staff
    assert sv.clients["manager"].get(f"/api/attachments/{evidence['id']}").status_code == 200
