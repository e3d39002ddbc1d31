"""Verify and replay read one snapshot of a case. A command that commits on the case while
they read (another gunicorn worker, another thread) must not make an intact history look
tampered with: the instance row (its chain head and snapshot) and the events must come from
the same moment. SQLite in WAL mode gives a transaction one snapshot; on PostgreSQL the
reads run in a REPEATABLE READ, READ ONLY transaction (under READ COMMITTED each statement
would see whatever had been committed when it started)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.complaint_driver import ComplaintDriver
from tests.test_ui_support import signed_in
from webapp.audit import bulk_verify
from webapp.engine import history, runtime
from webapp.extensions import db

COMMIT_WAIT_SECONDS = 10
SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "verify_history.py"


def _another_command_during_the_event_read(app, monkeypatch, task_id: str, reader: str = "event_rows") -> threading.Event:
    """Patch history's `reader` (what reads a case's events) so that, the first time it
    runs, another thread claims the task (a command: one more event, the instance row
    updated) and commits before the events are read. Returns the event set once that
    command has committed."""
    committed = threading.Event()
    failures: list[BaseException] = []
    real = getattr(history, reader)

    def claim_elsewhere() -> None:
        try:
            with app.app_context():
                runtime.claim_task(task_id, actor="handler", roles={"complaint_handler"})
                db.session.remove()
            committed.set()
        except BaseException as err:  # reported by the test
            failures.append(err)
            committed.set()

    def event_rows(*args, **kwargs):
        if not hasattr(event_rows, "thread"):
            event_rows.thread = threading.Thread(target=claim_elsewhere)
            event_rows.thread.start()
            committed.wait(COMMIT_WAIT_SECONDS)
            assert not failures, failures
        return real(*args, **kwargs)

    monkeypatch.setattr(history, reader, event_rows)
    committed.failures = failures  # type: ignore[attr-defined]
    return committed


@pytest.fixture
def complaint_at_verify(users, deployed_complaints, run_worker):
    c = ComplaintDriver(users, run_worker)
    c.start()
    task = c.open_tasks("handler")["verify_complaint"]
    events_before = len(c.history_types())
    db.session.remove()  # the requests below begin their own transactions, as in a server
    return c, task, events_before


def test_verify_reads_one_snapshot_while_another_command_commits(app, users, complaint_at_verify, monkeypatch):
    c, task, events_before = complaint_at_verify
    committed = _another_command_during_the_event_read(app, monkeypatch, task["id"])

    result = c.verified()

    assert result == {"verified": True, "events": events_before}
    # the command did not wait for the verification to end (SQLite: no write lock taken)
    assert committed.is_set() and not committed.failures
    monkeypatch.undo()
    db.session.remove()
    assert c.history_types()[-1] == "task_claimed"
    assert c.verified() == {"verified": True, "events": events_before + 1}


def test_replay_reads_one_snapshot_while_another_command_commits(app, users, complaint_at_verify, monkeypatch):
    c, task, events_before = complaint_at_verify
    committed = _another_command_during_the_event_read(app, monkeypatch, task["id"])

    r = users["auditor"].get(f"/api/process-instances/{c.instance_id}/replay")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["upto"] == events_before
    assert committed.is_set() and not committed.failures


def test_bulk_verify_reads_one_snapshot_while_another_command_commits(app, users, complaint_at_verify, monkeypatch):
    c, task, events_before = complaint_at_verify
    committed = _another_command_during_the_event_read(app, monkeypatch, task["id"])

    report = bulk_verify.verify_ids(app, [c.instance_id], 1)

    assert report.failures == []
    assert report.events == events_before
    assert committed.is_set() and not committed.failures


def test_a_case_exported_while_another_command_commits_verifies_offline(app, users, complaint_at_verify, monkeypatch,
                                                                         tmp_path):
    c, task, events_before = complaint_at_verify
    auditor = signed_in(app, "auditor")
    db.session.remove()
    committed = _another_command_during_the_event_read(app, monkeypatch, task["id"], reader="events_of")

    response = auditor.get(f"/audit/cases/{c.instance_id}/export.json")

    assert response.status_code == 200
    assert committed.is_set() and not committed.failures
    exported = tmp_path / "case.json"
    exported.write_bytes(response.get_data())
    checked = subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), str(exported)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"OK case {c.business_key}: {events_before} events" in checked.stdout
