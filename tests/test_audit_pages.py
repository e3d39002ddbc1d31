"""The auditors' pages over HTTP: the replay of a finished complaint step by step (marks,
data and what changed, who, when, deadlines at that moment), verify, the exports, the report
and its sign-off, the deadline audit; auditors read every case and change nothing."""

from __future__ import annotations

import csv
import io
import json
import re

from tests import test_audit_support as support
from tests.complaint_driver import REGISTER, VERIFY
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import HistoryEvent, SystemLogEvent

# What the template's finished complaint went through, event by event: (actor, type, element,
# the elements active after it, the data keys it changed).
FINISHED = [
    # the start form's defaults (issue 14: related work order, 客户诉求, staff member, source case) are data too
    ("agent", "instance_started", None, {"register_case"},
     set(REGISTER) | {"business_key", "related_order_no", "customer_demand", "staff_member", "source_case_no"}),
    ("worker:audit-test-worker", "service_completed", "register_case", {"verify_complaint", "reply_24h", "wait_48h"}, {"case"}),
    ("scheduler", "timer_fired", None, {"escalate_24h", "verify_complaint", "wait_48h"}, set()),
    ("worker:audit-test-worker", "service_completed", "escalate_24h", {"supervise_reply", "verify_complaint", "wait_48h"},
     {"escalation_24h"}),
    ("handler", "task_completed", "verify_complaint", {"record_reply", "supervise_reply", "wait_48h"}, set(VERIFY)),
    ("worker:audit-test-worker", "service_completed", "record_reply", {"analyse_complaint", "supervise_reply", "wait_48h"},
     {"reply_log"}),
    ("handler", "task_completed", "analyse_complaint", {"propose_solution", "supervise_reply", "wait_48h"},
     {"cause", "resolvable", "responsible_department"}),
    ("handler", "task_completed", "propose_solution", {"confirm_with_customer", "supervise_reply", "wait_48h"}, {"solution"}),
    ("handler", "task_completed", "confirm_with_customer", {"carry_out_solution", "supervise_reply", "wait_48h"},
     {"customer_agrees", "customer_comment"}),
    ("handler", "task_completed", "carry_out_solution", {"notify_and_confirm", "supervise_reply", "wait_48h"},
     {"action_taken", "open_case"}),
    ("handler", "task_completed", "notify_and_confirm", {"close_case", "supervise_reply", "wait_48h"},
     {"customer_feedback", "satisfaction_score", "satisfied", "next_step"}),
    ("worker:audit-test-worker", "service_completed", "close_case", {"start_survey", "supervise_reply", "wait_48h"}, {"closing"}),
    ("worker:audit-test-worker", "service_completed", "start_survey", set(), {"survey"}),
]

audit_template, world = support.audit_template, support.world  # the fixtures


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_replay_steps_match_what_happened(world):
    auditor = world.web("auditor")
    body = auditor.get(f"/audit/cases/{world.template.finished}/steps.json").get_json()
    steps = body["steps"]
    assert body["failed_seq"] is None and [s["seq"] for s in steps] == list(range(1, len(FINISHED) + 1))
    done_so_far: set[str] = set()
    for step, (actor, kind, element, active, changed) in zip(steps, FINISHED, strict=True):
        assert (step["actor"], step["type"], step["bpmn_id"]) == (actor, kind, element), step["seq"]
        assert set(step["active"]) == active, step["seq"]
        assert set(step["changed"]) == changed, step["seq"]
        if element:
            done_so_far.add(element)
        assert done_so_far <= set(step["completed"]), step["seq"]
        assert not set(step["completed"]) & set(step["active"])
    assert steps[4]["data"]["severity"] == VERIFY["severity"] and "severity" not in steps[3]["data"]
    assert steps[-1]["data"]["customer_name"] == REGISTER["customer_name"]


def test_replay_page_shows_each_step(world):
    auditor = world.web("auditor")
    t = world.template
    page = text_of(auditor.get(f"/audit/cases/{t.finished}"))
    assert "TS-" in page and 'id="step-slider"' in page
    assert f'max="{len(FINISHED)}"' in page and f'value="{len(FINISHED)}"' in page  # the last step by default
    assert page.count('class="event') == len(FINISHED)
    # step 5: the handler's verification, 30 h after registration: who, when, what was entered, what changed
    panel = text_of(auditor.get(f"/audit/cases/{t.finished}?step=5"))
    assert 'data-seq="5"' in panel and 'aria-current="step"' in panel
    assert re.search(r'data-active="record_reply supervise_reply wait_48h"', panel)
    assert "2026-03-03 15:00" in panel and ">handler<" in panel
    assert re.search(r'<dd data-key="severity" class="changed">.*?</dd>', panel, re.S)
    assert not re.search(r'<dd data-key="customer_name" class="changed', panel)
    assert "分类核实并答复客户" in panel  # the element's name from the diagram
    # the deadlines as they stood then: reply missed (due 09:00 the next day), resolution still open
    assert re.search(r'data-deadline="reply_24h" data-status="missed"', panel)
    assert re.search(r'data-deadline="resolve_48h" data-status="open"', panel)
    step2 = text_of(auditor.get(f"/audit/cases/{t.finished}/steps/2"))
    assert step2.lstrip().startswith("<div id=\"step-panel\"") and "<html" not in step2
    assert re.search(r'data-deadline="reply_24h" data-status="open"', step2)
    assert auditor.get(f"/audit/cases/{t.finished}/steps/99").status_code == 404
    diagram = auditor.get(f"/audit/cases/{t.finished}/diagram.json").get_json()
    assert 'id="complaint_handling"' in diagram["xml"] and diagram["version"] == 1


