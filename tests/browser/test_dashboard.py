"""Acceptance 2 of the KPI issue in a real browser (Playwright + Debian's Chromium): an
after-sales manager opens the dashboard, sees the 24 h reply target missed with its trend
chart, changes the period (and back), clicks through to the complaint behind the missed
target and opens its case page; then the process monitoring heat map and the monthly report.
Screenshots go to test-artifacts/dashboard-*.png."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.complaint_driver import REGISTER, VERIFY
from webapp.accounts import create_user, issue_token
from webapp.extensions import db
from webapp.models import User

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


class Api:
    """The JSON API of the live app, in process (the same database as the browser's server)."""

    def __init__(self, live) -> None:
        self.live = live
        self.client = live.app.test_client()

        def token():
            user = db.session.scalar(db.select(User).where(User.username == "kpi-admin"))
            user = user or create_user("kpi-admin", "pw-kpi-admin", ["admin"])
            db.session.commit()
            return issue_token(user)

        self.token = live.query(token)

    def call(self, method: str, url: str, body: dict | None = None) -> dict:
        response = self.client.open(url, method=method, headers={"Authorization": f"Bearer {self.token}"},
                                    data=json.dumps(body) if body is not None else None,
                                    content_type="application/json")
        assert response.status_code in (200, 201), (url, response.get_json())
        return response.get_json()

    def complaint(self, name: str) -> tuple[int, str]:
        body = self.call("POST", "/api/process-instances", {"process_key": "complaint_handling",
                                                            "data": {**REGISTER, "customer_name": name}})
        self.live.drain()
        return body["id"], body["business_key"]

    def reply(self, instance_id: int) -> None:
        tasks = {t["bpmn_id"]: t for t in self.call("GET", f"/api/tasks?instance_id={instance_id}")}
        self.call("POST", f"/api/tasks/{tasks['verify_complaint']['id']}/complete", {"data": VERIFY})
        self.live.drain()


def test_manager_finds_the_cases_behind_a_missed_target(live, sign_in):
    api = Api(live)
    on_time, _on_time_no = api.complaint("按时答复")
    live.clock.advance(hours=2)
    api.reply(on_time)
    late, late_no = api.complaint("超时答复")
    live.clock.advance(hours=24, seconds=1)
    live.drain()  # the 24 h timer fires: escalated to the manager
    api.reply(late)

    manager = sign_in("manager")
    manager.get_by_role("link", name="管理看板").click()
    manager.wait_for_url(re.compile(r"/dashboard/$"))
    card = manager.locator("#kpi-reply_24h_rate")
    assert card.locator(".value").inner_text() == "50.0 %"
    assert "2 件中 1 件达成" in card.inner_text() and "未达成目标" in card.inner_text()
    manager.wait_for_selector("#chart-reply_24h_rate[data-ready=true]")
    assert manager.locator("#chart-reply_24h_rate").get_attribute("data-points") == "1"
    _shot(manager, "1-this-month")

    # another period: February has no complaints
    manager.fill("#from", "2026-02-01")
    manager.fill("#to", "2026-02-28")
    manager.get_by_role("button", name="显示").click()
    manager.wait_for_url(re.compile(r"from=2026-02-01&to=2026-02-28"))
    assert manager.locator("#kpi-reply_24h_rate .value").inner_text() == "—"
    assert "暂无工单" in manager.locator("#kpi-reply_24h_rate").inner_text()
    _shot(manager, "2-february")

    # back to this month with the quick link, then to the cases that missed the 24 h reply
    manager.get_by_role("link", name="本月").click()
    manager.wait_for_url(re.compile(r"from=2026-03-01&to=2026-03-31"))
    manager.locator("#kpi-reply_24h_rate").get_by_role("link", name="未达成的工单").click()
    manager.wait_for_url(re.compile(r"/dashboard/figures/reply_24h_rate\?.*outcome=missed"))
    rows = manager.locator("table.kpi-cases-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-case") == late_no
    assert "已上报" in rows.first.inner_text()
    _shot(manager, "3-missed-cases")
    rows.first.get_by_role("link", name=late_no).click()
    manager.wait_for_url(re.compile(rf"/cases/{late}$"))
    assert late_no in manager.locator("h1").inner_text()
    _shot(manager, "4-case")

    # process monitoring: the heat map of complaint handling
    manager.goto(f"{live.url}/dashboard/processes")
    assert manager.locator("#versions tr[data-key=complaint_handling]").count() == 1
    manager.locator("#versions tr[data-key=complaint_handling]").get_by_role("link", name="热力图").click()
    manager.wait_for_selector("#heatmap[data-ready=true]")
    assert "verify_complaint" in manager.locator("#heatmap").get_attribute("data-elements")
    assert manager.locator(".heat-badge[data-element=verify_complaint]").count() == 1
    _shot(manager, "5-heat-map")

    # the monthly report of March, printable, with its PDF
    manager.goto(f"{live.url}/dashboard/report?month=2026-03")
    assert "月度服务报告 2026-03" in manager.locator("h1").inner_text()
    with manager.expect_download() as download:
        manager.locator("#report-pdf").click()
    assert download.value.suggested_filename == "service-report-2026-03.pdf"
    _shot(manager, "6-monthly-report")
