"""Try before deploy (issue 16): a draft of complaint_handling replayed on the running
version's recent cases through POST /api/process-definitions/<key>/what-if.

The draft adds 复核分析结论 (review_analysis) after 分析原因确定责任: the cases that got past
the analysis are stuck at the new task, the others follow the same path; nothing is written.
"""

from __future__ import annotations

import json

import pytest

from tests.complaint_driver import ComplaintDriver
from tests.test_ui_support import _fresh_g, compile_catalogs, signed_in
from tests.whatif_drafts import NEW_TASK, draft_files, multipart, with_condition
from webapp.engine import replay
from webapp.extensions import db
from webapp.models import Definition, HistoryEvent, Instance, SnapshotPiece

URL = "/api/process-definitions/complaint_handling/what-if"


def post(client, files=None, **fields):
    return client.post(URL, data=multipart(files if files is not None else draft_files(), **fields),
                       content_type="multipart/form-data")


@pytest.fixture
def cases(users, run_worker, deployed_complaints):
    """Two cases at 分类核实 (verify), one at the analysis, two past it (resolvable or not)."""
    made = {"verify": [], "analyse": [], "past": []}
    for _ in range(2):
        c = ComplaintDriver(users, run_worker)
        c.start()
        made["verify"].append(c.instance_id)
    c = ComplaintDriver(users, run_worker)
    c.start()
    c.verify()
    made["analyse"].append(c.instance_id)
    for resolvable in (True, False):
        c = ComplaintDriver(users, run_worker)
        c.start()
        c.verify()
        c.analyse(resolvable)
        made["past"].append(c.instance_id)
    return made


def _record() -> dict:
    """Everything a trial must leave alone: every event's hash, every row's version and snapshot."""
    events = db.session.execute(db.select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.hash)).all()
    instances = db.session.execute(
        db.select(Instance.id, Instance.version, Instance.last_seq, Instance.last_hash, Instance.snapshot,
                  Instance.snapshot_pieces)
    ).all()
    pieces = db.session.execute(db.select(SnapshotPiece.instance_id, SnapshotPiece.n, SnapshotPiece.text)).all()
    return {"events": sorted(events), "instances": sorted(instances), "pieces": sorted(pieces), "definitions": db.session.scalar(
        db.select(db.func.count()).select_from(Definition))}


def test_cases_past_the_analysis_are_stuck_at_the_new_task(users, cases):
    before = _record()
    response = post(users["owner"], limit=10)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    by_id = {c["instance_id"]: c for c in report["cases"]}
    assert sorted(by_id) == sorted(sum(cases.values(), []))
    for instance_id in cases["past"]:
        case = by_id[instance_id]
        assert (case["outcome"], case["element"], case["from"]) == ("stuck", NEW_TASK, "analyse_complaint"), case
        assert case["waiting"] == [NEW_TASK]
    for instance_id in cases["verify"] + cases["analyse"]:
        assert by_id[instance_id]["outcome"] == "same_path", by_id[instance_id]
    assert report["summary"] | {"seconds": 0} == {
        "cases": 5, "same_path": 3, "other_path": 0, "stuck": 2, "failed": 0, "seconds": 0}
    assert report["elements"][NEW_TASK] == {"name": "复核分析结论", "reached": 2, "diverged": 0, "stuck": 2, "failed": 0}
    assert report["elements"]["verify_complaint"]["reached"] == 5
    assert report["elements"]["analyse_complaint"]["reached"] == 3
    assert report["running_version"]["version"] == 1
    # nothing written: the same events with the same hashes, the same rows, and each case still verifies
    db.session.expire_all()
    assert _record() == before
    for instance_id in by_id:
        assert replay.verify(instance_id)["verified"]
        db.session.rollback()


def test_limit_takes_the_newest_cases_and_a_period_selects_by_start_day(users, cases, manual_clock):
    newest = post(users["owner"], limit=2).get_json()
    assert [c["instance_id"] for c in newest["cases"]] == sorted(cases["past"], reverse=True)
    # the cases started on 2026-03-02 UTC (China time 09:00 that day)
    assert post(users["owner"], **{"from": "2026-03-02", "to": "2026-03-02"}).get_json()["summary"]["cases"] == 5
    assert post(users["owner"], **{"from": "2026-03-03"}).get_json()["summary"]["cases"] == 0


