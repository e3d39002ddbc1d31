"""Inbox 待办, claiming, assigning, drafts, validation on the complaint forms, the next task."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.test_ui_support import compiled_translations, open_task, signed_in, start_complaint, text_of  # noqa: F401
from webapp.accounts import create_user
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import HistoryEvent, InboxTask

VERIFY_OK = {"category": "parts", "severity": "normal", "verified": "true", "reply_to_customer": "已电话答复客户"}


@pytest.fixture
def handler2(app, users):
    create_user("handler2", "pw-handler2", ["complaint_handler"], display_name="李四")
    db.session.commit()
    return signed_in(app, "handler2")


def _rows(page: str) -> list[str]:
    """Case numbers of the inbox rows, in order."""
    return re.findall(r'<tr class="task-row[^"]*" data-task-id="[^"]+" data-case="([^"]+)"', page)


def _complete(instance_id: int, bpmn_id: str, data: dict, run_worker, actor: str = "handler", roles=("complaint_handler",)):
    row = open_task(instance_id, bpmn_id)
    runtime.complete_user_task(row.id, data, actor=actor, roles=set(roles))
    run_worker()


def test_inbox_shows_the_tasks_of_my_lanes(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    handler = signed_in(app, "handler")
    page = text_of(handler.get("/"))
    assert _rows(page) == [instance.business_key]
    for column in ("分类核实并答复客户", "张伟", "客户投诉处理", "2026-03-03 09:00", "刚刚", "客户投诉处理组"):
        assert column in page, column
    agent = signed_in(app, "agent")
    assert _rows(text_of(agent.get("/"))) == []
    manager = signed_in(app, "manager")
    assert _rows(text_of(manager.get("/"))) == []
    assert _rows(text_of(manager.get("/?scope=team"))) == [instance.business_key]
    # the team view is for managers only: others get their own lanes
    assert _rows(text_of(agent.get("/?scope=team"))) == []
    admin = signed_in(app, "admin")
    assert _rows(text_of(admin.get("/"))) == [instance.business_key]


def test_inbox_search_by_case_number_or_customer_and_filters(app, users, deployed_complaints, run_worker):
    first = start_complaint(run_worker)
    second = start_complaint(run_worker, {"customer_name": "Wang Fang", "customer_phone": "139 1111 2222"})
    handler = signed_in(app, "handler")
    assert sorted(_rows(text_of(handler.get("/")))) == sorted([first.business_key, second.business_key])
    assert _rows(text_of(handler.get("/?q=张"))) == [first.business_key]
    assert _rows(text_of(handler.get("/?q=wang"))) == [second.business_key]  # case-insensitive
    assert _rows(text_of(handler.get(f"/?q={second.business_key}"))) == [second.business_key]
    assert _rows(text_of(handler.get("/?q=nobody"))) == []
    assert "没有符合筛选条件的任务。" in text_of(handler.get("/?q=nobody"))
    assert len(_rows(text_of(handler.get("/?process=complaint_handling")))) == 2
    assert _rows(text_of(handler.get("/?process=other"))) == []
    handler.post(f"/tasks/{open_task(second.id, 'verify_complaint').id}/claim", {"next": "/"})
    assert _rows(text_of(handler.get("/?show=claimed"))) == [second.business_key]
    assert _rows(text_of(handler.get("/?show=unclaimed"))) == [first.business_key]


def test_overdue_tasks_come_first_and_are_marked(app, users, deployed_complaints, run_worker, manual_clock):
    early = start_complaint(run_worker)
    manual_clock.advance(hours=3)
    late = start_complaint(run_worker, {"customer_name": "赵六"})
    handler = signed_in(app, "handler")
    manual_clock.advance(hours=22)  # early's 24 h reply deadline has passed, late's has not
    page = text_of(handler.get("/"))
    assert _rows(page) == [early.business_key, late.business_key]
    early_row = page.split(f'data-case="{early.business_key}"')[0].rsplit("<tr", 1)[1]
    assert "is-overdue" in early_row
    assert page.count('<span class="badge badge-overdue">已超期</span>') == 1
    assert "25小时" in page  # the age of the early task


def test_claim_release_and_a_claimed_task_cannot_be_completed_by_another(app, users, deployed_complaints, run_worker, handler2):
    instance = start_complaint(run_worker)
    task_id = open_task(instance.id, "verify_complaint").id
    handler = signed_in(app, "handler")
    r = handler.post(f"/tasks/{task_id}/claim", {"next": "/"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "已认领任务。" in text_of(handler.get("/"))
    assert db.session.get(InboxTask, task_id).assignee == "handler"
    # the other handler no longer sees it, and cannot take or complete it
    assert _rows(text_of(handler2.get("/"))) == []
    page = text_of(handler2.get(f"/tasks/{task_id}"))
    assert "认领人" in page and "您可以查看此任务，但不能处理。" in page and 'value="submit"' not in page
    r = handler2.post(f"/tasks/{task_id}", VERIFY_OK)
    assert r.status_code == 409
    assert "此任务已被 handler 认领" in text_of(r)
    assert 'value="已电话答复客户"' in text_of(r) or ">已电话答复客户</textarea>" in text_of(r)  # input kept
    r = handler2.post(f"/tasks/{task_id}/claim", {"next": "/"})
    assert "此任务已被 handler 认领" in text_of(handler2.get("/"))
    assert handler2.post(f"/tasks/{task_id}/release", {"next": "/"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).state == "open"
    # release, then the other may claim and complete
    handler.post(f"/tasks/{task_id}/release", {"next": "/"})
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).assignee is None
    handler2.post(f"/tasks/{task_id}/claim", {"next": "/"})
    r = handler2.post(f"/tasks/{task_id}", VERIFY_OK)
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).completed_by == "handler2"
    types = [e.type for e in db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.instance_id == instance.id))]
    assert types.count("task_claimed") == 2 and "task_released" in types


def test_manager_assigns_to_a_person_holding_the_role(app, users, deployed_complaints, run_worker, handler2):
    instance = start_complaint(run_worker)
    task_id = open_task(instance.id, "verify_complaint").id
    manager = signed_in(app, "manager")
    page = text_of(manager.get("/?scope=team"))
    menu = page.split(f'id="assign-{task_id}"')[1].split("</select>")[0]
    assert 'value="handler"' in menu and 'value="handler2"' in menu and 'value="tech"' not in menu
    r = manager.post(f"/tasks/{task_id}/assign", {"username": "tech", "next": "/?scope=team"})
    assert r.status_code == 302
    assert "没有此任务所需的角色" in text_of(manager.get("/?scope=team"))
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).assignee is None
    manager.post(f"/tasks/{task_id}/assign", {"username": "handler2", "next": "/?scope=team"})
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).assignee == "handler2"
    assert _rows(text_of(handler2.get("/?show=claimed"))) == [instance.business_key]
    # a manager may also release it; a handler may not assign
    handler = signed_in(app, "handler")
    assert handler.post(f"/tasks/{task_id}/assign", {"username": "handler"}).status_code == 403
    manager.post(f"/tasks/{task_id}/release", {"next": "/"})
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).assignee is None


def test_invalid_submission_keeps_input_and_shows_errors_beside_fields(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    task_id = open_task(instance.id, "verify_complaint").id
    handler = signed_in(app, "handler")
    r = handler.post(f"/tasks/{task_id}", {"category": "parts", "verified": "false", "reply_to_customer": "好",
                                           "verification_notes": "查看了维修记录"})
    assert r.status_code == 422
    page = text_of(r)
    assert '<p class="field-error" id="f-severity-error" data-field="severity">此项必填。</p>' in page
    assert '<p class="field-error" id="f-reply_to_customer-error" data-field="reply_to_customer">请至少输入 2 个字。</p>' in page
    assert 'aria-describedby="f-reply_to_customer-help f-reply_to_customer-error" aria-invalid="true"' in page
    assert '<option value="parts" selected>配件供应</option>' in page
    assert 'value="false" checked' in page
    assert ">查看了维修记录</textarea>" in page and ">好</textarea>" in page
    assert '<a href="#f-severity">投诉等级</a>: 此项必填。' in page  # the summary links to the field
    db.session.expire_all()
    assert db.session.get(InboxTask, task_id).state == "open"


def test_draft_is_saved_and_refills_the_form(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    task_id = open_task(instance.id, "verify_complaint").id
    handler = signed_in(app, "handler")
    r = handler.post(f"/tasks/{task_id}", {"category": "price", "reply_to_customer": "稍后回电", "_action": "draft"})
    assert r.status_code == 302 and r.headers["Location"] == f"/tasks/{task_id}"
    page = text_of(handler.get(f"/tasks/{task_id}"))
    assert "草稿已保存" in page and "此任务已有草稿。" in page
    assert '<option value="price" selected>收费</option>' in page and ">稍后回电</textarea>" in page
    assert '<span class="badge">草稿</span>' in text_of(handler.get("/"))
    db.session.expire_all()
    row = db.session.get(InboxTask, task_id)
    assert row.draft == {"category": "price", "reply_to_customer": "稍后回电"} and row.state == "open"
    # completing still validates everything
    assert handler.post(f"/tasks/{task_id}", {"category": "price", "reply_to_customer": "稍后回电"}).status_code == 422


def test_after_submit_the_next_task_of_the_case_opens(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    _complete(instance.id, "verify_complaint", {"category": "parts", "severity": "normal", "verified": True,
                                                "reply_to_customer": "已答复"}, run_worker)
    _complete(instance.id, "analyse_complaint", {"cause": "配件缺货", "responsible_department": "logistics",
                                                 "resolvable": True}, run_worker)
    _complete(instance.id, "propose_solution", {"solution": "加急调货"}, run_worker)
    confirm = open_task(instance.id, "confirm_with_customer")
    handler = signed_in(app, "handler")
    r = handler.post(f"/tasks/{confirm.id}", {"customer_agrees": "true"})
    carry_out = open_task(instance.id, "carry_out_solution")
    assert r.status_code == 302 and r.headers["Location"] == f"/tasks/{carry_out.id}"
    page = text_of(handler.get(r.headers["Location"]))
    assert "任务“与客户确认方案”已完成。" in page and "<h1>实施解决方案</h1>" in page
    # with nothing left for this person, the case page opens
    r = handler.post(f"/tasks/{carry_out.id}", {"action_taken": "已调货并更换"})
    notify = open_task(instance.id, "notify_and_confirm")
    assert r.headers["Location"] == f"/tasks/{notify.id}"
    r = handler.post(f"/tasks/{notify.id}", {"satisfied": "true", "satisfaction_score": "5"})
    assert r.headers["Location"] == f"/cases/{instance.id}"
    run_worker()
    page = text_of(handler.get(f"/cases/{instance.id}"))
    assert "已完成" in page and "此工单已结束。" in page


def test_completed_task_url_leads_to_the_case(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker)
    task_id = open_task(instance.id, "verify_complaint").id
    handler = signed_in(app, "handler")
    handler.post(f"/tasks/{task_id}", VERIFY_OK)
    r = handler.get(f"/tasks/{task_id}")
    assert r.status_code == 302 and r.headers["Location"] == f"/cases/{instance.id}"
    r = handler.post(f"/tasks/{task_id}", VERIFY_OK)
    assert r.status_code == 409 and "此任务已处理或已取消。" in text_of(r)
    assert handler.get("/tasks/no-such-task").status_code == 404


def test_saved_filter_follow_up_date_and_count_badge(app, users, deployed_complaints, run_worker, manual_clock):
    """A person saves an inbox search under a name and finds it again; a follow-up date on a
    task marks it in the inbox (due from that day on); the menu counts the open tasks."""
    instance = start_complaint(run_worker)
    task = open_task(instance.id, "verify_complaint")
    handler = signed_in(app, "handler")
    page = text_of(handler.get("/"))
    assert re.search(r'data-inbox-count[^>]*>\s*1\s*<', page), "the menu counts one open task"
    r = handler.post("/inbox/filters", {"name": "王芳的投诉", "q": "王芳", "scope": "mine"})
    assert r.status_code == 302 and "q=" in r.headers["Location"]
    page = text_of(handler.get("/"))
    link = re.search(r'<a href="([^"]+)" translate="no">王芳的投诉</a>', page)
    assert link and "q=%E7%8E%8B%E8%8A%B3" in link.group(1)
    assert instance.business_key in text_of(handler.get(link.group(1).replace("&amp;", "&")))
    assert "王芳的投诉" not in text_of(signed_in(app, "manager").get("/"))  # one's own filters only
    tomorrow = (manual_clock.now().date() + timedelta(days=1)).isoformat()
    assert handler.post(f"/tasks/{task.id}/follow-up", {"on": tomorrow}).status_code == 302
    page = text_of(handler.get("/"))
    assert f'class="badge badge-follow" data-follow-up="{tomorrow}"' in page
    manual_clock.advance(days=2)
    assert f'class="badge badge-follow is-due" data-follow-up="{tomorrow}"' in text_of(handler.get("/"))
    r = handler.post(f"/tasks/{task.id}/follow-up", {"on": "明天"})
    assert "请输入日期（年-月-日）。" in text_of(handler.get(r.headers["Location"]))
