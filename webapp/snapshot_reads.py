"""Read transactions that see the database at one moment: what verify and replay need.

Verify compares a case's instance row (its chain head, its snapshot) with its events, read
by separate statements. Under PostgreSQL's default READ COMMITTED each statement sees what
was committed when it began, so a command committing on the case between the two reads
(another gunicorn worker, the worker process) made an intact history look tampered with
("events missing"). REPEATABLE READ gives the whole transaction the snapshot of its first
statement; READ ONLY states that it writes nothing. SQLite in WAL mode gives every
transaction one snapshot already; its plain BEGIN (sqlite_setup.READER_BEGIN) also spares the
readers the write lock, so a long verification does not hold up the commands.

Such a transaction must end (commit or rollback) before its caller writes: on PostgreSQL the
session's connection, carrying these options, is then given back to the pool (extensions.py);
on SQLite the next transaction begins as the commands' do.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, scoped_session

from .sqlite_setup import READ_ONLY, begin_as_reader

_POSTGRESQL = {READ_ONLY: True, "isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


class PendingWrites(RuntimeError):
    """begin_one_snapshot was called on a session holding changes it would have discarded."""


def begin_one_snapshot(session: Session | scoped_session) -> None:
    """End the session's transaction, if it has one (it must hold no unflushed changes: a
    read-only view's token or user check is all it may have read), and begin one that
    reads a single snapshot and writes nothing."""
    if isinstance(session, scoped_session):
        session = session()
    if session.new or session.dirty or session.deleted:
        raise PendingWrites("a snapshot read would discard the session's unsaved changes")
    if session.in_transaction():
        session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options=_POSTGRESQL)
        return
    # SQLite: the reader's BEGIN without an execution option, which would cost the held
    # connection (~60 µs of CPU a verify, 2-3 %)
    begin_as_reader(session)
