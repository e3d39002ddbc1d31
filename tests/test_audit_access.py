"""The auditor role: reads every case, its history, diagram version, replay, exports, the system
log and the deadline audit; works on no task, starts, deploys and administers nothing (403),
in the staff pages and in the API. Only auditors (and administrators, who hold every role)
open the auditors' pages."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tests import test_audit_support as support
from tests.complaint_driver import REGISTER
from tests.conftest import FIXTURES, complaint_files, deploy_files
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import ApiToken, InboxTask, Job, User

audit_template, world = support.audit_template, support.world  # the fixtures

# POSTs that change nothing (a diagram check, a form preview) or only the person's own session.
HARMLESS_POSTS = {"ui.login", "ui.logout", "ui.profile", "modeler.api_validate", "modeler.api_form_preview",
                  "audit.case_sign_off", "ui.new_own_token",  # own settings: an API token of one's own
                  "ui.save_filter",  # a named inbox search of one's own
                  "audit.checkpoint_create", "audit.checkpoint_verify"}  # a signature of the record, changes none of it


# Valid bodies, so that a refusal comes from the role check and not from the validation.
API_BODIES = {
    "api.start_instance": {"process_key": "complaint_handling", "data": REGISTER},
    "api.complete_task": {"data": {"cause": "维修工未更换损坏的压缩机电容。", "responsible_department": "service",
                                   "resolvable": True}},
    "api.assign_task": {"username": "handler"},
    "api.cancel_instance": {"reason": "审计员不应能取消"},
    "api.skip_job": {"result": {}},
}


def _audit_urls(t) -> list[str]:
    i = t.finished
    return ["/audit/", f"/audit/cases/{i}", f"/audit/cases/{i}/steps/1", f"/audit/cases/{i}/steps.json",
            f"/audit/cases/{i}/diagram.json", f"/audit/cases/{i}/verify", f"/audit/cases/{i}/export.json",
            f"/audit/cases/{i}/export.csv", f"/audit/cases/{i}/report", "/audit/system-log", "/audit/system-log/verify",
            "/audit/system-log/export.json", "/audit/system-log/export.csv", "/audit/deadlines", "/audit/deadlines.csv",
            "/audit/checkpoints", "/audit/checkpoints/public-key.pem"]


def test_every_audit_page_is_covered(world):
    rules = {r.rule for r in world.app.url_map.iter_rules() if r.endpoint.startswith("audit.") and r.endpoint != "audit.static"}
    covered = {"/audit/", "/audit/cases/<int:instance_id>", "/audit/cases/<int:instance_id>/steps/<int:seq>",
               "/audit/cases/<int:instance_id>/steps.json", "/audit/cases/<int:instance_id>/diagram.json",
               "/audit/cases/<int:instance_id>/verify", "/audit/cases/<int:instance_id>/export.json",
               "/audit/cases/<int:instance_id>/export.csv", "/audit/cases/<int:instance_id>/report",
               "/audit/cases/<int:instance_id>/sign-off", "/audit/system-log", "/audit/system-log/verify",
               "/audit/system-log/export.json", "/audit/system-log/export.csv", "/audit/deadlines", "/audit/deadlines.csv",
               "/audit/checkpoints", "/audit/checkpoints/public-key.pem", "/audit/checkpoints/<int:checkpoint_id>/digest.json",
               "/audit/checkpoints/verify"}  # signing and the digest: tests/test_checkpoints.py
    assert rules == covered


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_open_every_audit_page(world, who):
    client = world.web(who)
    for url in _audit_urls(world.template):
        assert client.get(url).status_code == 200, url
    assert client.post(f"/audit/cases/{world.template.finished}/sign-off", {}).status_code == 302


def test_everyone_else_is_refused(world):
    anonymous = support.WebClient(world.app)
    for url in _audit_urls(world.template):
        response = anonymous.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url
    for who in ("agent", "handler", "manager", "owner", "tech"):
        client = world.web(who)
        for url in _audit_urls(world.template):
            assert client.get(url).status_code == 403, (who, url)
        assert client.post(f"/audit/cases/{world.template.finished}/sign-off", {}).status_code == 403
        assert "/audit/" not in text_of(client.get("/"))  # no menu entry either


def test_auditor_reads_every_case_in_the_staff_pages(world):
    t = world.template
    auditor = world.web("auditor")
    assert 'href="/audit/"' in text_of(auditor.get("/"))  # the menu entry
    listing = text_of(auditor.get("/cases?scope=all"))
    assert listing.count("data-case=") == 3  # the survey the finished complaint started too
    for instance_id in (t.finished, t.running):
        page = auditor.get(f"/cases/{instance_id}")
        assert page.status_code == 200
        assert "task-link" not in text_of(page)  # no task to open from the case page
        assert auditor.get(f"/cases/{instance_id}/diagram.json").status_code == 200
    api = world.users["auditor"]
    for instance_id in (t.finished, t.running):
        for suffix in ("", "/history", "/replay", "/verify"):
            assert api.get(f"/api/process-instances/{instance_id}{suffix}").status_code == 200, suffix
    assert api.get("/api/jobs").status_code == 200


def _values(world) -> dict[str, str]:
    t = world.template
    db.session.expire_all()
    task = db.session.scalar(db.select(InboxTask).where(InboxTask.instance_id == t.running, InboxTask.state == "open"))
    job = db.session.scalar(db.select(Job).order_by(Job.id))
    tech = db.session.scalar(db.select(User).where(User.username == "tech"))
    tech_token = db.session.scalar(db.select(ApiToken.id).where(ApiToken.user_id == tech.id).order_by(ApiToken.id))
    return {"instance_id": str(t.running), "task_id": task.id, "job_id": str(job.id), "user_id": str(tech.id),
            "key": "complaint_handling", "code": "en", "token_id": str(tech_token), "filter_id": str(_techs_filter()),
            "delivery_id": "1", "webhook_id": "1"}


def _techs_filter() -> int:
    from webapp.models import SavedFilter

    row = SavedFilter(username="tech", name="mine", query={"q": "TS"})
    db.session.add(row)
    db.session.commit()
    return row.id


def _url(rule, values: dict[str, str]) -> str:
    url = rule.rule
    for name in rule.arguments:
        integer = isinstance(rule._converters[name], IntegerConverter)  # the app's bounded one is a subclass
        pattern = f"<int:{name}>" if integer else f"<{name}>"
        url = url.replace(pattern, values[name])
    return url


def test_auditor_can_change_nothing(world):
    """Every POST of the staff pages, the modeler and the API (with the auditor's token) is refused."""
    t = world.template
    values = _values(world)
    auditor = world.web("auditor")
    api = world.users["auditor"]
    let_through = []
    for rule in world.app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in HARMLESS_POSTS or rule.endpoint.endswith("static"):
            continue
        url = _url(rule, values)
        if rule.endpoint.startswith("api."):
            if rule.endpoint == "api.send_message":
                continue  # not a staff action; see the report (messages come from integrations)
            response = api.post(url, API_BODIES.get(rule.endpoint, {}))
        else:
            response = auditor.post(url, {"next": "/"})
        if response.status_code not in (401, 403):
            let_through.append((rule.endpoint, url, response.status_code))
    assert let_through == []
    # and the case is as it was: the open task is still open and unclaimed
    db.session.expire_all()
    task = db.session.get(InboxTask, values["task_id"])
    assert task.state == "open" and task.assignee is None
    assert world.users["admin"].get(f"/api/process-instances/{t.running}").get_json()["status"] == "running"


def test_auditor_opens_no_task_or_admin_page(world):
    values = _values(world)
    auditor = world.web("auditor")
    for url in (f"/tasks/{values['task_id']}", "/admin/users", "/admin/users/new", f"/admin/users/{values['user_id']}",
                "/new/complaint_handling"):
        assert auditor.get(url).status_code == 403, url
    api = world.users["auditor"]
    assert api.get("/api/tasks").get_json() == []  # no task is theirs to work on
    eight = [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"]
    assert deploy_files(api, eight).status_code == 403
    assert deploy_files(api, complaint_files()).status_code == 403
