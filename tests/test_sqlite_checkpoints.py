"""SQLite checkpoints run on a thread of the process, not inside a command's commit
(webapp/sqlite_setup.py): what commands commit still reaches the database file."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text

from webapp import sqlite_setup
from webapp.extensions import db


@pytest.fixture
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    return app


def _rows_in_database_file(path) -> int:
    """Rows of table t in the database file itself (immutable: the WAL is not read)."""
    connection = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.OperationalError:  # the table itself is still only in the WAL
        return 0
    finally:
        connection.close()


def test_commits_reach_the_database_file_through_the_checkpoint_thread(sqlite_only, monkeypatch):
    monkeypatch.setattr(sqlite_setup, "CHECKPOINT_EVERY", 5)
    checkpointer = sqlite_setup.checkpointer_of(db.engine)
    # the commands' own connections leave checkpoints to the thread (a backstop far above)
    pages = db.session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == sqlite_setup.AUTOCHECKPOINT_PAGES
    db.session.commit()
    checkpointer.commits = 0
    rounds = checkpointer.rounds
    db.session.execute(text("CREATE TABLE t (x INTEGER)"))
    db.session.commit()
    for n in range(9):
        db.session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        db.session.commit()
    # Woken before the fifth commit landed: the table and at least three rows reach the file.
    # Waiting for the rows, not only for the round counter to move: a checkpoint that earlier
    # commits woke may finish after `rounds` was read, before any of these rows existed (on a
    # loaded machine it did), and the round this test woke runs after it.
    deadline = time.monotonic() + 10
    while (checkpointer.rounds == rounds or _rows_in_database_file(checkpointer.path) < 3) \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.rounds > rounds, "no checkpoint ran"
    assert _rows_in_database_file(checkpointer.path) >= 3


def test_a_database_file_that_has_gone_is_not_created_again(tmp_path):
    checkpointer = sqlite_setup.Checkpointer(tmp_path / "gone.db")
    checkpointer.checkpoint()
    assert not (tmp_path / "gone.db").exists()
