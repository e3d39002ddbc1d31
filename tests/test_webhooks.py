"""Issue 18, acceptance 3: webhooks arrive signed and in order per case; a receiver that
fails twice gets the event on the third try; a bad signature is detectable by the receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.complaint_driver import REGISTER, VERIFY, ComplaintDriver
from tests.conftest import ROOT
from tests.webhook_receiver import Receiver
from webapp.extensions import db
from webapp.models import WebhookDelivery
from webapp.webhooks import signing

SECRET = "s3cret-for-the-dealer-dms-0001"


@pytest.fixture
def receiver():
    made = []

    def _make(fail_first: int = 0) -> tuple[Receiver, str]:
        r = Receiver(SECRET, fail_first=fail_first)
        made.append(r)
        return r, r.start()

    yield _make
    for r in made:
        r.stop()


def _subscribe(admin, url: str, events=("*",)) -> dict:
    answer = admin.post("/api/webhooks", {"url": url, "events": list(events), "secret": SECRET})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_events_arrive_signed_in_order_and_after_two_failures(app, users, deployed_complaints, run_worker,
                                                            manual_clock, receiver):
    app.config["WEBHOOK_BACKOFF_SECONDS"] = 10
    hook, url = receiver(fail_first=2)
    admin = users["admin"]
    subscription = _subscribe(admin, url)
    assert subscription["secret"] == SECRET and "secret" not in admin.get("/api/webhooks").get_json()[0]

    case = ComplaintDriver(users, run_worker)
    case.start()  # the worker's first POST of case.started fails; the later events of the case wait
    assert hook.refused == 1 and hook.received == []
    manual_clock.advance(seconds=10)
    run_worker()  # second try fails too
    assert hook.refused == 2 and hook.received == []
    manual_clock.advance(seconds=20)
    run_worker()  # third try: delivered, then the case's next event
    assert hook.events_of(case.instance_id) == ["case.started", "task.created"]
    first = hook.received[0]
    assert first.signed_ok and first.body["instance"]["business_key"] == case.business_key
    assert hook.received[1].body["task"]["bpmn_id"] == "verify_complaint"

    log = admin.get(f"/api/webhooks/deliveries?instance_id={case.instance_id}&event=case.started").get_json()
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("delivered", 3, 204)]

    case.verify()
    users["manager"].post(f"/api/process-instances/{case.instance_id}/cancel", {"reason": "客户撤诉"})
    run_worker()
    assert hook.events_of(case.instance_id) == [
        "case.started", "task.created", "task.completed", "task.created", "case.ended"]
    assert all(r.signed_ok for r in hook.received)
    assert hook.received[-1].body["instance"]["status"] == "cancelled"
    assert len({r.headers["X-Webhook-Id"] for r in hook.received}) == len(hook.received)

    # what the receiver checks: a changed body, another secret or an old signature fail
    sent = hook.received[2]
    timestamp, signature = sent.headers[signing.TIMESTAMP_HEADER], sent.headers[signing.SIGNATURE_HEADER]
    assert signing.verify(SECRET, timestamp, sent.raw, signature)
    assert not signing.verify(SECRET, timestamp, sent.raw.replace(b"task.completed", b"task.created"), signature)
    assert not signing.verify("another-secret-0000000000", timestamp, sent.raw, signature)
    assert not signing.verify(SECRET, str(int(timestamp) + 1), sent.raw, signature)
    assert not signing.verify(SECRET, timestamp, sent.raw, "")


def test_only_subscribed_events_and_nothing_on_a_rolled_back_command(app, users, deployed_complaints, run_worker,
                                                                      receiver):
    hook, url = receiver()
    _subscribe(users["admin"], url, events=["case.ended"])
    case = ComplaintDriver(users, run_worker)
    case.start()
    bad = users["handler"].post(f"/api/tasks/{case.open_tasks()['verify_complaint']['id']}/complete",
                                {"data": {"severity": "nonsense"}})
    assert bad.status_code == 422
    run_worker()
    assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) == 0
    users["manager"].post(f"/api/process-instances/{case.instance_id}/cancel", {"reason": "重复"})
    run_worker()
    assert hook.events_of(case.instance_id) == ["case.ended"]


def test_incident_opened_is_announced(app, users, run_worker, manual_clock, receiver):
    from tests.test_incidents import _deploy, _to_service_task
    from workers import registry

    hook, url = receiver()
    _subscribe(users["admin"], url, events=["incident.opened"])
    _deploy(users["owner"])

    def offline(session, params):
        raise RuntimeError("parts system offline")

    previous = registry.override("test/echo", offline)
    try:
        iid = _to_service_task(users, run_worker)
        for _ in range(4):
            run_worker()
            manual_clock.advance(seconds=100)
        run_worker()
    finally:
        registry.override("test/echo", previous)
    assert hook.events_of(iid) == ["incident.opened"]
    assert "parts system offline" in hook.received[0].body["incident"]["error"]


def test_admin_api_checks_input_and_roles(users):
    admin = users["admin"]
    for body, field in [({"url": "ftp://x.example/hook", "events": ["*"]}, "url"),
                        ({"url": "https://x.example/hook", "events": ["case.exploded"]}, "events.0"),
                        ({"url": "https://x.example/hook", "events": []}, "events"),
                        ({"url": "https://x.example/hook", "events": ["*"], "secret": "short"}, "secret")]:
        answer = admin.post("/api/webhooks", body)
        assert answer.status_code == 400, body
        assert field in answer.get_json()["errors"], answer.get_json()
    assert users["manager"].get("/api/webhooks").status_code == 403
    assert users["manager"].get("/api/webhooks/deliveries").get_json()["code"] == "forbidden"
    made = admin.post("/api/webhooks", {"url": "https://x.example/hook", "events": ["case.started"]}).get_json()
    assert len(made["secret"]) >= 32  # generated
    gone = admin.client.delete(f"/api/webhooks/{made['id']}", headers=admin._headers())
    assert gone.status_code == 200 and gone.get_json()["active"] is False


def _pending() -> int:
    count = db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.status == "pending"))
    db.session.rollback()  # never sleep inside a transaction: SQLite has one writer
    return count


@pytest.mark.slow
def test_a_worker_process_delivers_each_case_in_order(app, users, deployed_complaints, receiver, tmp_path):
    """The web process enqueues; a separate worker process (tests/worker_process.py) sends,
    retries after two refusals (real clock, 1 s backoff) and keeps each case's order."""
    app.config["WEBHOOK_BACKOFF_SECONDS"] = 1
    hook, url = receiver(fail_first=2)
    _subscribe(users["admin"], url)
    agent = users["agent"]
    cases = []
    for name in ("李雷", "韩梅梅"):
        answer = agent.post("/api/process-instances", {"process_key": "complaint_handling",
                                                       "data": {**REGISTER, "customer_name": name}})
        assert answer.status_code == 201
        cases.append(answer.get_json()["id"])
    db.session.remove()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "WORKER_ID": "hooks",
           "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "tests.worker_process"], cwd=ROOT, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and any(len(hook.events_of(c)) < 2 for c in cases):
            time.sleep(0.1)
        for c in cases:
            assert hook.events_of(c) == ["case.started", "task.created"], hook.events_of(c)
        # a task completed in this process: the worker process announces it after the rest
        tasks = users["admin"].get(f"/api/tasks?instance_id={cases[0]}").get_json()
        done = users["handler"].post(f"/api/tasks/{tasks[0]['id']}/complete", {"data": VERIFY})
        assert done.status_code == 200, done.get_json()
        db.session.remove()
        while time.time() < deadline and (len(hook.events_of(cases[0])) < 4 or _pending()):
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(10)
    assert hook.events_of(cases[0])[:4] == ["case.started", "task.created", "task.completed", "task.created"]
    assert all(r.signed_ok for r in hook.received) and hook.refused == 2
    for c in cases:  # each case's events arrived in the order of its history
        seqs = [r.body["seq"] for r in hook.received if r.body["instance"]["id"] == c]
        assert seqs == sorted(seqs)
    delivered = db.session.scalars(db.select(WebhookDelivery.attempts).where(WebhookDelivery.status == "delivered")).all()
    assert len(delivered) == len(hook.received)
    assert sum(delivered) == len(delivered) + 2  # the two refusals were retried
    db.session.rollback()


