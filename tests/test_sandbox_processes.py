"""Issue 12, acceptance 1 with real processes: a gunicorn server (two workers) and a
worker process. Runaway timers end as incidents on their instances, a runaway start is a
400 naming the element, a healthy timer instance started at the same moment completes, and
/healthz answers all the while."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.error import HTTPError, URLError

import pytest

from tests.conftest import ROOT
from tests.sandbox_diagrams import deploy, start_script, timer_then_script
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import Instance, Job

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method: str, url: str, token: str | None = None, body: dict | None = None, timeout: float = 20) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server ended"
        try:
            if _call("GET", url, timeout=2)[0] == 200:
                return
        except (URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not start")


def test_runaway_code_stops_only_its_own_instance(app, users, tmp_path):
    previous = clock.use(clock.SystemClock())  # the processes share the real clock
    processes: list[subprocess.Popen] = []
    try:
        owner = users["owner"]
        assert deploy(owner, timer_then_script("spin", "while True: pass"), "spin.bpmn").status_code == 201
        assert deploy(owner, timer_then_script("csum", "x = sum(range(10**13))"), "csum.bpmn").status_code == 201
        assert deploy(owner, timer_then_script("healthy", "done = True"), "healthy.bpmn").status_code == 201
        assert deploy(owner, start_script("hog", "x = sum(range(10**13))"), "hog.bpmn").status_code == 201
        db.session.commit()

        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app.config["SECRET_KEY"],  # the server refuses to start without one
            "SCRIPT_TIME_LIMIT_SECONDS": "1",
            "WORKER_POLL_SECONDS": "0.1",
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "WARNING",
        }
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "webapp:create_app()"]
        server = subprocess.Popen(
            command,
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        processes.append(server)
        _wait_until_up(f"{base}/healthz", server)
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--id", "sandbox-test"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "worker.log").open("w"),
        )
        processes.append(worker)

        token = users["agent"].token
        health: list[int | str] = []
        stop = threading.Event()

        def watch_health() -> None:
            while not stop.is_set():
                try:
                    health.append(_call("GET", f"{base}/healthz", timeout=10)[0])
                except (URLError, OSError) as err:  # a timeout or a refused connection
                    health.append(repr(err))
                time.sleep(0.05)

        watcher = threading.Thread(target=watch_health, daemon=True)
        watcher.start()
        ids = {}
        for key in ("spin", "csum", "healthy"):
            status, body = _call("POST", f"{base}/api/process-instances", token, {"process_key": key, "data": {}})
            assert status == 201, body
            ids[key] = body["id"]
        started = time.monotonic()
        status, body = _call("POST", f"{base}/api/process-instances", token, {"process_key": "hog", "data": {}})
        assert status == 400 and "bad_script" in body["errors"], body
        assert time.monotonic() - started < 1 + 5  # the limit, plus a margin for a loaded machine

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            healthy = db.session.get(Instance, ids["healthy"]).status
            incidents = len(db.session.scalars(db.select(Job).where(Job.status == "incident")).all())
            db.session.rollback()  # never wait inside a transaction: SQLite has one writer
            if healthy == "completed" and incidents == 2:
                break
            time.sleep(0.2)
        stop.set()
        watcher.join(timeout=15)
        db.session.rollback()
        worker_log = (tmp_path / "worker.log").read_text()[-3000:]
        assert db.session.get(Instance, ids["healthy"]).status == "completed", worker_log
        incidents = db.session.scalars(db.select(Job).where(Job.status == "incident").order_by(Job.instance_id)).all()
        assert [(j.instance_id, j.bpmn_id) for j in incidents] == [(ids["spin"], "after_timer"), (ids["csum"], "after_timer")]
        assert all("limit of 1 s" in j.last_error for j in incidents)
        assert {db.session.get(Instance, ids[k]).status for k in ("spin", "csum")} == {"running"}
        assert health and set(health) == {200}, health  # answered throughout
        assert not watcher.is_alive()
        assert server.poll() is None and worker.poll() is None  # nobody was taken down
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        clock.use(previous)
        db.session.rollback()
