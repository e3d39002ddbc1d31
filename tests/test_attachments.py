"""Attachments: POST /api/attachments, references in task data carrying the SHA-256 into the
history, verify naming the event whose file changed on disk, downloads only for who may see."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image

from tests.fixtures.service_api import Service, fast_passwords
from tests.procedures.test_warranty_claim import claim_data
from webapp.engine import attachments, replay
from webapp.extensions import db
from webapp.models import Attachment, HistoryEvent

ASSESSMENT = {"fault_point": "水泵轴封", "cause": "轴封材料老化导致渗漏", "cause_category": "material", "assessor": "车间主管刘"}


def photo_bytes(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "JPEG")
    return out.getvalue()


def upload(client, content: bytes, name: str):
    return client.post("/api/attachments", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


@pytest.fixture
def sv(make_client, run_worker, manual_clock, monkeypatch):
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    service.deploy("warranty_claim")
    service.deploy("parts_return")
    yield service
    service.verify_all()


def test_upload_answers_id_hash_size_and_type_and_refuses_other_files(sv):
    clerk = sv.clients["supervisor"]
    content = photo_bytes()
    answer = upload(clerk, content, "故障.jpg")
    assert answer.status_code == 201
    body = answer.get_json()
    expected = (hashlib.sha256(content).hexdigest(), len(content), "image/jpeg")
    assert (body["sha256"], body["size"], body["content_type"]) == expected
    row = db.session.get(Attachment, body["id"])
    assert row.has_thumbnail and attachments.file_path(row).read_bytes() == content
    assert not str(attachments.file_path(row)).startswith(str(sv.clients["admin"].client.application.root_path + "/instance"))
    assert upload(clerk, b"%PDF-1.4\n...", "单据.pdf").get_json()["content_type"] == "application/pdf"
    refused = upload(clerk, b"MZ\x90\x00 not a photo", "virus.exe")
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"file"}
    assert upload(clerk, b"", "empty.jpg").status_code in (400, 422)
    assert upload(clerk, b"\xff\xd8\xff broken jpeg", "broken.jpg").status_code == 422
    sv.clients["admin"].client.application.config["ATTACHMENT_MAX_BYTES"] = 1000
    too_big = upload(clerk, content, "big.jpg")
    assert too_big.status_code in (413, 422)


def test_the_hash_is_in_the_history_and_verify_names_the_event_when_the_file_changes(sv):
    iid = sv.start("warranty_claim", claim_data(), as_="clerk")
    sv.run()
    body = upload(sv.clients["supervisor"], photo_bytes(), "水泵.jpg").get_json()
    ref = body["reference"]
    bad = {**ref, "sha256": "0" * 64}
    answer = sv.complete(iid, "technical_assessment", {**ASSESSMENT, "photos": [bad]}, expect=422)
    assert set(answer["errors"]) == {"photos.0"}
    sv.complete(iid, "technical_assessment", {**ASSESSMENT, "photos": [ref]})
    event = db.session.scalars(db.select(HistoryEvent).where(
        HistoryEvent.instance_id == iid, HistoryEvent.bpmn_id == "technical_assessment")).one()
    assert json.loads(event.payload)["data"]["photos"][0]["sha256"] == body["sha256"]
    history = sv.clients["admin"].get(f"/api/process-instances/{iid}/history").get_json()
    assert any(body["sha256"] in json.dumps(e["payload"]) for e in history)
    assert sv.clients["admin"].get(f"/api/process-instances/{iid}/verify").get_json()["verified"] is True

    path = attachments.file_path(db.session.get(Attachment, body["id"]))
    original = path.read_bytes()
    path.write_bytes(photo_bytes("blue"))
    result = replay.verify(iid)
    assert result["verified"] is False and result["first_bad_seq"] == event.seq
    assert "水泵.jpg" in result["reason"] and "SHA-256" in result["reason"]
    path.write_bytes(original)
    assert replay.verify(iid)["verified"] is True


def test_downloads_only_for_who_may_see(sv):
    mine = upload(sv.clients["supervisor"], photo_bytes(), "a.jpg").get_json()
    assert sv.clients["supervisor"].get(f"/api/attachments/{mine['id']}").status_code == 200
    # not yet part of any case: nobody else sees it, nor can anybody else reference it
    assert sv.clients["clerk"].get(f"/api/attachments/{mine['id']}").status_code == 404
    iid = sv.start("warranty_claim", claim_data(), as_="clerk")
    sv.run()
    client = sv.clients["admin"]
    task = sv.task(iid, "technical_assessment")
    data = {**ASSESSMENT, "photos": [mine["reference"]]}
    stolen = sv.clients["clerk"].post(f"/api/tasks/{task['id']}/complete", {"data": data})
    assert stolen.status_code in (403, 422)
    sv.complete(iid, "technical_assessment", {**ASSESSMENT, "photos": [mine["reference"]]})
    download = sv.clients["clerk"].get(f"/api/attachments/{mine['id']}")
    assert download.status_code == 200 and download.data[:3] == b"\xff\xd8\xff"
    assert "a.jpg" in download.headers["Content-Disposition"]
    assert client.get("/api/attachments/nope").status_code == 404
