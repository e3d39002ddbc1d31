"""Never lose typed work: signed out in another tab, the person sends the form, signs in again,
lands back on the form with their text and sends the same text; drafts are saved as they type."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.staff_support import ASSESSMENT, CLAIM, drive, prepare
from webapp.extensions import db
from webapp.models import InboxTask, Instance

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
FEEDBACK = "同批次水泵渗漏第 4 例，建议通知厂家质量部门跟进。"


@pytest.fixture(scope="module", autouse=True)
def procedures(live):
    prepare(live)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_signed_out_in_another_tab_signs_in_again_and_sends_the_same_text(live, sign_in, viewport):
    iid, task_id = drive(live, "warranty_claim", CLAIM, [("technical_assessment", ASSESSMENT)], stop_at="clerk_decide")
    clerk = sign_in("clerk", viewport=viewport)
    clerk.goto(f"{live.url}/tasks/{task_id}")
    clerk.get_by_label("准予索赔", exact=True).check()
    clerk.fill("#f-labour_amount", "200")
    clerk.fill("#f-parts_amount", "600")
    # the draft is saved on the server while typing
    expect(clerk.locator("[data-draft-status]")).to_contain_text("草稿已于", timeout=10_000)
    draft = live.query(lambda: db.session.get(InboxTask, task_id).draft)
    assert draft["labour_amount"] == 200

    other = clerk.context.new_page()
    other.goto(f"{live.url}/")
    other.get_by_role("button", name="退出").click()
    expect(other.locator(".flashes")).to_contain_text("已退出")

    # typed after the sign-out: the server cannot keep it, the page says so, the browser keeps it
    clerk.fill("#f-quality_feedback", FEEDBACK)
    expect(clerk.locator("[data-draft-status]")).to_contain_text("您已退出登录", timeout=10_000)

    clerk.get_by_role("button", name="提交").click()
    clerk.wait_for_url(re.compile(r"/login"))
    expect(clerk.locator(".flashes")).to_contain_text("您已退出登录")
    clerk.fill("#username", "clerk")
    clerk.fill("#password", "pw-clerk")
    clerk.click("#login-form button[type=submit]")
    clerk.wait_for_url(f"{live.url}/tasks/{task_id}")
    expect(clerk.locator("[data-restored]")).to_be_visible()
    assert clerk.input_value("#f-quality_feedback") == FEEDBACK
    assert clerk.input_value("#f-labour_amount") == "200"
    clerk.get_by_role("button", name="提交").click()
    expect(clerk.locator(".flashes")).to_contain_text("已完成")
    data = live.query(lambda: db.session.get(Instance, iid).data)
    assert data["quality_feedback"] == FEEDBACK and data["approve_claim"] is True
    # once sent, the copy in the browser is gone
    # (keep.js removes it when the next page's script runs, which may be just after the flash shows)
    clerk.wait_for_function("() => Object.keys(localStorage).filter(k => k.includes('typed:task')).length === 0", timeout=5_000)
