"""db.session keeps its database connection between transactions (webapp/extensions.py):
each transaction still begins and ends on the database, a reader's connection settings do
not carry over to the next command, and closing the session gives the connection back."""

from __future__ import annotations

import sqlite3

import pytest

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
    db.session.rollback()


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
