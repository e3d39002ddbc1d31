"""SQLite as the embedded default: WAL, a busy timeout, and writers that queue up.

pysqlite starts transactions lazily, so two requests can both read and then fail when they
try to write. BEGIN IMMEDIATE takes the write lock at the start of every transaction, so a
second command waits, then reads the state the first one committed (SQLAlchemy's
documented recipe for pysqlite transactions).
"""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30000
# How long a writer sleeps between tries for the write lock: short and flat. SQLite's own busy
# handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms..., so a command that found
# the lock held once sleeps far longer than the 1-3 ms a command holds it, while the others
# take the lock in turn (it is not fair) and the cores idle.
_RETRY_SLEEP = (0.0002, 0.0005, 0.001, 0.002)


def _begin_immediate(driver) -> None:
    """BEGIN IMMEDIATE, retried in short sleeps while another connection holds the write lock,
    for up to BUSY_TIMEOUT_MS as before (then the same "database is locked" error). Only this
    statement answers at once when busy; the transaction's other statements keep SQLite's busy
    timeout (a reader in WAL mode rarely waits, and then briefly)."""
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline, tries = None, 0
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + BUSY_TIMEOUT_MS / 1000
                elif now > deadline:
                    raise
            time.sleep(_RETRY_SLEEP[min(tries, len(_RETRY_SLEEP) - 1)])
            tries += 1
    finally:
        driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
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
            _begin_immediate(driver)


# An execution option for a transaction that only reads (a bulk verification): its BEGIN does
# not take the write lock, so it neither waits for commands nor makes them wait.
READ_ONLY = "aftersales_read_only"
