"""Issue 5, acceptance 1, on PostgreSQL: 4 worker processes and 1,000 jobs, each executed
exactly once; a worker killed mid-job; two web processes completing the same task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from urllib.error import HTTPError

import pytest
from sqlalchemy import func, select

from tests.complaint_driver import ComplaintDriver
from tests.conftest import FIXTURES, ROOT, deploy_files
from webapp.engine import clock, runtime
from webapp.extensions import db
from webapp.models import ComplaintCase, Escalation, HistoryEvent, Instance, Job

pytestmark = pytest.mark.slow


@pytest.fixture
def real_clock():
    previous = clock.use(clock.SystemClock())  # several real processes share the real clock
    yield
    clock.use(previous)


def _worker(app, worker_id: str, **extra) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "WORKER_ID": worker_id,
           "PYTHONPATH": str(ROOT), **extra}
    return subprocess.Popen([sys.executable, "-m", "tests.worker_process"], cwd=ROOT, env=env)


def _wait(predicate, seconds: float = 120) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        done = predicate()
        db.session.rollback()  # never wait inside a transaction
        if done:
            return True
        time.sleep(0.2)
    return False


def test_four_workers_run_a_thousand_jobs_exactly_once(app, users, real_clock):
    assert deploy_files(users["owner"], [FIXTURES / "one_service.bpmn"]).status_code == 201
    for n in range(1000):
        runtime.start_instance("one_service", {}, actor="test", business_key=f"JOB-{n:04d}", commit=False)
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    workers = [_worker(app, f"w{i}") for i in range(4)]
    try:
        finished = _wait(lambda: db.session.scalar(select(func.count()).where(Job.status == "done")) == 1000)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    assert finished, "the workers did not finish 1000 jobs in time"
    executions = Counter(db.session.scalars(select(Escalation.case_number)).all())
    assert len(executions) == 1000 and set(executions.values()) == {1}
    assert db.session.scalar(select(func.count()).where(Instance.status == "completed")) == 1000
    completions = db.session.scalars(select(HistoryEvent.actor).where(HistoryEvent.type == "service_completed")).all()
    assert len(completions) == 1000
    by_worker = Counter(completions)
    assert len(by_worker) == 4, by_worker  # every worker took part


def test_worker_killed_mid_job_on_postgresql(app, users, deployed_complaints, tmp_path, real_clock):
    c = ComplaintDriver(users, run_worker=lambda: None)
    c.start()
    db.session.commit()
    marker = tmp_path / "stalled"
    slow = _worker(app, "slow", JOB_LEASE_SECONDS="2", SLOW_OPERATOR="complaint/register_case", SLOW_MARKER=str(marker))
    try:
        assert _wait(marker.exists, 30), "the slow worker never reached its handler"
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait()
    assert db.session.scalar(select(ComplaintCase).where(ComplaintCase.number == c.business_key)) is None
    healthy = _worker(app, "healthy", JOB_LEASE_SECONDS="2")
    try:
        assert _wait(lambda: db.session.scalar(select(Job.status).where(Job.instance_id == c.instance_id)) == "done", 30)
    finally:
        healthy.terminate()
        healthy.wait(timeout=30)
    assert len(db.session.scalars(select(ComplaintCase).where(ComplaintCase.number == c.business_key)).all()) == 1
    job = db.session.scalar(select(Job).where(Job.instance_id == c.instance_id))
    assert job.attempts == 2


def test_heartbeat_keeps_a_long_job_from_being_taken(app, users, deployed_complaints, tmp_path, real_clock):
    c = ComplaintDriver(users, run_worker=lambda: None)
    c.start()
    db.session.commit()
    marker = tmp_path / "stalled"
    slow = _worker(app, "slow", JOB_LEASE_SECONDS="1", SLOW_OPERATOR="complaint/register_case",
                   SLOW_MARKER=str(marker), SLOW_SECONDS="4")
    workers = [slow]
    try:
        assert _wait(marker.exists, 30), "the slow worker never reached its handler"
        workers.append(_worker(app, "other", JOB_LEASE_SECONDS="1"))  # polls while the 4 s handler runs
        assert _wait(lambda: db.session.scalar(select(Job.status).where(Job.instance_id == c.instance_id)) == "done", 60)
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
    job = db.session.scalar(select(Job).where(Job.instance_id == c.instance_id))
    assert job.attempts == 1  # the lease (1 s) was renewed while the 4 s handler ran
    completions = db.session.scalars(
        select(HistoryEvent.actor).where(HistoryEvent.instance_id == c.instance_id, HistoryEvent.type == "service_completed")
    ).all()
    assert completions == ["worker:slow"]


def _serve(app, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PYTHONPATH": str(ROOT),
           "SECRET_KEY": app.config["SECRET_KEY"]}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "webapp:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except HTTPError as err:
        return err.code


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_two_web_processes_complete_the_same_task(app, users, deployed_complaints, make_client, real_clock):
    from workers.loop import drain

    c = ComplaintDriver(users, run_worker=drain)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    second = make_client("handler2", ["complaint_handler"])
    db.session.commit()
    servers = [_serve(app, port) for port in (56101, 56102)]
    try:
        assert _wait(lambda: _up(56101) and _up(56102), 60)
        data = {"category": "parts", "severity": "normal", "verified": True, "reply_to_customer": "已收到"}
        barrier = threading.Barrier(2)
        statuses = []

        def complete(port: int, token: str) -> None:
            barrier.wait()
            statuses.append(_post(f"http://127.0.0.1:{port}/api/tasks/{task['id']}/complete", token, {"data": data}))

        threads = [threading.Thread(target=complete, args=a) for a in ((56101, users["handler"].token), (56102, second.token))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=30)
    assert sorted(statuses) == [200, 409]
    events = db.session.scalars(
        select(HistoryEvent).where(HistoryEvent.task_id == task["id"], HistoryEvent.type == "task_completed")
    ).all()
    assert len(events) == 1