def test_verify_button_and_report(world):
    auditor = world.web("auditor")
    t = world.template
    page = text_of(auditor.get(f"/audit/cases/{t.finished}/verify"))
    assert 'data-verified="true"' in page and str(len(FINISHED)) in page
    report = text_of(auditor.get(f"/audit/cases/{t.finished}/report"))
    assert 'data-verified="true"' in report and 'data-deadline="reply_24h" data-status="missed"' in report
    export = auditor.get(f"/audit/cases/{t.finished}/export.json").get_data()
    import hashlib

    digest = hashlib.sha256(export).hexdigest()
    assert digest in report  # the paper names the file
    assert auditor.get(f"/audit/cases/{t.finished}/export.json").get_data() == export  # the export is deterministic
    response = auditor.post(f"/audit/cases/{t.finished}/sign-off", {"comment": "核对无误"})
    assert response.status_code == 302
    entry = db.session.scalar(db.select(SystemLogEvent).where(SystemLogEvent.type == "case_signed_off"))
    assert entry.actor == "auditor" and entry.subject == t.finished_key
    assert json.loads(entry.payload)["export_sha256"] == digest and json.loads(entry.payload)["verified"] is True
    assert "核对无误" in text_of(auditor.get(f"/audit/cases/{t.finished}/report"))


def test_exports_carry_the_hashes(world):
    auditor = world.web("auditor")
    t = world.template
    document = json.loads(auditor.get(f"/audit/cases/{t.finished}/export.json").get_data())
    assert document["algorithm"]["genesis_prev_hash"] == "0" * 64
    assert [e["seq"] for e in document["events"]] == list(range(1, len(FINISHED) + 1))
    assert document["events"][-1]["hash"] == document["instance"]["last_hash"]
    assert document["definition"]["key"] == "complaint_handling" and "complaint_handling.bpmn" in document["definition"]["files"]
    rows = _csv(auditor.get(f"/audit/cases/{t.finished}/export.csv"))
    query = db.select(HistoryEvent).where(HistoryEvent.instance_id == t.finished).order_by(HistoryEvent.seq)
    stored = db.session.scalars(query).all()
    assert [(r["seq"], r["hash"], r["prev_hash"]) for r in rows] == [(str(e.seq), e.hash, e.prev_hash) for e in stored]
    assert rows[4]["element"] == "分类核实并答复客户"


def test_deadline_audit(world):
    auditor = world.web("auditor")
    t = world.template
    page = text_of(auditor.get("/audit/deadlines?from=2026-03-01&to=2026-03-31"))
    assert re.search(rf'data-case="{t.finished_key}" data-deadline="reply_24h" data-status="missed"', page)
    assert re.search(rf'data-case="{t.finished_key}" data-deadline="resolve_48h" data-status="met"', page)
    assert re.search(r'data-deadline="resolve_48h" data-status="open"', page)  # the running complaint
    assert "客户投诉处理组" in page  # the responsible role
    only_missed = text_of(auditor.get("/audit/deadlines?from=2026-03-01&to=2026-03-31&status=missed"))
    assert only_missed.count("data-status=\"missed\"") == 1 and 'data-status="met"' not in only_missed.split("deadline-rows")[-1]
    empty = text_of(auditor.get("/audit/deadlines?from=2025-01-01&to=2025-01-31"))
    assert "data-deadline=" not in empty
    rows = _csv(auditor.get("/audit/deadlines.csv?from=2026-03-01&to=2026-03-31"))
    assert {(r["case"], r["deadline"], r["status"], r["responsible_role"]) for r in rows} >= {
        (t.finished_key, "reply_24h", "missed", "complaint_handler"), (t.finished_key, "resolve_48h", "met", "complaint_handler")}
    # time passes: the running complaint's 48 h resolution becomes overdue
    world.clock.advance(hours=60)
    later = text_of(auditor.get("/audit/deadlines?from=2026-03-01&to=2026-03-31"))
    assert re.search(r'data-deadline="resolve_48h" data-status="overdue"', later)


def test_case_list_and_search(world):
    auditor = world.web("auditor")
    t = world.template
    page = text_of(auditor.get("/audit/"))
    assert page.count("data-case=") == 3  # two complaints and the survey the finished one started
    found = text_of(auditor.get(f"/audit/?q={t.finished_key}"))
    assert found.count("data-case=") == 1 and f"/audit/cases/{t.finished}" in found
    assert text_of(auditor.get("/audit/?status=running&process=complaint_handling")).count("data-case=") == 1
