"""SQLite as the embedded default: WAL, a busy timeout, and writers that queue up.

pysqlite starts transactions lazily, so two requests can both read and then fail when they
try to write. BEGIN IMMEDIATE takes the write lock at the start of every transaction, so a
second command waits, then reads the state the first one committed (SQLAlchemy's
documented recipe for pysqlite transactions).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from contextvars import ContextVar
from pathlib import Path

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


log = logging.getLogger("aftersales.sqlite")
_checkpointers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Checkpoints (the WAL copied back into the database file, with two fsyncs: 10-30 ms on this
# machine) are run by a thread of each process after every CHECKPOINT_EVERY commits, not by
# whichever command's commit happens to cross SQLite's threshold: a command no longer waits
# for one (measured in docs/benchmarks.md, engine). What a commit guarantees is unchanged:
# WAL mode, synchronous=NORMAL. Each connection keeps SQLite's automatic checkpoint at
# AUTOCHECKPOINT_PAGES as a backstop, so the WAL stays bounded should the thread fall behind.
CHECKPOINT_EVERY = 100
AUTOCHECKPOINT_PAGES = 10_000
# The page size a new database file is made with (an existing file keeps its own). A command
# dirties one leaf page in each index it touches, and the commit writes each dirty page whole
# to the WAL: with 2 KB pages a command's commit writes about half the bytes it did with
# SQLite's default of 4 KB, for rows and indexes that are mostly small (docs/benchmarks.md,
# issue 17's fifth stop: `make bench` 3-7 % faster; 1 KB pages made the snapshot pieces
# overflow into chains and gained less, 8 KB lost).
PAGE_SIZE = 2048
IDLE_SECONDS = 10.0  # the thread ends after this long without work; the next commits start it again


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    in_memory = not database or database == ":memory:" or "mode=memory" in str(engine.url)
    checkpointer = None if in_memory else Checkpointer(Path(database).resolve())
    if checkpointer is not None:
        _checkpointers[engine] = checkpointer
        event.listen(engine, "commit", lambda connection: checkpointer.committed())

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: only a new, empty file takes it
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if checkpointer is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        driver = connection.connection.driver_connection
        if READER_BEGIN.get() or connection.get_execution_options().get(READ_ONLY):
            driver.execute("BEGIN")  # a reader: WAL lets it run beside the writer and other readers
        else:
            # on the driver: the same statement without SQLAlchemy's per-execution work (every
            # command begins here)
            _begin_immediate(driver)


# An execution option for a transaction that only reads (a bulk verification): its BEGIN does
# not take the write lock, so it neither waits for commands nor makes them wait.
READ_ONLY = "aftersales_read_only"
# The same reader's BEGIN for a transaction begun while this is set (engine/replay.py: replay
# and verify open their own when none is open, and end it). Not an execution option: a
# connection given one is handed back to the pool and another taken at the session's next
# transaction (extensions.py), ~60 µs of a verify's ~2,500.
READER_BEGIN: ContextVar[bool] = ContextVar("sqlite_reader_begin", default=False)


def begin_as_reader(session) -> None:
    """Begin the session's transaction (SQLite) with the reader's BEGIN: WAL gives it one
    snapshot and it never takes the write lock. It keeps the session's held connection, where
    an execution option would hand it back to the pool at the next transaction."""
    token = READER_BEGIN.set(True)
    try:
        session.connection()
    finally:
        READER_BEGIN.reset(token)


def checkpointer_of(engine: Engine) -> Checkpointer | None:
    return _checkpointers.get(engine)


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection from a daemon thread,
    woken after every CHECKPOINT_EVERY commits of this process. PASSIVE never waits for
    readers or writers (it copies what it can; the next round copies the rest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.commits = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.rounds = 0  # checkpoints run (tests read it)

    def committed(self) -> None:
        self.commits += 1  # approximate under threads: only paces the checkpoints
        if self.commits < CHECKPOINT_EVERY:
            return
        self.commits = 0
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():  # ended, or a forked child
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._wake,), name="sqlite-checkpoint", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self, wake: threading.Event) -> None:
        while wake.wait(IDLE_SECONDS):
            wake.clear()
            self.checkpoint()

    def checkpoint(self) -> None:
        try:
            # mode=rw: never create a database file that has gone (a test's temporary one)
            connection = sqlite3.connect(f"{self.path.as_uri()}?mode=rw", uri=True, timeout=5, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.rounds += 1
        except sqlite3.Error as err:  # busy: another checkpoint runs; the next round copies the rest
            log.debug("checkpoint skipped", extra={"error": str(err)})
        finally:
            connection.close()
