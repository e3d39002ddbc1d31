"""The process owners' side over HTTP: the process list, the modeler page, Validate (each kind
of problem named at its element), Deploy (new version only when the content changed; process
owners and administrators only), the diff between versions, the form preview, and both
languages on every modeler page."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, complaint_files
from tests.test_migration_complaint import CHECK_FORM, with_check_details
from tests.test_ui_i18n import untranslated
from tests.test_ui_support import COMPLAINT, compiled_translations, signed_in  # noqa: F401
from webapp.engine import runtime
from webapp.extensions import db
from webapp.modeler.checks import diff
from webapp.models import SystemLogEvent

MAIN = "complaint_handling.bpmn"


def working_set(xml: str | None = None, extra_forms: dict | None = None) -> dict:
    files, forms = {}, {}
    for path in complaint_files():
        if path.suffix == ".json":
            forms[path.name] = json.loads(path.read_text(encoding="utf-8"))
        else:
            files[path.name] = path.read_text(encoding="utf-8")
    if xml is not None:
        files[MAIN] = xml
    forms.update(extra_forms or {})
    return {"files": files, "forms": forms}


def original() -> str:
    return (ROOT / "processes" / MAIN).read_text(encoding="utf-8")


def validate(client, xml: str, **kw) -> dict:
    response = client.post("/processes/api/validate", working_set(xml, **kw))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ---------------------------------------------------------------- validate


def test_the_shipped_diagram_has_no_problems(users):
    body = validate(users["owner"], original())
    assert body == {"ok": True, "key": "complaint_handling", "problems": {}}


BROKEN = {
    # element: (what to replace, with what, words of the reason)
    "flow_major": ("severity == 'major'", "severity == ", "condition"),
    "flow_resolvable": ("resolvable == True", "open('/etc/passwd') is None", "open"),
    "gw_major": ('default="flow_normal"', "", "no default flow"),
    "complaint_team": ('<bpmn:lane id="complaint_handler" name="客户投诉处理组"',
                       '<bpmn:lane id="complaint_team" name="投诉小组"', "matches no role"),
    "reply_24h": ('<bpmn:timeDuration>"PT24H"</bpmn:timeDuration>', '<bpmn:timeDuration>"PT24X"</bpmn:timeDuration>', "ISO 8601"),
    "wait_48h": ('<bpmn:timeDuration>"PT48H"</bpmn:timeDuration>', "<bpmn:timeDuration>PT48H</bpmn:timeDuration>", "quotes"),
    "escalate_48h": ('id="complaint/escalate" resultVariable="escalation_48h"',
                     'id="complaint/nothing" resultVariable="escalation_48h"', "unknown operator"),
    "verify_complaint": ('value="complaint-verify-schema.json"', 'value="complaint-missing-schema.json"', "not uploaded"),
}


@pytest.mark.parametrize("element", sorted(BROKEN))
def test_each_problem_is_named_at_its_element(users, element):
    old, new, words = BROKEN[element]
    xml = original()
    assert old in xml
    body = validate(users["owner"], xml.replace(old, new, 1))
    assert body["ok"] is False
    assert element in body["problems"], body["problems"]
    assert words in body["problems"][element]


def test_problems_of_several_kinds_come_together(users):
    xml = original().replace("severity == 'major'", "severity == ", 1)
    xml = xml.replace('value="complaint-verify-schema.json"', 'value="complaint-missing-schema.json"', 1)
    problems = validate(users["owner"], xml)["problems"]
    assert {"flow_major", "verify_complaint"} <= set(problems)


def test_xsd_and_parse_errors_are_placed_at_an_element(users):
    task = '<bpmn:userTask id="analyse_complaint"'
    xsd = validate(users["owner"], original().replace(task, task + ' bogus="1"', 1))
    assert xsd["ok"] is False and xsd["problems"], xsd
    assert "analyse_complaint" in xsd["problems"] or any("bogus" in reason for reason in xsd["problems"].values())
    broken = validate(users["owner"], original().replace('targetRef="manager_handle_major"', 'targetRef="nowhere"', 1))
    assert broken["ok"] is False and broken["problems"]
    malformed = validate(users["owner"], original()[:-40])
    assert malformed["ok"] is False and MAIN in malformed["problems"]


# ---------------------------------------------------------------- deploy


def test_deploy_makes_a_version_only_when_the_content_changed(users):
    owner = users["owner"]
    first = owner.post("/processes/api/deploy", working_set())
    assert first.status_code == 201 and first.get_json()["version"] == 1
    again = owner.post("/processes/api/deploy", working_set())
    same = ("key", "version", "content_hash", "file")
    assert again.status_code == 200 and {k: again.get_json()[k] for k in same} == {k: first.get_json()[k] for k in same}
    outcomes = (again.get_json()["created"], again.get_json()["outcome"], first.get_json()["outcome"])
    assert outcomes == (False, "unchanged", "new_key")
    changed = owner.post("/processes/api/deploy", working_set(with_check_details(original().encode()).decode(),
                                                              extra_forms={"complaint-check-schema.json": CHECK_FORM}))
    assert changed.status_code == 201 and changed.get_json()["version"] == 2
    assert users["admin"].post("/processes/api/deploy", working_set()).status_code == 200
    logged = db.session.scalars(db.select(SystemLogEvent.subject).where(SystemLogEvent.type == "definition_deployed")).all()
    assert logged == ["complaint_handling v1", "complaint_handling v2"]


def test_only_process_owners_and_admins_deploy(users):
    for who in ("handler", "manager", "auditor"):
        response = users[who].post("/processes/api/deploy", working_set())
        assert response.status_code == 403, who
    broken_xml = original().replace("severity == 'major'", "severity ==", 1)
    broken = users["owner"].post("/processes/api/deploy", working_set(broken_xml))
    assert broken.status_code == 400 and "flow_major" in broken.get_json()["problems"]


def test_session_posts_need_the_pages_csrf_token(app, users):
    client = signed_in(app, "owner")
    page = client.get("/processes/")
    assert page.status_code == 200
    without = client.client.post("/processes/api/validate", json=working_set())
    assert without.status_code == 400
    with_token = client.client.post("/processes/api/validate", json=working_set(), headers={"X-CSRFToken": client.token})
    assert with_token.status_code == 200 and with_token.get_json()["ok"] is True


# ---------------------------------------------------------------- pages, diff, preview


@pytest.fixture
def two_versions(users, run_worker):
    owner = users["owner"]
    assert owner.post("/processes/api/deploy", working_set()).status_code == 201
    runtime.start_instance("complaint_handling", COMPLAINT, actor="agent")
    run_worker()
    v2 = working_set(with_check_details(original().encode()).decode(), extra_forms={"complaint-check-schema.json": CHECK_FORM})
    assert owner.post("/processes/api/deploy", v2).status_code == 201
    db.session.expire_all()


def test_the_process_list_shows_versions_deployers_and_cases(app, two_versions):
    html = signed_in(app, "agent").get("/processes/").get_data(as_text=True)
    section = html[html.index('data-process="complaint_handling"'):]
    assert re.search(r'tr data-version="2".*?owner.*?count-running">0<', section, re.S)
    assert re.search(r'tr data-version="1".*?owner.*?count-running">1<.*?count-all">1<', section, re.S)
    assert "/processes/new" not in html  # viewers do not get "New diagram"
    assert "/processes/new" in signed_in(app, "owner").get("/processes/").get_data(as_text=True)


def test_everyone_may_view_the_modeler_but_only_owners_get_deploy(app, two_versions):
    viewer = signed_in(app, "agent").get("/processes/complaint_handling/modeler?version=1").get_data(as_text=True)
    assert 'id="deploy"' not in viewer and '"may_change": false' in viewer
    owner = signed_in(app, "owner").get("/processes/complaint_handling/modeler").get_data(as_text=True)
    assert 'id="deploy"' in owner and '"version": 2' in owner


def test_the_diff_names_added_removed_and_changed_elements(users, two_versions):
    body = users["agent"].get("/processes/api/complaint_handling/diff?a=1&b=2").get_json()
    assert body["added"] == ["check_details", "flow_check_record"]
    assert body["removed"] == []
    assert set(body["changed"]) == {"flow_verify_record"} and body["changed"]["flow_verify_record"] == ["targetRef"]
    assert body["form_files"] == ["complaint-check-schema.json"]
    assert "check_details" in body["b"]["xml"] and "check_details" not in body["a"]["xml"]
    back = users["agent"].get("/processes/api/complaint_handling/diff?a=2&b=1").get_json()
    assert back["removed"] == ["check_details", "flow_check_record"]


def test_the_diff_ignores_how_the_xml_is_written():
    xml = original()
    rewritten = xml.replace("bpmn:", "b:").replace("xmlns:bpmn=", "xmlns:b=")
    rewritten = rewritten.replace('<b:userTask id="analyse_complaint"', '<b:userTask startQuantity="1" id="analyse_complaint"')
    changes = diff(xml, rewritten)
    assert (changes["added"], changes["removed"], changes["changed"]) == ([], [], {})


def test_the_form_preview_is_the_staff_form(users):
    body = users["owner"].post("/processes/api/form-preview", {"schema": CHECK_FORM, "ui_schema": {}}).get_json()
    assert body["ok"] is True
    assert 'id="f-details_checked"' in body["html"] and "细节已核对" in body["html"]
    bad = users["owner"].post("/processes/api/form-preview", {"schema": {"type": 12}}).get_json()
    assert bad["ok"] is False and "JSON Schema" in bad["error"]


def test_forms_and_decision_tables_are_fetched_by_name(users):
    form = users["agent"].get("/processes/api/forms/complaint-verify-schema.json").get_json()["form"]
    assert form["title"] == "分类核实并答复客户"
    assert "key_customer" in users["agent"].get("/processes/api/decisions/key_customer.dmn").get_json()["xml"]
    assert users["agent"].get("/processes/api/forms/nothing.json").status_code == 404


# ---------------------------------------------------------------- both languages


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_modeler_page_renders_in_both_languages(app, two_versions, locale):
    pages = [
        ("agent", "/processes/"),
        ("owner", "/processes/"),
        ("owner", "/processes/complaint_handling/modeler"),
        ("agent", "/processes/complaint_handling/modeler?version=1"),
        ("owner", "/processes/new"),
        ("agent", "/processes/complaint_handling/diff?a=1&b=2"),
        ("owner", "/processes/complaint_handling/migrate"),
        ("agent", "/processes/complaint_handling/migrate"),
    ]
    problems = {}
    clients = {}
    for who, url in pages:
        if who not in clients:
            clients[who] = signed_in(app, who)
            clients[who].get(f"/lang/{locale}")
        response = clients[who].get(url)
        assert response.status_code == 200, url
        if found := untranslated(response.get_data(as_text=True), locale):
            problems[f"{who} {url}"] = found
    response = clients["owner"].post("/processes/complaint_handling/migrate", {"to": "2", "instance": ["1"]})
    assert response.status_code == 302
    html = clients["owner"].get(response.headers["Location"]).get_data(as_text=True)
    if found := untranslated(html, locale):
        problems["owner POST migrate"] = found
    assert problems == {}


def test_a_new_diagram_from_the_blank_one_deploys(users):
    blank = (ROOT / "webapp" / "static" / "modeler" / "blank.bpmn").read_text(encoding="utf-8")
    response = users["owner"].post("/processes/api/deploy", {"files": {"new_process.bpmn": blank}, "forms": {}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["key"] == "new_process"
