"""Issue 11: the Content-Security-Policy lets every page and the modeler (bpmn-js, dmn-js,
the properties panel, Chart.js) work: Chromium reports no CSP violation and no script error
on any of them, for every audience."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.accounts import create_user
from webapp.engine import clock, definitions, runtime
from webapp.extensions import db
from webapp.models import InboxTask
from workers import registry

pytestmark = pytest.mark.browser
PROCESSES = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture(scope="module")
def world(live):
    def setup():
        definitions.deploy_directory(PROCESSES, actor="cli", now=clock.now(), known_operators=registry.names())
        create_user("csp_owner", "pw-csp_owner", ["process_owner"])
        create_user("csp_auditor", "pw-csp_auditor", ["auditor"])
        create_user("csp_admin", "pw-csp_admin", ["admin"])
        db.session.commit()
        instance = runtime.start_instance("complaint_handling", {"customer_name": "张伟", "customer_phone": "13800000000",
                                                                 "channel": "phone", "description": "空调不制冷"},
                                          actor="agent")
        return instance.id

    instance_id = live.query(setup)
    live.drain()
    task_id = live.query(lambda: db.session.scalar(db.select(InboxTask.id).where(
        InboxTask.instance_id == instance_id, InboxTask.state == "open")))
    return {"instance": instance_id, "task": task_id}


def _watch(page) -> list[str]:
    """Console messages and page errors that say the policy blocked something."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
    page.on("pageerror", lambda err: problems.append(f"pageerror: {err}"))
    return problems


def _visit(page, url: str, ready: str | None = None) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    if ready:
        page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")


def test_no_csp_violation_on_the_pages(live, sign_in, world):
    pages = {
        "handler": ["/", "/new", "/cases?scope=all", f"/cases/{world['instance']}", f"/tasks/{world['task']}", "/me"],
        "csp_admin": ["/admin/users", "/admin/users/new", "/incidents", "/new/complaint_handling", "/dashboard/",
                      "/dashboard/processes", "/dashboard/report?month=2026-03"],
        "csp_auditor": ["/audit/", f"/audit/cases/{world['instance']}", f"/audit/cases/{world['instance']}/report",
                        "/audit/system-log", "/audit/deadlines?from=2026-03-01&to=2026-03-31", "/audit/checkpoints"],
    }
    for who, urls in pages.items():
        page = sign_in(who)
        problems = _watch(page)
        for url in urls:
            _visit(page, f"{live.url}{url}")
        assert problems == [], (who, problems)


def test_no_csp_violation_in_the_modeler_and_the_decision_table_editor(live, sign_in, world):
    page = sign_in("csp_owner")
    problems = _watch(page)
    _visit(page, f"{live.url}/processes/")
    _visit(page, f"{live.url}/processes/warranty_claim/modeler", "body[data-modeler-ready=true]")
    select = ("(type) => { const m = window.aftersalesModeler.modeler; "
              "m.get('selection').select(m.get('elementRegistry').filter(e => e.type === type)[0]); }")
    for element_type in ("bpmn:ServiceTask", "bpmn:UserTask", "bpmn:BusinessRuleTask", "bpmn:Lane"):
        page.evaluate(select, element_type)
    page.get_by_role("tab", name="决策表").click()
    page.wait_for_selector("#dmn-canvas[data-ready]")
    assert page.locator("#dmn-canvas .tjs-table, #dmn-canvas .djs-container").count() >= 1
    _visit(page, f"{live.url}/processes/new", "body[data-modeler-ready=true]")
    _visit(page, f"{live.url}/processes/complaint_handling/diff?a=1&b=1")
    assert problems == [], problems
