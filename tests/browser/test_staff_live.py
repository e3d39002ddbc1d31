"""Pages that update themselves: a new task appears in the inbox without a reload (and the
count in the menu follows); after registering a case, its page shows the next step by itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import Instance

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
COMPLAINT = {"customer_name": "赵敏", "customer_phone": "138 0000 1234", "channel": "phone",
             "description": "洗衣机脱水时噪音很大"}


@pytest.fixture(scope="module", autouse=True)
def fast_polling(live):
    live.app.config["LIVE_POLL_SECONDS"] = 1


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_new_task_appears_in_the_inbox_without_a_reload(live, sign_in, viewport):
    handler = sign_in("handler", viewport=viewport)
    handler.evaluate("window.__same_page = true")
    before = int(handler.locator("[data-inbox-count]").inner_text() or 0)

    def register():
        return runtime.start_instance("complaint_handling", COMPLAINT, actor="agent", roles={"customer_service"}).business_key

    number = live.query(register)
    live.drain()
    expect(handler.locator(f'tr[data-case="{number}"]')).to_be_visible(timeout=10_000)
    expect(handler.locator("[data-inbox-news]")).to_be_visible()
    expect(handler.locator("[data-inbox-count]")).to_have_text(str(before + 1))
    assert handler.evaluate("window.__same_page") is True  # no reload: the list was swapped in


def test_the_case_page_shows_the_next_step_by_itself(live, sign_in):
    agent = sign_in("agent")
    agent.goto(f"{live.url}/new/complaint_handling")
    agent.fill("#f-customer_name", "钱进")
    agent.fill("#f-customer_phone", "139 0000 9999")
    agent.select_option("#f-channel", "phone")
    agent.fill("#f-description", "冰箱不制冷")
    agent.get_by_role("button", name="登记").click()
    agent.wait_for_url(re.compile(r"/cases/\d+$"))
    iid = int(agent.url.rsplit("/", 1)[1])
    assert live.query(lambda: db.session.get(Instance, iid).last_seq) == 1
    live.drain()  # the worker files the complaint; the handler's task opens
    expect(agent.locator("section[aria-labelledby=tasks-title]")).to_contain_text("分类核实并答复客户", timeout=10_000)
