"""The small things staff noticed: a favicon, replay's 下一步 that does not point at itself on
the last step, one charset in the CSV's Content-Type, the monthly report opening on the current
month, and no 新建 in the menu for people who can start nothing."""

from __future__ import annotations

import re

from tests import test_audit_support as support
from tests.test_ui_support import compiled_translations, signed_in, text_of  # noqa: F401

audit_template, world = support.audit_template, support.world  # the fixtures


def test_favicon_and_new_case_only_for_who_may_start(app, users, deployed_complaints):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon" and response.data[:4] == b"\0\0\1\0"
    assert 'href="/new"' in text_of(signed_in(app, "agent").get("/"))
    assert 'href="/new"' not in text_of(signed_in(app, "auditor").get("/"))


def test_replay_last_step_csv_type_and_report_month(world):
    auditor = world.web("auditor")
    t = world.template
    last = text_of(auditor.get(f"/audit/cases/{t.finished}"))
    assert re.search(r'id="step-next" rel="next" aria-disabled="true" hidden', last)
    first = text_of(auditor.get(f"/audit/cases/{t.finished}?step=1"))
    assert not re.search(r'id="step-next"[^>]*hidden', first) and re.search(r'id="step-prev"[^>]*hidden', first)
    csv = auditor.get(f"/audit/cases/{t.finished}/export.csv")
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    manager = world.web("manager")
    report = text_of(manager.get("/dashboard/report"))
    from webapp.engine import clock
    from webapp.kpi.period import china_date

    assert china_date(clock.now()).strftime("%Y-%m") in report


def test_system_registrar_and_processes_by_name_in_both_languages(app, users, deployed_complaints, run_worker):
    """A case the system opened says 登记人 系统 / Registered by System (not "system"), and process
    monitoring lists processes by their name (translated), not by their key."""
    from tests.test_ui_support import start_complaint

    instance = start_complaint(run_worker, actor="worker:followups")
    manager = signed_in(app, "manager")
    page = text_of(manager.get(f"/cases/{instance.id}"))
    assert re.search(r"登记人\s*<span[^>]*>系统</span>", page), page
    monitoring = text_of(manager.get("/dashboard/processes"))
    assert "<td>客户投诉处理</td>" in monitoring and "<td>complaint_handling</td>" not in monitoring
    manager.get("/lang/en")
    page = text_of(manager.get(f"/cases/{instance.id}"))
    assert re.search(r"Registered by\s*<span[^>]*>System</span>", page)
    monitoring = text_of(manager.get("/dashboard/processes"))
    assert "<td>Customer complaint handling</td>" in monitoring and "客户投诉处理" not in monitoring


def test_open_is_translated_as_open_not_as_not_yet_due():
    from babel.messages.pofile import read_po

    from tests.test_ui_i18n import CATALOGS

    catalog = read_po((CATALOGS["zh_CN"] / "LC_MESSAGES" / "messages.po").open("rb"))
    assert catalog["Open"].string == "打开"