def test_a_changed_condition_takes_another_path_from_the_gateway(users, cases):
    draft = draft_files(lambda xml: with_condition(xml, "flow_resolvable", "resolvable == False"))
    report = post(users["owner"], draft).get_json()
    by_id = {c["instance_id"]: c for c in report["cases"]}
    resolvable, unresolvable = cases["past"]
    assert (by_id[resolvable]["outcome"], by_id[resolvable]["from"]) == ("other_path", "gw_resolvable")
    assert by_id[unresolvable]["outcome"] == "other_path"
    assert report["elements"]["gw_resolvable"]["diverged"] == 2
    assert report["summary"]["same_path"] == 3


def test_draft_code_that_fails_on_a_case_is_reported_with_element_and_error(users, cases):
    draft = draft_files(lambda xml: with_condition(xml, "flow_resolvable", "resolvable == no_such_field"))
    report = post(users["owner"], draft).get_json()
    failed = [c for c in report["cases"] if c["outcome"] == "failed"]
    assert sorted(c["instance_id"] for c in failed) == sorted(cases["past"])
    assert all(c["element"] == "gw_resolvable" and "no_such_field" in c["error"] for c in failed), failed
    assert report["elements"]["gw_resolvable"]["failed"] == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "ten"}, "limit"), ({"from": "2026-13-01"}, "from"),
     ({"from": "2026-03-05", "to": "2026-03-01"}, "to"), ({"main_process": "nope"}, "main_process")],
)
def test_bad_fields_are_400_naming_the_field(users, deployed_complaints, fields, field):
    response = post(users["owner"], **fields)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["errors"]


def test_bad_drafts_and_callers_are_refused(users, deployed_complaints):
    owner = users["owner"]
    assert "files" in post(owner, {}).get_json()["errors"]
    broken = draft_files(lambda xml: with_condition(xml, "flow_resolvable", "open('x')"))
    response = post(owner, broken)
    assert response.status_code == 400 and "flow_resolvable" in response.get_json()["errors"], response.get_json()
    unknown = owner.post("/api/process-definitions/no_such_process/what-if", data=multipart(draft_files()),
                         content_type="multipart/form-data")
    assert unknown.status_code == 404
    for name, content in [("complaint_handling.bpmn", b"<not xml"), ("complaint_handling.bpmn", b'<!DOCTYPE x []><x/>'),
                          ("complaint_handling.bpmn", b"<a/>"), ("form.json", b"{"), ("notes.txt", b"hello")]:
        response = post(owner, {**draft_files(), name: content})
        assert response.status_code == 400, (name, content, response.get_json())
        assert response.get_json()["errors"], response.get_json()
    assert post(users["handler"]).status_code == 403
    assert post(users["admin"]).status_code == 200
    assert users["owner"].client.post(URL).status_code == 401


def test_two_hundred_cases(users, run_worker, deployed_complaints):
    """The API's answer for 200 cases (the speed is measured by make bench-audit)."""
    for n in range(200):
        c = ComplaintDriver(users, run_worker)
        c.start()
        if n % 2:
            c.verify()
            c.analyse(True)
    report = post(users["owner"], limit=500).get_json()
    assert report["summary"] | {"seconds": 0} == {
        "cases": 200, "same_path": 100, "other_path": 0, "stuck": 100, "failed": 0, "seconds": 0}


@pytest.mark.parametrize(
    ("locale", "words"), [("zh_CN", ["试运行", "路径相同", "卡住"]), ("en", ["What if", "Same path", "Stuck"])]
)
def test_the_modeler_offers_what_if_to_owners_in_both_languages(app, users, cases, locale, words):
    compile_catalogs()
    owner = signed_in(app, "owner")
    owner.get(f"/lang/{locale}")
    page = owner.get("/processes/complaint_handling/modeler").get_data(as_text=True)
    assert all(word in page for word in words), locale
    assert 'id="whatif"' not in signed_in(app, "agent").get("/processes/complaint_handling/modeler").get_data(as_text=True)
    # the page's own JSON route: the working set as the modeler sends it, with the session's CSRF token
    files = {name: content.decode("utf-8") for name, content in draft_files().items() if not name.endswith(".json")}
    forms = {name: json.loads(content) for name, content in draft_files().items() if name.endswith(".json")}
    _fresh_g()
    response = owner.client.post("/processes/api/complaint_handling/what-if", json={"files": files, "forms": forms, "limit": 3},
                                 headers={"X-CSRFToken": owner.token})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["summary"]["cases"] == 3
    _fresh_g()
    refused = signed_in(app, "agent")
    response = refused.client.post("/processes/api/complaint_handling/what-if", json={"files": files, "forms": forms},
                                   headers={"X-CSRFToken": refused.token})
    assert response.status_code == 403
