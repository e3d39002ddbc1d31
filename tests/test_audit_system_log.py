"""The system log records what people do outside any one case: sign-ins (and failures), sign-outs,
accounts and roles, deployments (API, CLI), incident retries and skips; each entry in the
transaction of its action, chained to the one before, and the whole log verifies."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import text

from tests import test_audit_support as support
from tests.complaint_driver import REGISTER
from tests.conftest import FIXTURES, complaint_files, deploy_files
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401
from webapp.audit import system_log
from webapp.extensions import db
from webapp.models import Job, SystemLogEvent, User

audit_template, world = support.audit_template, support.world  # the fixtures


def _entries(kind: str | None = None) -> list[SystemLogEvent]:
    db.session.expire_all()
    query = db.select(SystemLogEvent).order_by(SystemLogEvent.seq)
    if kind:
        query = query.where(SystemLogEvent.type == kind)
    return db.session.scalars(query).all()


def _payload(entry: SystemLogEvent) -> dict:
    return json.loads(entry.payload)


def test_sign_in_failures_and_sign_out(world):
    before = len(_entries())
    client = support.WebClient(world.app)
    client.get("/login")
    assert client.post("/login", {"username": "handler", "password": "wrong"}).status_code == 401
    assert client.post("/login", {"username": "nobody", "password": "x"}).status_code == 401
    handler = world.web("handler")
    assert handler.post("/logout", {}).status_code == 302
    entries = _entries()[before:]
    assert [(e.type, e.actor, e.subject) for e in entries] == [
        ("login_failed", "handler", "handler"),
        ("login_failed", "nobody", "nobody"),
        ("login", "handler", "handler"),
        ("logout", "handler", "handler"),
    ]
    assert _payload(entries[0])["reason"] == "bad" and "ip" in _payload(entries[0])
    # a locked account: the refusal says why
    for _ in range(world.app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", {"username": "tech", "password": "wrong"})
    client.post("/login", {"username": "tech", "password": "pw-tech"})
    assert _payload(_entries("login_failed")[-1])["reason"] == "locked"
    assert system_log.verify()["verified"]


def test_accounts_and_roles(world):
    manager = world.web("manager")
    response = manager.post("/admin/users/new", {"username": "wang", "password": "long-enough", "roles": ["technician"],
                                                 "display_name": "王工"})
    assert response.status_code == 302
    created = _entries("account_created")[-1]
    assert (created.actor, created.subject, _payload(created)["roles"]) == ("manager", "wang", ["technician"])
    wang = db.session.scalar(db.select(User).where(User.username == "wang"))
    form = {"roles": ["technician", "team_leader"], "active": "on", "display_name": "王工"}
    assert manager.post(f"/admin/users/{wang.id}", form).status_code == 302
    changed = _entries("roles_changed")[-1]
    assert _payload(changed)["added"] == ["team_leader"] and _payload(changed)["removed"] == []
    assert manager.post(f"/admin/users/{wang.id}", {"roles": ["team_leader"], "display_name": "王工"}).status_code == 302
    assert _payload(_entries("roles_changed")[-1])["removed"] == ["technician"]
    assert _entries("account_deactivated")[-1].subject == "wang"
    form = {"roles": ["team_leader"], "active": "on", "display_name": "王工", "password": "another-long-one"}
    assert manager.post(f"/admin/users/{wang.id}", form).status_code == 302
    assert _entries("account_reactivated")[-1].subject == "wang"
    assert _entries("password_reset")[-1].subject == "wang"
    # saving without a change records nothing
    count = len(_entries())
    same = {"roles": ["team_leader"], "active": "on", "display_name": "王"}
    assert manager.post(f"/admin/users/{wang.id}", same).status_code == 302
    assert len(_entries()) == count
    assert system_log.verify()["verified"]


def test_cli_accounts(world, monkeypatch):
    import webapp.accounts

    monkeypatch.setattr(webapp.accounts, "generate_password_hash", lambda password, method=None: "cheap$" + password)
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["create-user", "li", "--password", "long-enough", "--role", "warranty_clerk"])
    assert result.exit_code == 0, result.output
    entry = _entries("account_created")[-1]
    assert (entry.actor, entry.subject, _payload(entry)["roles"]) == ("cli", "li", ["warranty_clerk"])
    before = len(_entries("account_created"))
    demo_file = world.app.instance_path + "/demo.txt"
    result = runner.invoke(args=["create-demo-users", "--file", demo_file])
    assert result.exit_code == 0, result.output
    made = _entries("account_created")[before:]
    assert {e.subject for e in made} >= {"general_manager", "quality_dept", "parts_keeper"} and {e.actor for e in made} == {"cli"}


def test_deployments(world, tmp_path):
    owner = world.users["owner"]
    before = _entries("definition_deployed")
    assert deploy_files(owner, complaint_files()).status_code == 200  # the same content: nothing new
    assert _entries("definition_deployed") == before
    eight = [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"]
    response = deploy_files(owner, eight)
    assert response.status_code == 201
    entry = _entries("definition_deployed")[-1]
    assert (entry.actor, entry.subject) == ("owner", "eight_steps v1")
    assert _payload(entry)["content_hash"] == response.get_json()["content_hash"]
    # the CLI: a folder with one changed diagram
    folder = tmp_path / "processes"
    (folder / "forms").mkdir(parents=True)
    xml = (FIXTURES / "eight_steps.bpmn").read_text(encoding="utf-8").replace('name="八步流程"', 'name="八步流程（二）"')
    (folder / "eight_steps.bpmn").write_text(xml, encoding="utf-8")
    shutil.copy(FIXTURES / "eight-intake-schema.json", folder / "forms")
    result = world.app.test_cli_runner().invoke(args=["deploy-processes", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    entry = _entries("definition_deployed")[-1]
    assert (entry.actor, entry.subject) == ("cli", "eight_steps v2")
    # a deploy that fails stores neither the version nor an entry
    count = len(_entries())
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<not-bpmn/>", encoding="utf-8")
    assert deploy_files(owner, [bad]).status_code == 400
    assert len(_entries()) == count


def test_incident_retry_and_skip(world):
    """Two complaints whose first system step ran out of attempts: a manager retries one from the
    case page and skips the other with a value through the API."""
    from webapp.engine import runtime

    ids = []
    for _ in range(2):
        instance = runtime.start_instance("complaint_handling", REGISTER, actor="agent")
        ids.append(instance.id)
    db.session.execute(text("UPDATE jobs SET status = 'incident', last_error = 'connection refused' WHERE status = 'ready'"))
    db.session.commit()
    jobs = {j.instance_id: j.id for j in db.session.scalars(db.select(Job).where(Job.status == "incident"))}
    manager = world.web("manager")
    assert manager.post(f"/jobs/{jobs[ids[0]]}/retry", {}).status_code == 302
    entry = _entries("incident_retried")[-1]
    assert entry.actor == "manager" and _payload(entry)["instance_id"] == ids[0]
    assert _payload(entry)["last_error"] == "connection refused"
    assert db.session.get(Job, jobs[ids[0]]).status == "ready"
    # the API (retry, then skip) when the engine offers them
    api = world.users["manager"]
    response = api.post(f"/api/jobs/{jobs[ids[1]]}/skip", {"result": {"complaint_no": "manual"}})
    if response.status_code != 404:
        assert response.status_code == 200, response.get_json()
        entry = _entries("incident_skipped")[-1]
        assert entry.actor == "manager" and _payload(entry)["result"] == {"complaint_no": "manual"}
    # the auditor may not retry
    auditor = world.web("auditor")
    assert auditor.post(f"/jobs/{jobs[ids[0]]}/retry", {}).status_code == 403
    assert world.users["auditor"].post(f"/api/jobs/{jobs[ids[0]]}/retry").status_code == 403
    assert system_log.verify()["verified"]


def test_system_log_page_filters_and_export(world):
    for username in ("handler", "agent"):
        world.web(username)
    auditor = world.web("auditor")
    page = text_of(auditor.get("/audit/system-log"))
    assert page.count("<tr data-seq=") == len(_entries())
    only = text_of(auditor.get("/audit/system-log?type=login&actor=handler"))
    assert only.count("<tr data-seq=") == 1
    document = json.loads(auditor.get("/audit/system-log/export.json").get_data())
    assert document["head"]["last_seq"] == len(document["events"])
    assert document["events"][-1]["hash"] == document["head"]["last_hash"]
    csv_text = auditor.get("/audit/system-log/export.csv?type=login").get_data(as_text=True)
    assert csv_text.count("\n") == 1 + len(_entries("login"))
    # a typed user name that a spreadsheet would run as a formula is defused in the CSV (kept as is in JSON)
    client = support.WebClient(world.app)
    client.get("/login")
    client.post("/login", {"username": "=HYPERLINK(\"http://x\")", "password": "x"})
    csv_text = auditor.get("/audit/system-log/export.csv?type=login_failed").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text
    document = json.loads(auditor.get("/audit/system-log/export.json").get_data())
    assert document["events"][-1]["actor"] == '=HYPERLINK("http://x")'
