"""Flask extension objects, created once and bound in create_app."""

from __future__ import annotations

import os
import time
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.orm import DeclarativeBase

from .json_columns import loads as _json_loads

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


try:
    from psycopg.pq import TransactionStatus

    _PG_IDLE = TransactionStatus.IDLE
except ImportError:  # SQLite only
    _PG_IDLE = None


def _idle(connection: Connection) -> bool:
    """Whether the driver's connection is outside any transaction. A commit that failed
    (PostgreSQL: a stale case found by the COMMIT's sync) leaves SQLAlchemy's transaction
    closed without rolling the driver's back: the pool's reset on check-in did that, so such
    a connection goes back to the pool."""
    driver = connection.connection.driver_connection
    pgconn = getattr(driver, "pgconn", None)
    if pgconn is not None:
        return pgconn.transaction_status == _PG_IDLE
    return not getattr(driver, "in_transaction", False)


_INHERITED: list[Connection] = []  # a forked child's copies of its parent's connections: never closed here


# Connections closed sessions left for the next ones: (engine, connection, pid), the one
# left last at the end. Taken last-in first-out, as the pool hands them out (webapp/__init__.py,
# _pool_defaults): a SQLite connection keeps its page cache only when no other connection
# committed since its last transaction, and a thread of its own per connection would lose it
# whenever the next request runs on another thread (gthread's threads take requests in turn).
_parked: list[tuple[Engine, Connection, int]] = []
_PARKED_MAX = 16  # more than a process's threads ever hold at once: the rest go back to the pool
_park_between_sessions = False


def keep_connections_between_sessions() -> None:
    """From now on, in this process, a closed session leaves its connection to the next
    session that begins (HeldConnectionSession), instead of giving it back to the pool: a
    request then begins its transaction on the connection the last request used, without
    the pool's check-out, check-in and reset and a new Connection object (~40 µs a request,
    docs/benchmarks.md, HTTP, issue 17's twelfth stop). For gunicorn's workers, which serve
    request after request (gunicorn.conf.py); not for tests or CLI commands, whose sessions
    give their connection back when closed, as before. A connection that is not plain any
    more (a transaction, other execution options, invalidated, closed, a forked copy, the
    driver still in a transaction) goes back to the pool as before."""
    global _park_between_sessions
    _park_between_sessions = True


def _take_parked() -> tuple[Engine, Connection, int] | None:
    try:
        return _parked.pop()  # atomic under the GIL: two threads never take the same one
    except IndexError:
        return None


class HeldConnectionSession(_FlaskSession):
    """Flask-SQLAlchemy's session, keeping its connection between transactions until it is
    closed (the app context's end, `db.session.remove()`), instead of checking one out of
    the pool at every transaction's start and back in (with the pool's reset) at its end:
    that round trip through SQLAlchemy's engine and pool was ~130 µs of client CPU per
    command on PostgreSQL, a fifth of a command's session machinery (docs/benchmarks.md).

    Each transaction still begins and ends on the database as before (commit, rollback,
    SQLite's BEGIN IMMEDIATE through the engine's "begin" event): only the connection object
    stays. A connection that is no longer plain is given back to the pool at the next
    transaction instead (the pool resets what it carries): one given execution options (a
    reader's isolation level, SQLite's read-only BEGIN), invalidated or closed; and one
    inherited through fork is left alone (its socket is the parent's); one whose driver is
    still in a transaction after SQLAlchemy's ended (a failed commit) is reset by the pool.
    In gunicorn's workers a closed session leaves its plain connection to the next session
    (keep_connections_between_sessions)."""

    def __init__(self, db: SQLAlchemy, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        self._held: dict[Engine, tuple[Connection, int]] = {}

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is not None or found.__class__ is not Engine:
            return found  # a caller's own connection (joining an external transaction)
        held = self._held.get(found)
        if held is not None:
            connection, pid = held
            if connection._transaction is not None:
                return connection  # the transaction's, whatever it carries
            if _plain(connection, found, pid):
                return connection
            self._release(connection, pid)
        elif _park_between_sessions and (parked := _take_parked()) is not None:
            engine, connection, pid = parked
            if engine is found and _parkable(connection, found, pid):
                self._held[found] = (connection, pid)
                return connection
            self._release(connection, pid)  # another app's (tests), or one the pool would replace
        connection = found.connect()
        self._held[found] = (connection, os.getpid())
        return connection

    @staticmethod
    def _release(connection: Connection, pid: int, *, invalidate: bool = False) -> None:
        if pid != os.getpid():
            _INHERITED.append(connection)  # closing it would end the parent's session on the server
            return
        if invalidate and not connection.invalidated:
            connection.invalidate()
        connection.close()

    def _close_impl(self, invalidate: bool, is_reset: bool = False) -> None:
        try:
            super()._close_impl(invalidate, is_reset)
        finally:
            held, self._held = self._held, {}
            for engine, (connection, pid) in held.items():
                if _park_between_sessions and not invalidate and _parkable(connection, engine, pid):
                    _parked.append((engine, connection, pid))
                    if len(_parked) > _PARKED_MAX:
                        try:
                            oldest = _parked.pop(0)
                        except IndexError:
                            continue
                        self._release(oldest[1], oldest[2])
                else:
                    self._release(connection, pid, invalidate=invalidate)


def _plain(connection: Connection, engine: Engine, pid: int) -> bool:
    """A held connection the next transaction may begin on as on one fresh from the pool."""
    return (pid == os.getpid() and connection._execution_options is engine._execution_options
            and not connection.closed and not connection.invalidated and _idle(connection))


def _parkable(connection: Connection, engine: Engine, pid: int) -> bool:
    """Plain, and one the pool's check-out would hand out as it is: from this pool (not one
    disposed of since), not older than the pool's last invalidation (a disconnect seen on any
    of its connections) nor than its pool_recycle, and the pool does nothing at check-out
    (pool_pre_ping, a checkout listener): so a server restart costs one failed request, as
    with the pool, and those settings keep their meaning."""
    if connection._transaction is not None or not _plain(connection, engine, pid):
        return False
    fairy, pool = connection.connection, engine.pool
    record = getattr(fairy, "_connection_record", None)
    if (record is None or getattr(fairy, "_pool", None) is not pool or pool._pre_ping or pool.dispatch.checkout
            or record._is_hard_or_soft_invalidated()):
        return False
    return pool._recycle < 0 or time.time() - record.starttime <= pool._recycle


# JSON columns read through orjson where it reads the same values (json_columns); the
# config's SQLALCHEMY_ENGINE_OPTIONS still override these defaults
db = SQLAlchemy(
    model_class=Base, engine_options={"json_deserializer": _json_loads},
    session_options={"class_": HeldConnectionSession},
)
migrate = Migrate()
