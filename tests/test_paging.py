"""Paged lists (my cases / all cases, the auditors' case list, the system log): any page number
someone types into the address is clamped to a page that exists, never a 500."""

from __future__ import annotations

import re

import pytest

from tests.test_ui_support import compiled_translations, signed_in, start_complaint, text_of  # noqa: F401
from webapp.audit import views as audit_views
from webapp.ui import cases as case_views

ODD_PAGES = {"-3": 1, "0": 1, "abc": 1, "1.5": 1, "": 1, "2": 2, "3": 3, "4": 3, str(10**30): 3, "99999999999": 3}


@pytest.fixture
def three_pages(monkeypatch, app, users, deployed_complaints, run_worker):
    monkeypatch.setattr(case_views, "PAGE_SIZE", 2)
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    return [start_complaint(run_worker).business_key for _ in range(5)]  # newest last


def _rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr [^>]*{attribute}="([^"]+)"', html)


@pytest.mark.parametrize("path", ["/cases?scope=all", "/audit/"])
def test_case_lists_clamp_any_page_number(app, three_pages, path):
    newest_first = three_pages[::-1]
    client = signed_in(app, "admin")
    for raw, page in ODD_PAGES.items():
        response = client.get(f"{path}{'&' if '?' in path else '?'}page={raw}")
        assert response.status_code == 200, raw
        html = text_of(response)
        assert _rows(html, "data-case") == newest_first[(page - 1) * 2:page * 2], raw
        assert f"第 {page} 页，共 3 页" in html, raw


def test_system_log_clamps_any_page_number(app, users, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    for _ in range(3):
        signed_in(app, "auditor")  # each sign-in is a system log entry
    client = signed_in(app, "auditor")
    first = text_of(client.get("/audit/system-log"))
    pages = int(re.search(r"第 1 页，共 (\d+) 页", first).group(1))
    assert pages >= 2
    for raw in ("-1", "abc", str(10**30), str(pages + 5)):
        response = client.get(f"/audit/system-log?page={raw}")
        assert response.status_code == 200, raw
        expected = 1 if raw in ("-1", "abc") else pages
        assert f"第 {expected} 页，共 {pages} 页" in text_of(response), raw
