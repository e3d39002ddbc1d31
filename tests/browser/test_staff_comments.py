"""A comment with a mention reaches the colleague's inbox; it is part of the case's history and
the case still verifies."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.staff_support import ASSESSMENT, CLAIM, drive, prepare
from webapp.engine import replay
from webapp.extensions import db
from webapp.models import HistoryEvent

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def procedures(live):
    prepare(live)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_comment_with_a_mention_reaches_the_colleagues_inbox(live, sign_in, viewport):
    iid, task_id = drive(live, "warranty_claim", CLAIM, [("technical_assessment", ASSESSMENT)], stop_at="clerk_decide")
    clerk = sign_in("clerk", viewport=viewport)
    clerk.goto(f"{live.url}/tasks/{task_id}")
    text = f"@colleague 请帮忙看一下这张索赔单（{viewport and 'phone' or 'desktop'}），厂家要求补充照片。"
    clerk.fill("#comment-text", text)
    clerk.get_by_role("button", name="备注", exact=True).click()
    expect(clerk.locator(".flashes")).to_contain_text("备注已添加")
    expect(clerk.locator(".comment-list")).to_contain_text("厂家要求补充照片")

    colleague = sign_in("colleague", viewport=viewport)
    mention = colleague.locator(f'.mentions li[data-case-id="{iid}"]')
    expect(mention).to_contain_text("厂家要求补充照片")
    mention.get_by_role("link").click()
    expect(colleague.locator(".comment-list")).to_contain_text(text)
    colleague.goto(f"{live.url}/")
    expect(colleague.locator(f'.mentions li[data-case-id="{iid}"]')).to_have_count(0)  # read once the case was opened

    def recorded():
        event = db.session.scalars(db.select(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.type == "comment_added")).one()
        return event.actor, event.task_id, replay.verify(iid)["verified"]

    assert live.query(recorded) == ("clerk", task_id, True)
