"""db.session keeps its database connection between transactions (webapp/extensions.py):
each transaction still begins and ends on the database, a reader's connection settings do
not carry over to the next command, and closing the session gives the connection back."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, text

from webapp.api.auth import reads_only
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import PendingMessage
from webapp.sqlite_setup import READ_ONLY


def _kept_messages(name: str) -> int:
    return db.session.scalar(db.select(db.func.count(PendingMessage.id)).where(PendingMessage.name == name))


def _read_as_a_list_does() -> None:
    # the API's list views (api/auth.reads_only): autocommit on PostgreSQL, a plain BEGIN on SQLite
    assert reads_only(lambda: _kept_messages("anything"))() == 0
    assert not db.session().in_transaction()  # the reader's transaction ended with the view


def test_a_command_after_a_readers_transaction_is_one_transaction_again(app):
    _read_as_a_list_does()
    db.session.connection()  # the command's transaction begins
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):  # with the write lock, before it writes anything, as commands do
        other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    runtime.deliver_message("after-a-list", {}, {"n": 1}, actor="tester", commit=False)
    db.session.flush()
    assert _kept_messages("after-a-list") == 1
    db.session.rollback()  # as a command that fails: nothing of it is kept
    assert _kept_messages("after-a-list") == 0
    assert READ_ONLY not in db.session.connection().get_execution_options()
    db.session.rollback()


def test_transactions_in_a_row_each_commit_or_roll_back_on_their_own(app):
    runtime.deliver_message("kept", {}, {"n": 1}, actor="tester")
    runtime.deliver_message("dropped", {}, {"n": 2}, actor="tester", commit=False)
    db.session.rollback()
    runtime.deliver_message("kept", {}, {"n": 3}, actor="tester")
    db.session.remove()
    assert _kept_messages("kept") == 2 and _kept_messages("dropped") == 0
    db.session.rollback()


def test_closing_the_session_gives_its_connection_back_to_the_pool(app):
    pool = db.engine.pool
    assert _kept_messages("nothing") == 0
    db.session.commit()
    assert pool.checkedout() == 1  # kept between transactions
    db.session.remove()
    assert pool.checkedout() == 0


@pytest.fixture
def kept_between_sessions(app, monkeypatch):
    """As in a gunicorn worker (gunicorn.conf.py): a closed session leaves its connection to
    its thread's next session."""
    from webapp import extensions

    monkeypatch.setattr(extensions, "_parked", [])
    extensions.keep_connections_between_sessions()
    yield extensions
    db.session.remove()
    extensions._park_between_sessions = False
    for _, connection, _ in extensions._parked:
        connection.close()


def _driver():
    return db.session.connection().connection.driver_connection


def _committed_elsewhere(app, name: str) -> int:
    """The count as another connection (another process) sees it: only what was committed."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as other:
            return other.scalar(text("SELECT count(*) FROM pending_messages WHERE name = :n"), {"n": name})
    finally:
        engine.dispose()


def test_in_a_server_the_next_session_begins_on_the_connection_the_last_one_used(app, kept_between_sessions):
    pool = db.engine.pool
    runtime.deliver_message("first", {}, {"n": 1}, actor="tester", commit=False)
    first = _driver()
    db.session.commit()
    db.session.remove()  # the request's end
    assert pool.checkedout() == 1  # kept for the next session, not given back
    runtime.deliver_message("second", {}, {"n": 2}, actor="tester", commit=False)
    assert _driver() is first
    assert _committed_elsewhere(app, "first") == 1 and _committed_elsewhere(app, "second") == 0
    db.session.rollback()  # each session's transactions still end on their own
    db.session.remove()
    assert _kept_messages("second") == 0 and _kept_messages("first") == 1
    assert _driver() is first
    assert pool.checkedout() == 1


def test_a_connection_that_is_not_plain_any_more_goes_back_to_the_pool(app, kept_between_sessions):
    pool = db.engine.pool
    assert _kept_messages("nothing") == 0
    db.session.remove()
    kept = db.session.connection(execution_options={READ_ONLY: True})  # a bulk verification's reader
    assert kept.get_execution_options().get(READ_ONLY)
    db.session.remove()
    assert pool.checkedout() == 0  # given back: the pool resets what it carried
    assert READ_ONLY not in db.session.connection().get_execution_options()
    db.session.rollback()


def test_sessions_open_at_once_each_have_their_own_connection_and_the_last_one_left_is_taken_first(
        app, kept_between_sessions):
    mine = _driver()
    db.session.commit()  # this thread's session keeps its connection while another thread's runs
    seen = []

    def request_in_another_thread():
        with app.app_context():
            seen.append(_driver())
            db.session.remove()

    thread = threading.Thread(target=request_in_another_thread)
    thread.start()
    thread.join()
    assert seen[0] is not mine
    db.session.remove()
    # the next session takes the connection left last (SQLite keeps its page cache only on the
    # connection that ran the last transaction), whichever thread left it
    assert _driver() is mine
    db.session.commit()
    db.session.remove()
    thread = threading.Thread(target=request_in_another_thread)
    thread.start()
    thread.join()
    assert seen[1] is mine
    assert db.engine.pool.checkedout() == 2


def test_a_parked_connection_the_pool_would_replace_is_not_taken(app, kept_between_sessions, monkeypatch):
    first = _driver()
    db.session.commit()
    db.session.remove()
    db.engine.dispose()  # a new pool: the parked connection was the old one's
    assert _driver() is not first
    db.session.commit()
    db.session.remove()
    monkeypatch.setattr(db.engine.pool, "_pre_ping", True)  # pool_pre_ping: every check-out pings
    db.session.connection()
    db.session.commit()
    db.session.remove()
    assert db.engine.pool.checkedout() == 0 and kept_between_sessions._parked == []


def test_a_command_after_a_list_in_the_same_session_writes_when_another_process_wrote_between(
        app, users, deployed_complaints, run_worker):
    """A test's requests share one session (one app context). The list's reader transaction
    used to stay open into the next request: a completion then went on in it without the write
    lock and failed with "database is locked" once another process had written meanwhile
    (tests/test_webhooks.py's worker process did, now and then)."""
    from tests.complaint_driver import REGISTER, VERIFY

    started = users["agent"].post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER})
    assert started.status_code == 201
    run_worker()  # the start's service task: the first user task opens
    tasks = users["admin"].get(f"/api/tasks?instance_id={started.get_json()['id']}").get_json()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with create_engine(url).begin() as other:  # another process writes after the list was read
        other.execute(text("INSERT INTO pending_messages (name, correlation, payload, received_at, received_by, "
                           "consumed) VALUES ('elsewhere', '{}', '{}', '2026-03-02 08:00:00', 'x', false)"))
    done = users["handler"].post(f"/api/tasks/{tasks[0]['id']}/complete", {"data": VERIFY})
    assert done.status_code == 200, done.get_json()