def test_admins_see_the_delivery_log_page(app, users, deployed_complaints, run_worker, receiver):
    from tests.test_ui_support import signed_in, text_of

    hook, url = receiver(fail_first=1)
    _subscribe(users["admin"], url, events=["case.started"])
    case = ComplaintDriver(users, run_worker)
    case.start()  # refused once: pending, with the receiver's answer as the last error
    page = signed_in(app, "admin").get("/admin/webhooks")
    assert page.status_code == 200
    html = text_of(page)
    assert "接口推送" in html and url in html and 'data-status="pending"' in html and "HTTP 500" in html
    assert signed_in(app, "manager").get("/admin/webhooks").status_code == 403


def test_each_task_is_announced_once_through_parallel_completions_and_a_service_task(users, run_worker, receiver):
    """The tasks open before a command decide what it announces as created: on PostgreSQL they
    come with the command's first read (the task and its case; the worker's lock of its job),
    elsewhere from a query of their own. A task still open beside the one completed is not new,
    and the service task that ends the case is announced as its end."""
    from tests.conftest import FIXTURES, deploy_files

    hook, url = receiver()
    _subscribe(users["admin"], url)
    owner, agent, tech = users["owner"], users["agent"], users["tech"]
    assert deploy_files(owner, [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"]).status_code == 201
    iid = agent.post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).get_json()["id"]
    (intake,) = agent.get(f"/api/tasks?instance_id={iid}").get_json()
    assert agent.post(f"/api/tasks/{intake['id']}/complete", {"data": {"amount": 500}}).status_code == 200
    parallel = tech.get(f"/api/tasks?instance_id={iid}").get_json()
    assert sorted(t["bpmn_id"] for t in parallel) == ["inspect", "repair"]
    for task in parallel:
        assert tech.post(f"/api/tasks/{task['id']}/complete", {"data": {}}).status_code == 200
    run_worker()  # the service task, then the deliveries
    assert agent.get(f"/api/process-instances/{iid}").get_json()["status"] == "completed"
    assert hook.events_of(iid) == ["case.started", "task.created", "task.completed", "task.created", "task.created",
                                   "task.completed", "task.completed", "case.ended"]
    created = [r.body["task"]["id"] for r in hook.received if r.body["event"] == "task.created"]
    assert sorted(created) == sorted([intake["id"], *(t["id"] for t in parallel)])
