"""SQLite under concurrent requests (webapp/sqlite_setup.py): a command waiting for the write
lock gets it soon after it is released, gives up with the usual error after the busy timeout,
and the API's lists read beside a writer instead of queueing for its lock."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from flask import current_app
from sqlalchemy import text

from tests.complaint_driver import ComplaintDriver
from webapp import sqlite_setup
from webapp.extensions import db


def _database_file(app) -> str:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's write lock")
    return url.removeprefix("sqlite:///")


def _hold_write_lock(path: str) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_gets_the_lock_soon_after_another_process_releases_it(app):
    other = _hold_write_lock(_database_file(app))
    db.session.remove()
    releaser = threading.Timer(0.3, other.rollback)
    releaser.start()
    started = time.monotonic()
    try:
        db.session.execute(text("SELECT 1"))  # begins the transaction: BEGIN IMMEDIATE waits
        waited = time.monotonic() - started
        assert 0.25 < waited < 0.5
        # and its transaction holds the lock now: another writer cannot begin
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        releaser.join()
        db.session.rollback()
        other.close()
    # the busy timeout for the transaction's other statements is back to the configured one
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == sqlite_setup.BUSY_TIMEOUT_MS
    db.session.rollback()


def test_a_writer_gives_up_after_the_busy_timeout(app, monkeypatch):
    other = _hold_write_lock(_database_file(app))
    db.session.remove()
    monkeypatch.setattr(sqlite_setup, "BUSY_TIMEOUT_MS", 200)
    started = time.monotonic()
    try:
        with pytest.raises(Exception, match="database is locked"):
            db.session.execute(text("SELECT 1"))
        assert 0.15 < time.monotonic() - started < 2
    finally:
        db.session.rollback()
        other.close()


def test_lists_answer_while_a_command_holds_the_write_lock(users, deployed_complaints, run_worker, monkeypatch):
    admin = users["admin"]
    driver = ComplaintDriver(users, run_worker)
    driver.start()
    instance_id = driver.instance_id
    monkeypatch.setattr(sqlite_setup, "BUSY_TIMEOUT_MS", 200)  # a request that waited would fail
    db.session.remove()
    other = _hold_write_lock(_database_file(current_app))
    try:
        tasks = admin.get(f"/api/tasks?instance_id={instance_id}")
        assert tasks.status_code == 200 and {t["instance_id"] for t in tasks.get_json()} == {instance_id}
        instances = admin.get("/api/process-instances?process_key=complaint_handling")
        assert instances.status_code == 200 and [i["id"] for i in instances.get_json()] == [instance_id]
        # a command still takes the write lock, so it waits (here: gives up) while another writes
        task_id = tasks.get_json()[0]["id"]
        db.session.remove()  # the test's app context outlives its requests: end the list's reader
        with pytest.raises(Exception, match="database is locked"):
            admin.post(f"/api/tasks/{task_id}/complete", {"data": {}})
    finally:
        other.close()
        db.session.remove()
