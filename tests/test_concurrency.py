"""Acceptance 4 and 5 of the spine: two clients completing one task at once; a worker
killed with SIGKILL in the middle of a job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.error import HTTPError

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.complaint_driver import ComplaintDriver
from tests.conftest import ROOT
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import ComplaintCase, HistoryEvent, Job


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except HTTPError as err:
        return err.code


def test_two_clients_complete_the_same_task_at_once(users, deployed_complaints, run_worker, live_url, make_client):
    c = ComplaintDriver(users, run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    second = make_client("handler2", ["complaint_handler"])
    data = {"category": "parts", "severity": "normal", "verified": True, "reply_to_customer": "已收到"}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def complete(token: str) -> None:
        barrier.wait()
        statuses.append(_post(f"{live_url}/api/tasks/{task['id']}/complete", token, {"data": data}))

    threads = [threading.Thread(target=complete, args=(t,)) for t in (users["handler"].token, second.token)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    db.session.rollback()
    completions = db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.task_id == task["id"], HistoryEvent.type == "task_completed")
    ).all()
    assert len(completions) == 1


@pytest.mark.slow
def test_worker_killed_mid_job_runs_again_after_its_lease(app, users, deployed_complaints, tmp_path):
    previous = clock.use(clock.SystemClock())  # two real processes share the real clock
    try:
        c = ComplaintDriver(users, run_worker=lambda: None)
        c.start()
        db.session.commit()
        marker = tmp_path / "stalled"
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "JOB_LEASE_SECONDS": "2",
            "WORKER_ID": "slow",
            "SLOW_OPERATOR": "complaint/register_case",
            "SLOW_MARKER": str(marker),
            "PYTHONPATH": str(ROOT),
        }
        slow = subprocess.Popen([sys.executable, "-m", "tests.worker_process"], cwd=ROOT, env=env)
        try:
            deadline = time.time() + 30
            db.session.rollback()
            while not marker.exists() and time.time() < deadline:
                time.sleep(0.05)
            assert marker.exists(), "the slow worker never reached its handler"
        finally:
            os.kill(slow.pid, signal.SIGKILL)
            slow.wait()
        db.session.rollback()
        job = db.session.scalar(db.select(Job).where(Job.instance_id == c.instance_id))
        assert job.status == "ready" and job.locked_by == "slow" and job.attempts == 1
        assert db.session.scalar(db.select(ComplaintCase).where(ComplaintCase.number == c.business_key)) is None

        env.pop("SLOW_OPERATOR")
        healthy = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--id", "healthy"],
            cwd=ROOT,
            env={**env, "WORKER_POLL_SECONDS": "0.1"},
        )
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                status = db.session.scalar(db.select(Job.status).where(Job.id == job.id))
                db.session.rollback()  # never sleep inside a transaction: SQLite has one writer
                if status == "done":
                    break
                time.sleep(0.1)
        finally:
            healthy.terminate()
            healthy.wait(timeout=10)
        db.session.rollback()
        assert job.status == "done" and job.attempts == 2
        cases = db.session.scalars(db.select(ComplaintCase).where(ComplaintCase.number == c.business_key)).all()
        assert len(cases) == 1
        completions = db.session.scalars(
            db.select(HistoryEvent).where(HistoryEvent.instance_id == c.instance_id, HistoryEvent.type == "service_completed")
        ).all()
        assert [e.actor for e in completions] == ["worker:healthy"]
        assert "verify_complaint" in c.open_tasks("handler")
    finally:
        clock.use(previous)


def test_parallel_starts_get_distinct_case_numbers(users, deployed_complaints, live_url):
    """The first complaints of a day started at the same moment by several clients each get
    their own number (one atomic upsert of the day's counter)."""
    from tests.complaint_driver import REGISTER

    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def start_five() -> None:
        barrier.wait()
        for _ in range(5):
            statuses.append(
                _post(
                    f"{live_url}/api/process-instances",
                    users["agent"].token,
                    {"process_key": "complaint_handling", "data": REGISTER},
                )
            )

    db.session.rollback()  # the test thread holds no transaction while the server's threads write
    threads = [threading.Thread(target=start_five) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 20
    db.session.rollback()
    from webapp.models import Instance

    numbers = db.session.scalars(db.select(Instance.business_key)).all()
    assert sorted(numbers) == [f"TS-20260302-{n:04d}" for n in range(1, 21)]


def test_a_twin_event_reported_late_by_the_database_is_a_conflict(app, users, deployed_complaints, run_worker, monkeypatch):
    """Another command took the next sequence number after this one read the case: its history
    INSERT fails. On PostgreSQL that INSERT goes out unread in the pipeline, so the error
    arrives with a later statement of the command (here the projection's, which is slowed down
    so the answer is surely there): still a 409 that keeps nothing, never a 500."""
    from webapp.engine import projection, runtime
    from webapp.engine.errors import Conflict
    from webapp.models import InboxTask, Instance

    c = ComplaintDriver(users, run_worker=run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    db.session.commit()
    last = db.session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == c.instance_id)
                              .order_by(HistoryEvent.seq.desc()).limit(1)).one()
    twin = {column.key: getattr(last, column.key) for column in HistoryEvent.__table__.columns if column.key != "id"}
    twin["seq"] = last.seq + 1
    db.session.rollback()  # SQLite: the read's transaction holds the one writer's lock
    with db.engine.begin() as other:  # the other command's event, committed first
        other.execute(HistoryEvent.__table__.insert().values(twin))
    real_project = projection.project

    def slow_project(*args, **kwargs):
        time.sleep(0.3)
        return real_project(*args, **kwargs)

    monkeypatch.setattr(projection, "project", slow_project)
    data = {"category": "parts", "severity": "normal", "verified": True, "reply_to_customer": "已收到"}
    try:
        with pytest.raises(Conflict):
            runtime.complete_user_task(task["id"], data, actor="handler", roles={"complaint_handler"})
    finally:
        with db.engine.begin() as other:
            other.execute(HistoryEvent.__table__.delete().where(HistoryEvent.instance_id == c.instance_id,
                                                                 HistoryEvent.seq == twin["seq"]))
    db.session.rollback()
    assert db.session.get(InboxTask, task["id"]).state == "open"
    assert db.session.get(Instance, c.instance_id).last_seq == twin["seq"] - 1


_VERIFY_DATA = {"category": "parts", "severity": "normal", "verified": True, "reply_to_customer": "已收到"}


def _a_case_another_command_changes(users, run_worker, monkeypatch) -> tuple:
    """A complaint at its verify task, whose next command meets its row changed by another
    command after it read it (written in the same transaction so that SQLite, one writer,
    can have it too). Returns (case, task, its version and last event before, undo)."""
    from webapp.engine import plain_sql, projection
    from webapp.models import Instance

    c = ComplaintDriver(users, run_worker=run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    db.session.commit()
    before = db.session.get(Instance, c.instance_id)
    version, last_seq = before.version, before.last_seq
    db.session.rollback()
    real_project = projection.project
    bump = plain_sql.Statement(Instance.__table__.update().where(Instance.__table__.c.id == c.instance_id)
                               .values(version=Instance.__table__.c.version + 1))

    def project_after_another_write(*args, **kwargs):
        plain_sql.send(db.session, bump, {})  # the row is no longer at the version this command read
        return real_project(*args, **kwargs)

    monkeypatch.setattr(projection, "project", project_after_another_write)
    return c, task, version, last_seq, lambda: monkeypatch.setattr(projection, "project", real_project)


def _nothing_kept(c, task, version: int, last_seq: int) -> None:
    from webapp.models import InboxTask, Instance

    db.session.rollback()
    assert db.session.get(InboxTask, task["id"]).state == "open"
    after = db.session.get(Instance, c.instance_id)
    assert (after.version, after.last_seq) == (version, last_seq)
    assert db.session.scalar(select(func.count()).select_from(HistoryEvent)
                             .where(HistoryEvent.instance_id == c.instance_id)) == last_seq


def test_a_case_changed_after_the_command_read_it_is_a_conflict_that_keeps_nothing(app, users, deployed_complaints,
                                                                                   run_worker, monkeypatch):
    """The versioned instance UPDATE finds the row at another version (another command
    committed in between): a 409 and nothing of this command kept. On PostgreSQL a command
    that commits sends that UPDATE unread and learns of the stale row from its COMMIT's sync
    (the UPDATE fails by itself), so this covers that path as well as the row count read."""
    from webapp.engine import runtime
    from webapp.engine.errors import Conflict

    c, task, version, last_seq, undo = _a_case_another_command_changes(users, run_worker, monkeypatch)
    with pytest.raises(Conflict):
        runtime.complete_user_task(task["id"], _VERIFY_DATA, actor="handler", roles={"complaint_handler"})
    undo()
    _nothing_kept(c, task, version, last_seq)


def test_an_api_completion_of_a_case_changed_meanwhile_is_a_409_that_keeps_nothing(app, users, deployed_complaints,
                                                                                 run_worker, monkeypatch):
    """The API's completion reads its answer from the command before committing, and on
    PostgreSQL leaves the stale-case check to that commit's sync: the answer is still the
    conflict's 409, and nothing of the command is kept."""
    c, task, version, last_seq, undo = _a_case_another_command_changes(users, run_worker, monkeypatch)
    answer = users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": _VERIFY_DATA})
    undo()
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["code"] == "version_conflict"
    _nothing_kept(c, task, version, last_seq)
    assert users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": _VERIFY_DATA}).status_code == 200


def test_on_postgresql_an_api_completion_syncs_with_the_server_once(app, users, deployed_complaints, run_worker,
                                                                  pipeline_syncs):
    """The API's completion: its token read, its command and its commit in one transaction
    that waits for the server's answer to everything once (the commit's sync), the
    stale-case check included (tests/test_concurrency.py: still a 409 that keeps nothing)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pipeline (TEST_DATABASE_URL)")
    c = ComplaintDriver(users, run_worker=run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    db.session.rollback()
    pipeline_syncs.clear()
    data = {"category": "parts", "severity": "normal", "verified": True, "reply_to_customer": "已收到"}
    answer = users["handler"].post(f"/api/tasks/{task['id']}/complete", {"data": data})
    assert answer.status_code == 200, answer.get_json()
    assert len(pipeline_syncs) == 1
