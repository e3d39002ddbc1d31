"""A photo taken with the phone's camera on the on-site record: uploaded at once and shown as a
thumbnail, its SHA-256 in the history event that attached it, verify true; the file edited on
disk makes verify name that event."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.staff_support import prepare, repair_until
from webapp.engine import attachments, replay
from webapp.extensions import db
from webapp.models import Attachment, HistoryEvent

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def procedures(live):
    prepare(live)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_photo_from_the_phone_is_in_the_history_and_verified(live, sign_in, viewport):
    """On the phone the photo comes from the camera input (capture), on the desktop from the
    file chooser; the rest is the same."""
    iid, task_id = repair_until(live, "on_site_service")
    tech = sign_in("fieldtech", viewport=viewport)
    tech.goto(f"{live.url}/tasks/{task_id}")
    tech.fill("#f-diagnosis", "门锁电机烧毁")
    tech.fill("#f-work_done", "更换门锁电机")
    tech.fill("#f-parts_used-0-part_no", "P-100")
    tech.fill("#f-parts_used-0-qty", "1")
    tech.fill("#f-service_started_at", "2026-03-02T08:00")
    tech.fill("#f-service_ended_at", "2026-03-02T08:40")
    tech.get_by_label("已当场修妥").check()
    camera = tech.locator("#f-photos-camera")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    content = _photo()
    chooser = camera if viewport else tech.locator("#f-photos")
    chooser.set_input_files({"name": "门锁.jpg", "mimeType": "image/jpeg", "buffer": content})
    thumb = tech.locator('[data-attachments="photos"] img.thumb')
    expect(thumb).to_be_visible()
    tech.wait_for_function("() => { const i = document.querySelector('[data-attachments=photos] img.thumb');"
                           " return i && i.complete && i.naturalWidth > 0 && i.naturalWidth <= 320; }")
    assert tech.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    tech.screenshot(path=str(ARTIFACTS / f"staff-photo-{'phone' if viewport else 'desktop'}.png"), full_page=True)
    tech.get_by_role("button", name="提交").click()
    expect(tech.locator(".flashes")).to_contain_text("已完成")

    digest = hashlib.sha256(content).hexdigest()

    def attached():
        event = db.session.scalars(db.select(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.bpmn_id == "on_site_service")).one()
        photos = json.loads(event.payload)["data"]["photos"]
        return event.seq, photos, replay.verify(iid)

    seq, photos, result = live.query(attached)
    assert [p["sha256"] for p in photos] == [digest] and photos[0]["name"] == "门锁.jpg"
    assert result == {"verified": True, "events": result["events"]}

    tech.goto(f"{live.url}/cases/{iid}")
    listed = tech.locator(f'[data-attachment="{photos[0]["attachment"]}"]')
    expect(listed).to_contain_text("门锁.jpg")
    expect(listed.locator("img.thumb")).to_be_visible()

    def tamper():
        path = attachments.file_path(db.session.get(Attachment, photos[0]["attachment"]))
        path.write_bytes(content[:-10] + b"edited!!!!")
        return replay.verify(iid)

    result = live.query(tamper)
    assert result["verified"] is False and result["first_bad_seq"] == seq
    assert "门锁.jpg" in result["reason"]
