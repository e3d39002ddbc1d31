"""Issue 18: the API reference (/api/docs, Swagger UI from npm) renders in Chromium under the
Content-Security-Policy, with no console error and no request leaving this site."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_every_operation(browser, live):
    context = browser.new_context()
    try:
        page = context.new_page()
        problems: list[str] = []
        foreign: list[str] = []
        page.on("console", lambda msg: problems.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda err: problems.append(f"pageerror: {err}"))
        page.on("request", lambda req: None if req.url.startswith(live.url) or req.url.startswith("data:")
                else foreign.append(req.url))
        response = page.goto(f"{live.url}/api/docs")
        assert response is not None and response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector(".opblock-summary-path", timeout=15_000)
        page.wait_for_load_state("networkidle")
        paths = {p.replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()}
        assert {"/api/process-instances", "/api/tasks/{task_id}/complete", "/api/kpis"} <= paths
        assert page.locator(".btn.authorize").count() == 1  # the bearer scheme is offered
        assert problems == []
        assert foreign == []
    finally:
        context.close()
