"""Acceptance 1 in a real browser (Playwright + Debian's Chromium, headless).

A customer-service agent registers a complaint through the start form and sees the case page;
a complaint handler finds it in the inbox, claims it, submits an invalid form (errors beside
the fields, input kept), then a valid one, and the process moves on; the 24 h reply deadline
passes on the controlled clock and the after-sales manager finds the escalated case in the
inbox and completes it. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from webapp.extensions import db
from webapp.models import InboxTask, Instance

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _open_tasks(live, instance_id: int) -> dict[str, InboxTask]:
    def query():
        rows = db.session.scalars(db.select(InboxTask).where(InboxTask.instance_id == instance_id)).all()
        return {r.bpmn_id: (r.state, r.assignee, r.completed_by) for r in rows}

    return live.query(query)


def test_complaint_from_registration_to_the_managers_escalation(live, sign_in):
    # -- the agent registers the complaint -------------------------------------------------
    agent = sign_in("agent")
    agent.get_by_role("link", name="新建").click()
    agent.get_by_role("link", name="登记客户投诉").click()
    agent.fill("#f-customer_name", "张伟")
    agent.fill("#f-customer_phone", "138 0000 0000")
    agent.fill("#f-product_model", "XR-200")
    agent.select_option("#f-channel", "phone")
    agent.fill("#f-description", "空调不制冷，已经维修过两次，要求上门检查")
    _shot(agent, "1-new-case-form")
    agent.get_by_role("button", name="登记").click()
    agent.wait_for_url(re.compile(r"/cases/\d+$"))
    heading = agent.locator("h1").inner_text()
    number = re.search(r"TS-\d{8}-\d{4}", heading).group(0)
    instance_id = int(agent.url.rsplit("/", 1)[1])
    assert "工单 TS-20260302-" in heading
    assert agent.locator('dd[data-key="customer_name"]').inner_text() == "张伟"
    assert f"工单 {number} 已登记。" in agent.locator(".flashes").inner_text()

    live.drain()  # 建立投诉档案 runs; 分类核实并答复客户 and the deadline timers start

    # -- the handler finds it, claims it, gets the form wrong, then right -------------------
    handler = sign_in("handler")
    row = handler.locator(f'tr[data-case="{number}"]')
    assert row.count() == 1 and "张伟" in row.inner_text() and "分类核实并答复客户" in row.inner_text()
    handler.fill("#q", number)
    handler.get_by_role("button", name="搜索").click()
    handler.wait_for_url(re.compile(r"\?q=TS-"))
    expect(handler.locator("tr.task-row")).to_have_count(1)
    row.get_by_role("button", name=re.compile("^认领")).click()
    expect(handler.locator(".flashes")).to_contain_text("已认领任务。")
    expect(handler.locator(f'tr[data-case="{number}"]')).to_contain_text("handler")
    _shot(handler, "2-inbox")
    handler.locator(f'tr[data-case="{number}"] a.task-link').click()
    handler.wait_for_url(re.compile(r"/tasks/"))
    task_url = handler.url
    assert "请核实客户 张伟 的投诉" in handler.locator(".instructions").inner_text()
    handler.select_option("#f-category", "repair_quality")
    handler.check("#f-verified-1")
    handler.fill("#f-reply_to_customer", "好")
    handler.get_by_role("button", name="提交").click()
    assert handler.locator("#f-severity-error").inner_text() == "此项必填。"
    assert handler.locator("#f-reply_to_customer-error").inner_text() == "请至少输入 2 个字。"
    assert handler.locator("#f-reply_to_customer").get_attribute("aria-invalid") == "true"
    assert handler.input_value("#f-reply_to_customer") == "好"  # nothing typed is lost
    assert handler.input_value("#f-category") == "repair_quality"
    assert handler.is_checked("#f-verified-1")
    assert handler.locator("#error-summary").is_visible()
    _shot(handler, "3-task-form-errors")
    assert _open_tasks(live, instance_id)["verify_complaint"][0] == "open"

    # -- a day passes before the handler answers: the 24 h reply deadline fires --------------
    live.clock.advance(hours=25)
    live.drain()
    inbox = handler.context.new_page()
    inbox.goto(f"{live.url}/")
    overdue = inbox.locator(f'tr[data-case="{number}"]')
    assert "is-overdue" in overdue.get_attribute("class") and "已超期" in overdue.inner_text()
    _shot(inbox, "4-inbox-overdue")
    inbox.close()

    handler.check("#f-severity-1")  # 一般投诉
    handler.fill("#f-reply_to_customer", "已电话答复客户，明天安排上门")
    handler.get_by_role("button", name="提交").click()
    handler.wait_for_url(f"{live.url}/cases/{instance_id}")
    assert "任务“分类核实并答复客户”已完成。" in handler.locator(".flashes").inner_text()

    live.drain()  # 记录答复 runs; the process moves on to 分析原因确定责任
    handler.reload()
    expect(handler.locator(".case-tasks")).to_contain_text("分析原因确定责任")
    tasks = handler.locator(".case-tasks").inner_text()
    assert "分析原因确定责任" in tasks and "分类核实并答复客户" not in tasks
    timeline = handler.locator(".timeline").inner_text()
    for entry in ("登记工单", "认领任务", "时限定时器触发", "完成任务", "系统步骤完成"):
        assert entry in timeline, entry
    handler.wait_for_selector("#diagram[data-ready='true']")
    assert handler.locator('.djs-element.done[data-element-id="verify_complaint"]').count() == 1
    assert handler.locator('.djs-element.done[data-element-id="register_case"]').count() == 1
    assert handler.locator('.djs-element.active[data-element-id="analyse_complaint"]').count() == 1
    assert handler.locator('.djs-element.active[data-element-id="supervise_reply"]').count() == 1
    _shot(handler, "5-case-page")

    # -- the manager sees the escalated case and completes it --------------------------------
    manager = sign_in("manager")
    escalated = manager.locator(f'tr[data-case="{number}"]')
    assert "督办答复" in escalated.inner_text() and "张伟" in escalated.inner_text()
    escalated.locator("a.task-link").click()
    assert "收到已超过 24 小时仍未答复客户" in manager.locator(".instructions").inner_text()
    manager.fill("#f-instruction", "请今天下班前电话回访客户并上报结果")
    _shot(manager, "6-manager-task-form")
    manager.get_by_role("button", name="提交").click()
    manager.wait_for_url(f"{live.url}/cases/{instance_id}")
    assert "督办答复" not in manager.locator(".case-tasks").inner_text()
    manager.goto(f"{live.url}/")
    assert manager.locator(f'tr[data-case="{number}"]').count() == 0

    tasks = _open_tasks(live, instance_id)
    assert tasks["supervise_reply"] == ("completed", None, "manager")
    assert tasks["verify_complaint"] == ("completed", "handler", "handler")
    assert tasks["analyse_complaint"][0] == "open"
    assert live.query(lambda: db.session.get(Instance, instance_id).status) == "running"
    # the handler's old task URL now leads to the case
    handler.goto(task_url)
    assert handler.url == f"{live.url}/cases/{instance_id}"


def test_phone_layout_and_english_one_click_away(live, sign_in):
    phone = sign_in("handler", viewport={"width": 390, "height": 844})
    expect(phone.locator("h1")).to_have_text("待办")
    assert not phone.locator(".mainnav").is_visible()  # folded behind 菜单
    phone.get_by_text("菜单").click()
    assert phone.locator(".mainnav").is_visible()
    no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    assert phone.evaluate(no_sideways_scroll)
    _shot(phone, "7-phone-inbox")
    phone.get_by_role("link", name="English").click()
    expect(phone.locator("h1")).to_have_text("Inbox")
    phone.get_by_text("Menu").click()
    phone.get_by_role("link", name="My cases").click()
    expect(phone.locator("h1")).to_have_text("My cases")
    assert phone.evaluate(no_sideways_scroll)
    phone.get_by_role("link", name="中文").click()
    expect(phone.locator("h1")).to_have_text("我的工单")


def test_start_form_errors_take_the_focus(live, sign_in):
    """The error summary takes the focus, so a screen reader reads it out; input stays."""
    agent = sign_in("agent")
    agent.goto(f"{live.url}/new/complaint_handling")
    agent.fill("#f-customer_name", "李雷")
    agent.get_by_role("button", name="登记").click()
    # the focus moves when the returned page has run its script: wait for it, do not race it
    expect(agent.locator("#error-summary")).to_be_focused()
    assert agent.input_value("#f-customer_name") == "李雷"
    assert agent.locator("#f-customer_phone-error").inner_text() == "此项必填。"


def test_lines_are_added_and_removed_in_the_page(live, sign_in):
    from tests.test_ui_forms import BPMN, SCHEMA, START_SCHEMA, UI
    from webapp.engine import clock, definitions

    def deploy():
        uploads = {"all.bpmn": BPMN.encode(), "all-start-schema.json": json.dumps(START_SCHEMA).encode(),
                   "all-schema.json": json.dumps(SCHEMA).encode(), "all-uischema.json": json.dumps(UI).encode()}
        definitions.deploy(uploads, actor="owner", now=clock.now(), known_operators=set())
        db.session.commit()

    live.query(deploy)
    tech = sign_in("tech")
    tech.goto(f"{live.url}/new/ui_all_fields")
    tech.fill("#f-customer_name", "王芳")
    tech.get_by_role("button", name="登记").click()
    tech.wait_for_url(re.compile(r"/cases/\d+$"))
    instance_id = int(tech.url.rsplit("/", 1)[1])
    tech.locator("a.task-link").first.click()
    tech.fill("#f-title_text", "上门维修")
    tech.fill("#f-quantity", "1")
    tech.fill("#f-visit_date", "2026-03-05")
    tech.fill("#f-visit_at", "2026-03-05T09:30")
    tech.fill("#f-fee", "88.00")
    tech.select_option("#f-channel", "phone")
    tech.check("#f-severity-1")
    tech.check("#f-agrees-1")
    tech.check("#f-urgent")
    tech.check("#f-symptoms-2")
    tech.fill("#f-parts-0-part_no", "AB-100")
    tech.fill("#f-parts-0-qty", "2")
    add = tech.get_by_role("button", name="添加一行")
    add.click()
    add.click()
    expect(tech.locator("fieldset[data-rows] tbody tr.row-line")).to_have_count(3)
    tech.fill("#f-parts-1-part_no", "XX-999")
    tech.fill("#f-parts-2-part_no", "CD-200")
    tech.fill("#f-parts-2-qty", "1")
    tech.fill("#f-parts-2-unit_price", "19.90")
    tech.locator("fieldset[data-rows] tbody tr.row-line").nth(1).get_by_role("button", name="删除此行").click()
    assert tech.input_value("#f-parts-1-part_no") == "CD-200"  # renumbered after the removal
    _shot(tech, "8-form-with-lines")
    tech.get_by_role("button", name="提交").click()
    tech.wait_for_url(f"{live.url}/cases/{instance_id}")
    data = live.query(lambda: db.session.get(Instance, instance_id).data)
    assert data["parts"] == [{"part_no": "AB-100", "qty": 2}, {"part_no": "CD-200", "qty": 1, "unit_price": 19.9}]
    assert data["visit_at"] == "2026-03-05T01:30:00Z" and data["fee"] == 88.0 and data["urgent"] is True
    assert data["symptoms"] == ["leak"] and data["agrees"] is True
