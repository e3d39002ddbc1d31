"""The case page 工单 (data, tasks, timeline, diagram markers), the case lists, a manager's
incident retry and cancel."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_ui_support import compiled_translations, open_task, signed_in, start_complaint, text_of  # noqa: F401
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import Instance, Job
from workers import registry


def _complaint_with_an_incident(run_worker, manual_clock) -> tuple[Instance, Job]:
    """A complaint whose first system step failed every attempt."""

    def broken(session, params):
        raise RuntimeError("customer database is down")

    previous = registry.override("complaint/register_case", broken)
    try:
        instance = start_complaint(run_worker)
        for _ in range(5):
            manual_clock.advance(minutes=5)
            run_worker()
    finally:
        registry.override("complaint/register_case", previous)
    job = db.session.scalar(db.select(Job).where(Job.instance_id == instance.id, Job.bpmn_id == "register_case"))
    assert job.status == "incident"
    return instance, job


def _cases(page: str) -> list[str]:
    return re.findall(r'<tr data-case="([^"]+)">', page)


def test_case_page_shows_data_tasks_timeline_and_diagram(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker, {"serial_no": "SN-1", "customer_email": "zhang@example.com"})
    handler = signed_in(app, "handler")
    task = open_task(instance.id, "verify_complaint")
    handler.post(f"/tasks/{task.id}/claim", {"next": "/"})
    page = text_of(handler.get(f"/cases/{instance.id}"))
    # data, labelled with the start form's titles, choices shown by their titles
    for label, value in (("客户姓名", "张伟"), ("联系电话", "138 0000 0000"), ("产品串号/VIN", "SN-1"), ("投诉渠道", "电话")):
        assert f'<dt>{label}</dt><dd translate="no"' in page and f">{value}</dd>" in page, label
    assert "系统记录的数据" in page and "complaint_no" in page  # what the workers wrote, folded away
    # current tasks
    assert 'class="task-link">分类核实并答复客户</a>' in page and "认领人" in page
    # timeline: who, when, what
    timeline = page.split('class="timeline"')[1]
    entries = re.findall(r'<span class="who" translate="no">([^<]+)</span>\s*<span class="what">([^<]+)</span>', timeline)
    assert entries == [("agent", "登记工单"), ("系统", "系统步骤完成"), ("handler", "认领任务")]
    assert "建立投诉档案" in timeline and "2026-03-02 09:00" in timeline
    # the diagram and its markers
    assert f'data-src="/cases/{instance.id}/diagram.json"' in page
    assert "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page
    body = handler.get(f"/cases/{instance.id}/diagram.json").get_json()
    assert body["xml"].startswith("<?xml") and 'id="complaint_handling"' in body["xml"]
    assert {"start", "register_case", "split_watch"} <= set(body["completed"])
    assert {"verify_complaint", "reply_24h", "wait_48h"} <= set(body["active"])
    assert not set(body["completed"]) & set(body["active"])
    assert handler.get("/cases/999/diagram.json").status_code == 404


def test_my_cases_and_all_cases_with_search_and_status(app, users, deployed_complaints, run_worker):
    mine = start_complaint(run_worker, actor="agent")
    other = start_complaint(run_worker, {"customer_name": "李娜"}, actor="admin")
    agent = signed_in(app, "agent")
    assert _cases(text_of(agent.get("/cases"))) == [mine.business_key]
    assert sorted(_cases(text_of(agent.get("/cases?scope=all")))) == sorted([mine.business_key, other.business_key])
    assert _cases(text_of(agent.get("/cases?scope=all&q=李娜"))) == [other.business_key]
    assert _cases(text_of(agent.get(f"/cases?scope=all&q={mine.business_key}"))) == [mine.business_key]
    assert _cases(text_of(agent.get("/cases?scope=all&status=completed"))) == []
    # the handler's "my cases" gains the case once they complete a task in it
    handler = signed_in(app, "handler")
    assert _cases(text_of(handler.get("/cases"))) == []
    task = open_task(other.id, "verify_complaint")
    verify = {"category": "parts", "severity": "normal", "verified": "true", "reply_to_customer": "已答复"}
    handler.post(f"/tasks/{task.id}", verify)
    assert _cases(text_of(handler.get("/cases"))) == [other.business_key]
    page = text_of(agent.get("/cases?scope=all"))
    assert "处理中" in page and "2026-03-02 09:00" in page and "客户投诉处理" in page


def test_manager_retries_an_incident_from_the_case_page(app, users, deployed_complaints, run_worker, manual_clock):
    instance, job = _complaint_with_an_incident(run_worker, manual_clock)
    handler = signed_in(app, "handler")
    page = text_of(handler.get(f"/cases/{instance.id}"))
    assert "需要处理的系统步骤" in page and "customer database is down" in page and "/retry" not in page
    assert handler.post(f"/jobs/{job.id}/retry").status_code == 403
    manager = signed_in(app, "manager")
    page = text_of(manager.get(f"/cases/{instance.id}"))
    assert f'action="/jobs/{job.id}/retry"' in page
    r = manager.post(f"/jobs/{job.id}/retry")
    assert r.status_code == 302 and r.headers["Location"] == f"/cases/{instance.id}"
    run_worker()
    page = text_of(manager.get(f"/cases/{instance.id}"))
    assert "系统步骤将重新执行。" in page and "需要处理的系统步骤" not in page
    assert "系统步骤已重试" in page and "分类核实并答复客户" in page
    manager.post(f"/jobs/{job.id}/retry")
    assert "此系统步骤不需要重试。" in text_of(manager.get(f"/cases/{instance.id}"))


@pytest.mark.parametrize("who, allowed", [("handler", False), ("manager", True)])
def test_only_managers_cancel_a_case_with_a_reason(app, users, deployed_complaints, run_worker, who, allowed):
    instance = start_complaint(run_worker)
    client = signed_in(app, who)
    page = text_of(client.get(f"/cases/{instance.id}"))
    assert ("取消此工单" in page) is allowed
    if not allowed:
        assert client.post(f"/cases/{instance.id}/cancel", {"reason": "客户撤诉"}).status_code == 403
        return
    client.post(f"/cases/{instance.id}/cancel", {"reason": " "})
    assert "请填写取消工单的原因。" in text_of(client.get(f"/cases/{instance.id}"))
    r = client.post(f"/cases/{instance.id}/cancel", {"reason": "客户撤诉"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).status == "cancelled"
    page = text_of(client.get(f"/cases/{instance.id}"))
    assert "工单已取消。" in page and "已取消" in page and "客户撤诉" in page
    assert runtime  # cancelling went through the engine: the open task is gone from every inbox
    assert "目前没有待办任务。" in text_of(signed_in(app, "handler").get("/"))


def test_manager_completes_an_incident_with_a_value_from_the_incident_list(
    app, users, deployed_complaints, run_worker, manual_clock
):
    instance, job = _complaint_with_an_incident(run_worker, manual_clock)
    assert signed_in(app, "handler").get("/incidents").status_code == 403
    manager = signed_in(app, "manager")
    page = text_of(manager.get("/incidents"))
    assert "故障" in page and instance.business_key in page and "customer database is down" in page
    assert "建立投诉档案" in page  # the step by its name in the diagram

    r = manager.post(f"/jobs/{job.id}/skip", {"result": "not json"})
    assert r.status_code == 302
    assert "必须是 JSON" in text_of(manager.get("/incidents"))
    db.session.rollback()
    assert db.session.get(Job, job.id).status == "incident"

    value = json.dumps({"complaint_no": instance.business_key, "customer_id": 0, "case_id": 0})
    r = manager.post(f"/jobs/{job.id}/skip", {"result": value})
    assert r.status_code == 302 and r.headers["Location"] == "/incidents"
    page = text_of(manager.get("/incidents"))
    assert "已用您填写的值完成该系统步骤。" in page and "没有故障" in page
    db.session.rollback()
    refreshed = db.session.get(Instance, instance.id)
    assert refreshed.data["case"]["customer_id"] == 0
    assert open_task(instance.id, "verify_complaint") is not None
    types = [e["type"] for e in users["admin"].get(f"/api/process-instances/{instance.id}/history").get_json()]
    assert types[-2:] == ["incident_skipped", "service_completed"]


def test_pager_keeps_the_filters_on_every_page(app):
    from flask import render_template_string

    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "_pager.html" import pager with context %}{{ pager("ui.cases", 2, 3, {"scope": "all", "q": "王"}) }}'
        )
    assert 'href="/cases?page=1&amp;scope=all&amp;q=%E7%8E%8B" rel="prev"' in html
    assert 'href="/cases?page=3&amp;scope=all&amp;q=%E7%8E%8B" rel="next"' in html
    one_page = '{% from "_pager.html" import pager with context %}{{ pager("ui.cases", 1, 1, {}) }}'
    with app.test_request_context("/"):
        assert "nav" not in render_template_string(one_page)
