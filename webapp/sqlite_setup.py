"""SQLite as the embedded default: WAL, a busy timeout, and writers that queue up.

pysqlite starts transactions lazily, so two requests can both read and then fail when they
try to write. BEGIN IMMEDIATE takes the write lock at the start of every transaction, so a
second command waits, then reads the state the first one committed (SQLAlchemy's
documented recipe for pysqlite transactions).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        driver = connection.connection.driver_connection
        if connection.get_execution_options().get(READ_ONLY):
            driver.execute("BEGIN")  # a reader: WAL lets it run beside the writer and other readers
        else:
            # on the driver: the same statement without SQLAlchemy's per-execution work (every
            # command begins here)
            driver.execute("BEGIN IMMEDIATE")


# An execution option for a transaction that only reads (a bulk verification): its BEGIN does
# not take the write lock, so it neither waits for commands nor makes them wait.
READ_ONLY = "aftersales_read_only"
