"""The command path's statements run straight on the driver (sqlite3 or psycopg) inside the
session's own transaction.

SQLAlchemy Core costs several times the statement itself on SQLite (cache key, parameter
coercion, result set-up: 0.45 ms against 0.10 ms for the same seven statements through
the stdlib driver). Each statement here is still written as a SQLAlchemy Core expression
and compiled by SQLAlchemy once per dialect: the SQL text in the driver's own parameter
style (qmark for sqlite3, pyformat for psycopg) and the columns' own bind processors (JSON,
aware UTC datetimes), so values are stored exactly as the ORM would store them. Only the
per-execution work is skipped.
"""

from __future__ import annotations

import re
import sqlite3
from collections import namedtuple
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Pool, bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import ClauseElement, Insert, Update
from sqlalchemy.sql.dml import UpdateBase

_CURSOR = "plain_sql_cursor"
_PIPELINE = "plain_sql_pipeline"  # on the pool connection's info: the open psycopg pipeline
_SHARED = "plain_sql_statement_cursors"  # on the pool connection's info: a cursor per statement text
_BEGUN = "plain_sql_begun"  # on the pool connection's info: the driver connection whose BEGIN we sent
_PENDING = "plain_sql_pending"  # on the pool connection's info: unread writes not sent yet (`send`)
try:
    import psycopg
    from psycopg._preparing import Prepare
    from psycopg._queries import PostgresQuery as _PostgresQuery
    from psycopg.adapt import Transformer as _Transformer
    from psycopg.generators import fetch_many as _fetch_many
    from psycopg.generators import send as _send
    from psycopg.pq import TransactionStatus

    _PIPELINE_SUPPORTED = psycopg.Pipeline.is_supported()
    _PG_IDLE = TransactionStatus.IDLE
    _PREPARE_NO, _PREPARE_SHOULD = Prepare.NO, Prepare.SHOULD
    # statements go into the pipeline without psycopg's Cursor.execute (`_sent_in_pipeline`),
    # which uses psycopg 3.3's internals (tests/test_plain_sql.py checks them): with another
    # psycopg they go through its execute as before
    _DIRECT = _PIPELINE_SUPPORTED and psycopg.__version__.split(".")[:2] == ["3", "3"]
except ImportError:  # SQLite only
    psycopg = None
    _PIPELINE_SUPPORTED = _DIRECT = False
    _PG_IDLE = _fetch_many = _send = _PostgresQuery = _Transformer = _PREPARE_NO = _PREPARE_SHOULD = None
_SQLITE_CURSOR = sqlite3.Cursor


class Statement:
    """One statement, compiled for a dialect on first use; parameters by name."""

    def __init__(self, statement: ClauseElement, column_keys: Iterable[str] | None = None, *,
                 writes: str | None = None) -> None:
        """`writes`: the one table a statement that is not a plain INSERT / UPDATE / DELETE
        writes (and nothing else), so that `send` may put it with other writes in one
        statement; an INSERT / UPDATE / DELETE's own table is found by itself."""
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, tuple] = {}
        if writes is None and isinstance(statement, UpdateBase):
            writes = statement.table.name
        self.writes = writes
        # rows of its own only (INSERT ... VALUES, no ON CONFLICT): reads nothing of its table,
        # so it may share a statement with earlier updates of the table (`_pending_write`)
        self._appends = (isinstance(statement, Insert) and statement.select is None
                         and getattr(statement, "_post_values_clause", None) is None)
        # what a later insert of the table may follow in one statement: an update, not an
        # insert (PostgreSQL runs a statement's parts last first: the later insert's rows
        # would be numbered before the earlier one's, and jobs, buffered messages and
        # webhook deliveries are taken in id order)
        self._followed = isinstance(statement, Update)

    def _for(self, dialect) -> tuple:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            processors = {key: fn for key, fn in compiled._bind_processors.items() if fn is not None}
            order = tuple(compiled.positiontup) if compiled.positional else None
            # values written into the expression itself (`state == "open"`, `limit(1)`)
            fixed = {
                key: (processors[key](value) if key in processors else value)
                for key, value in compiled.construct_params(_check=False).items()
                if not compiled.binds[key].required
            }
            # columns with a Python-side default that the caller did not give (SQLAlchemy
            # computes those per execution: so do we)
            defaults = [(column.key, column.default) for column in compiled.insert_prefetch]
            defaults += [(column.key, column.onupdate) for column in compiled.update_prefetch]
            # positional (sqlite3): each parameter's way to its value in order, so that `params`
            # makes the driver's tuple in one pass (no merged dicts per execution); a bind used
            # twice keeps the general path (its default must be computed once)
            plan = None
            if order is not None and len(set(order)) == len(order):
                by_key = dict(defaults)
                plan = tuple((key, processors.get(key), by_key.get(key), key in fixed, fixed.get(key)) for key in order)
            found = self._compiled[dialect.name] = (compiled.string, order, processors, fixed, defaults, plan)
        return found

    def rows_at_once(self, count: int) -> Statement | None:
        """This INSERT for `count` rows in one statement (parameters `<key>_<row>`), if it
        is an INSERT of its `column_keys` and every other column is left to the database
        (no Python-side default computed per row)."""
        key = ("rows", count)
        if key not in self._compiled:
            statement, keys = self.statement, self.column_keys
            several = None
            if isinstance(statement, Insert) and keys and all(
                    column.key in keys or column.default is None for column in statement.table.columns):
                table = statement.table
                several = Statement(table.insert().values([
                    {name: bindparam(f"{name}_{k}", type_=table.c[name].type) for name in keys} for k in range(count)]))
            self._compiled[key] = several
        return self._compiled[key]

    def result_processors(self, dialect) -> list:
        """Per selected column, the type's conversion of what the driver returns (JSON text,
        naive datetimes made aware...), or None."""
        found = self._compiled.get(("result", dialect.name))
        if found is None:
            found = self._compiled[("result", dialect.name)] = [
                column.type._cached_result_processor(dialect, None) for column in self.statement.exported_columns
            ]  # a SELECT's columns, or what an INSERT / UPDATE ... RETURNING gives back
        return found

    def params(self, dialect, values: dict[str, Any]) -> tuple[str, Any]:
        found = self._compiled.get(dialect.name) or self._for(dialect)
        plan = found[5]
        if plan is not None:  # what the general path below gives, made in one pass
            out = []
            for key, fn, default, has_fixed, fixed_value in plan:
                if key in values:
                    value = values[key]
                elif default is not None:
                    value = default.arg if default.is_scalar else default.arg(None)
                elif has_fixed:
                    out.append(fixed_value)  # processed when compiled
                    continue
                else:
                    raise KeyError(key)
                out.append(value if fn is None else fn(value))
            return found[0], tuple(out)
        sql, order, processors, fixed, defaults, _ = found
        for key, default in defaults:
            if key not in values:
                values = {**values, key: default.arg if default.is_scalar else default.arg(None)}
        values = {k: (processors[k](v) if k in processors else v) for k, v in values.items()}
        if fixed:
            values = {**fixed, **values}
        if order is not None:
            return sql, tuple(values[key] for key in order)
        return sql, values


def cursor(session: Session, kind: str = "own"):
    """A driver cursor on the session's connection (which begins the transaction if it has
    not begun: on SQLite that is our BEGIN IMMEDIATE), and the dialect.

    On PostgreSQL the connection is put in pipeline mode for the rest of the transaction
    (psycopg's `Connection.pipeline()`): a statement whose answer nobody reads (the history
    event, inbox rows, jobs, snapshot pieces) goes out without waiting for the server, and
    the BEGIN travels with the first statement. A statement that is read (`fetchone`) waits
    only for what was sent before it; `sync` collects everything, errors included, before
    anything depends on it (the versioned UPDATE's rowcount, the commit, SQLAlchemy's own
    statements: see `_leave_pipeline`). Still one transaction: the statements run in order
    between the BEGIN and the COMMIT, only the waiting is gone.

    `kind` (PostgreSQL): "own" a new cursor, which keeps its answer for whoever reads it
    later; "unread" a cursor of the connection's for statements whose answer nobody reads
    (their errors still come out at the next read or sync). The module's own statements run
    on a cursor per statement text instead (`_statement_cursor`)."""
    transaction, raw, dialect, driver, info = _transaction_state(session)
    if raw is not None:  # SQLite: one cursor per transaction
        return raw, dialect
    if info.get(_BEGUN) is not driver:
        _pipeline_begun(info, driver)
    if _PENDING in info:
        _send_pending(info)  # the caller's statements go after the writes sent before them
    if kind == "own":
        return driver.cursor(), dialect  # its own answer, read whenever
    return _statement_cursor(info, driver, "", _UNREAD), dialect


_READ, _UNREAD, _LATER = 0, 1, 2


def _transaction_state(session: Session) -> tuple:
    """(the session's transaction, SQLite's cursor or None, dialect, driver connection, the
    pool connection's info), asked of the session once per transaction: asking the session
    for its connection costs more than most of these statements."""
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CURSOR)
    # `_transaction` (the innermost) rather than get_transaction() (the root, walked to on
    # every call): a savepoint only makes this ask again, for the same connection
    if cached is None or cached[0] is not session._transaction:
        connection = session.connection()
        driver = connection.connection.driver_connection
        pipelined = connection.dialect.name == "postgresql" and _PIPELINE_SUPPORTED
        cached = session.info[_CURSOR] = (
            session._transaction, None if pipelined else driver.cursor(), connection.dialect, driver,
            connection.info,
        )
    return cached


def _pipeline_begun(info: dict, driver) -> None:
    """The connection in pipeline mode and, unless it is in autocommit or its transaction
    has begun, the transaction's BEGIN sent in it. The pipeline stays open from one
    transaction to the next (the commit only syncs it: `_before_commit`), so a transaction
    after the first sends only its BEGIN."""
    if _PIPELINE not in info:
        _enter_pipeline(info, driver)
    elif not driver._autocommit and driver.pgconn.transaction_status == _PG_IDLE:
        _begin_in_pipeline(driver, info)


def _enter_pipeline(info: dict, driver) -> None:
    pipeline = driver.pipeline()
    pipeline.__enter__()
    info[_PIPELINE] = pipeline
    if not driver.autocommit and driver.pgconn.transaction_status == _PG_IDLE:
        _begin_in_pipeline(driver, info)


def _statement_cursor(info: dict, driver, sql: str, kind: int):
    """The connection's cursor for this statement text (PostgreSQL): psycopg keeps on a
    cursor what it worked out for the last query it ran (the query's adapters, its
    conversion), and a new cursor costs about as much client CPU as the statement it runs, so
    each statement keeps one. Answers read at once and answers nobody reads use separate
    cursors, so an unread answer arriving late never lands where a read looks."""
    cursors = _cursors(info, driver)[kind]
    raw = cursors.get(sql)
    if raw is None:
        if len(cursors) >= _MAX_CURSORS:  # statements are module constants: only a bug's would pile up
            cursors.clear()
        raw = cursors[sql] = driver.cursor()
    return raw


_MAX_CURSORS = 500
_MAX_FREE = 8


def _cursors(info: dict, driver) -> tuple[dict, dict, dict]:
    """The connection's cursors per statement text: read at once, unread, free for a `Later`."""
    found = info.get(_SHARED)
    if found is None or found[0] is not driver:
        found = info[_SHARED] = (driver, ({}, {}, {}))
    return found[1]


def _free_cursors(info: dict, driver, sql: str) -> list:
    lists = _cursors(info, driver)[_LATER]
    free = lists.get(sql)
    if free is None:
        if len(lists) >= _MAX_CURSORS:
            lists.clear()
        free = lists[sql] = []
    return free


def dialect_of(session: Session):
    """The dialect of the session's connection (beginning the transaction if it has not begun)."""
    return _transaction_state(session)[2]


def _on_driver(session: Session, statement: Statement, values: dict[str, Any], kind: int) -> tuple:
    """(driver cursor, dialect, SQL, parameters) to run `statement` with `values`."""
    transaction, raw, dialect, driver, info = _transaction_state(session)
    sql, params = statement.params(dialect, values)
    if raw is None:
        if info.get(_BEGUN) is not driver:
            _pipeline_begun(info, driver)
        if _PENDING in info:
            _send_pending(info)
        raw = _statement_cursor(info, driver, sql, kind)
    return raw, dialect, sql, params


def _begin_in_pipeline(driver, info: dict) -> None:
    """The transaction's BEGIN as the pipeline's first statement, answered with the next read.

    psycopg begins a transaction in pipeline mode with a Sync after the BEGIN, and waits for
    it: one round trip of its own per transaction (on a loaded machine, often the one that
    pays for waking the server's process). Instead the BEGIN is sent like any other statement,
    with the same text psycopg would send (isolation level, read only, deferrable), and
    psycopg is told not to add its own (its `_autocommit` flag, which it reads only to decide
    whether to begin) until the pipeline ends, when libpq knows the transaction is open.
    Still one transaction, begun before the first statement: the server runs them in order."""
    words = ["BEGIN"]
    if driver.isolation_level is not None:
        words += ["ISOLATION LEVEL", driver.isolation_level.name.replace("_", " ")]
    if driver.read_only is not None:
        words.append("READ ONLY" if driver.read_only else "READ WRITE")
    if driver.deferrable is not None:
        words.append("DEFERRABLE" if driver.deferrable else "NOT DEFERRABLE")
    driver._autocommit = True
    info[_BEGUN] = driver
    try:
        _command(driver, " ".join(words).encode())  # written with the first read, sync or commit
    except BaseException:
        _psycopg_begins_again(info)
        raise


def _psycopg_begins_again(info: dict) -> None:
    driver = info.pop(_BEGUN, None)
    if driver is not None:
        driver._autocommit = False


def pipelined(session: Session) -> bool:
    """Whether the session's statements go out in PostgreSQL's pipeline (see `cursor`)."""
    return _transaction_state(session)[1] is None


def sync(session: Session) -> None:
    """Wait for every statement sent so far (PostgreSQL's pipeline): their errors are raised
    here, as SQLAlchemy's exceptions, and the cursors' rowcounts are known afterwards."""
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CURSOR)
    if cached is not None and cached[0] is session._transaction and cached[0] is not None and cached[1] is None:
        _leave_pipeline(cached[4], cached[2], raise_errors=True)


def _leave_pipeline(info: dict, dialect, *, raise_errors: bool) -> None:
    if _PENDING in info:
        if raise_errors:
            _send_pending(info)
        else:
            del info[_PENDING]  # rolled back: never sent, nothing to undo
    pipeline = info.pop(_PIPELINE, None)
    if pipeline is None:
        return
    try:
        pipeline.__exit__(None, None, None)
    except dialect.loaded_dbapi.Error as err:
        if raise_errors:
            raise _wrapped(err, "(pipeline)", None, dialect) from err
    finally:
        _psycopg_begins_again(info)  # the Sync told libpq the transaction's state


def execute(session: Session, statement: Statement, values: dict[str, Any]) -> Any:
    """Run one statement; returns the driver's cursor (rowcount, fetchone...), whose answer
    is this statement's until the same statement runs again (read it before: `Later` keeps
    an answer for later)."""
    raw, dialect, sql, params = _on_driver(session, statement, values, _READ)
    _run_read(raw, dialect, sql, params)
    if raw.__class__ is not _SQLITE_CURSOR and raw.connection.pgconn.pipeline_status:
        return _Pipelined(session, raw, dialect, sql)
    return raw


class _Pipelined:
    """A statement's answer still on its way (PostgreSQL's pipeline): `fetchone` waits for
    it, `rowcount` for everything sent so far; the driver's errors come out as SQLAlchemy's."""

    __slots__ = ("_session", "_raw", "_dialect", "_sql")

    def __init__(self, session: Session, raw, dialect, sql: str) -> None:
        self._session, self._raw, self._dialect, self._sql = session, raw, dialect, sql

    def fetchone(self) -> tuple | None:
        try:
            return self._raw.fetchone()
        except self._dialect.loaded_dbapi.Error as err:
            raise _wrapped(err, self._sql, None, self._dialect) from err

    def fetchall(self) -> list[tuple]:
        try:
            return self._raw.fetchall()
        except self._dialect.loaded_dbapi.Error as err:
            raise _wrapped(err, self._sql, None, self._dialect) from err

    @property
    def rowcount(self) -> int:
        sync(self._session)
        return self._raw.rowcount


def _run(raw, dialect, sql: str, params: Any, *, read: bool = True) -> None:
    try:
        if raw.__class__ is _SQLITE_CURSOR or not _sent_in_pipeline(raw, sql, params, read):
            raw.execute(sql, params)
    except dialect.loaded_dbapi.Error as err:
        raise _wrapped(err, sql, params, dialect) from err


class _Key:
    """What psycopg's prepared-statement cache keys a query by (its `PrepareManager.key`)."""

    __slots__ = ("query", "types")

    def __init__(self, query: bytes, types: tuple) -> None:
        self.query, self.types = query, types


_CONVERTED: dict[str, tuple] = {}  # statement text -> (psycopg's query, parameter order, formats, encoding)


def _sent_in_pipeline(raw, sql: str, params: Any, read: bool) -> bool:
    """Send one statement into the connection's `_Pipeline` as psycopg's `Cursor.execute`
    would, without its per-statement machinery (False: not done, run it through psycopg).

    psycopg's execute converts the query text on every call, makes a query object and a
    generator chain per statement, queues the send as a callable and runs it through
    `Connection.wait`: about as much client CPU as the rest of a command's statement work.
    Here the text's conversion (`%(name)s` to `$n`, psycopg's own function) is kept per
    statement text, the values are dumped by the cursor's Transformer (psycopg's C one), and
    the statement goes straight into libpq's buffer, written with the next read, sync or
    commit (libpq writes by itself only past 64 KB, as the held queue did). Everything else
    stays psycopg's: its prepared-statement cache decides whether to prepare (after 5 runs,
    the same names, dropped on ROLLBACK and by its DEALLOCATE ALL), and the pipeline's
    result queue gets the entries psycopg's execute would add, so every answer is taken in
    order and its error raised at the next read or sync. An answer nobody reads gets psycopg's
    entry for a command (None: checked for errors, kept nowhere) once the statement is known
    to the prepared-statement cache."""
    if not _DIRECT:
        return False
    driver = raw._conn
    pipeline = driver._pipeline
    if pipeline.__class__ is not _Pipeline or params.__class__ is not dict:
        return False
    pgconn = raw._pgconn
    if not driver._autocommit and pgconn.transaction_status == _PG_IDLE:
        return False  # psycopg's execute would BEGIN first (plain_sql sends its own: `_begin_in_pipeline`)
    tx = getattr(raw, "_tx", None)
    if tx is None:  # a new cursor: psycopg makes its Transformer when it first runs a query
        tx = raw._tx = _Transformer(raw)
    converted = _CONVERTED.get(sql)
    if converted is None or converted[3] != tx.encoding:
        pgq = _PostgresQuery(tx)
        pgq.convert(sql, params)
        if pgq._order is None:
            return False
        if len(_CONVERTED) >= _MAX_CURSORS:  # texts are module constants and their row counts
            _CONVERTED.clear()
        converted = _CONVERTED[sql] = (pgq.query, tuple(pgq._order), pgq._want_formats, tx.encoding)
    query, order, formats, _ = converted
    try:
        values = [params[name] for name in order]
    except KeyError:
        return False  # psycopg raises its own error for a missing parameter
    dumped = tx.dump_sequence(values, formats)
    types = tx.types or ()
    prepared = driver._prepared
    _into_buffer(pipeline)  # anything psycopg queued goes first, in order
    names = prepared._names
    if (name := names.get((query, types))) is not None and prepared.prepare_threshold is not None:
        # prepared on this connection already: what psycopg's get() and maybe_add_to_cache()
        # come to (its name; the entry made the most recently used)
        names.move_to_end((query, types))
        pgconn.send_query_prepared(name, dumped, param_formats=tx.formats, result_format=raw.format)
        added = None
    else:
        key = _Key(query, types)
        prep, name = prepared.get(key)
        if prep is _PREPARE_NO:
            pgconn.send_query_params(query, dumped, param_formats=tx.formats, param_types=types,
                                     result_format=raw.format)
        else:
            if prep is _PREPARE_SHOULD:
                pgconn.send_prepare(name, query, param_types=types)
                pipeline.result_queue.append(None)
            pgconn.send_query_prepared(name, dumped, param_formats=tx.formats, result_format=raw.format)
        added = prepared.maybe_add_to_cache(key, prep, name)
    if read or added is not None:
        raw._reset()
        pipeline.result_queue.append((raw, None if added is None else (added, prep, name)))
    else:
        pipeline.result_queue.append(None)
    if prepared._to_flush:  # psycopg's deallocations, queued in the pipeline
        driver.wait(prepared.maintain_gen(driver))
    return True


def _into_buffer(pipeline) -> None:
    """Run what psycopg queued in the pipeline (its sends, in order) into libpq's buffer,
    which in pipeline mode writes to the socket by itself only past 64 KB."""
    pipeline.synced = False  # something goes out after it: leaving the pipeline syncs again
    queue = pipeline.command_queue
    while queue:
        queue.popleft()()


def _command(driver, command: bytes) -> None:
    """A statement without parameters nor answer (BEGIN, COMMIT) into the pipeline, as
    psycopg sends its own (`_exec_command`: never prepared, a command's result entry)."""
    pipeline = driver._pipeline
    _into_buffer(pipeline)
    driver.pgconn.send_query_params(command, None)
    pipeline.result_queue.append(None)


def _run_read(raw, dialect, sql: str, params: Any) -> None:
    """Run a statement whose answer is read next: on PostgreSQL's pipeline it goes out in
    one write with what was held before it and the request to answer at once (which psycopg's
    read would otherwise write separately)."""
    pipeline = _held(raw)
    if pipeline is None:
        _run(raw, dialect, sql, params)
        return
    try:
        _run(raw, dialect, sql, params)
    finally:
        pipeline.hold = False
    _into_buffer(pipeline)
    raw.connection.pgconn.send_flush_request()  # written by the read's own flush


def _wrapped(err: Exception, sql: str, params: Any, dialect) -> DBAPIError:
    """The driver's error as SQLAlchemy's (IntegrityError...), as callers expect it."""
    return DBAPIError.instance(sql, params, err, dialect.loaded_dbapi.Error, dialect=dialect)


def send(session: Session, statement: Statement, values: dict[str, Any]) -> None:
    """Run one statement whose answer nobody reads (an INSERT, an UPDATE whose row count
    does not matter): on PostgreSQL's pipeline it goes out without waiting.

    On PostgreSQL a write of one table (`Statement.writes`) waits instead, unsent, for the
    transaction's next statements: consecutive writes go out as ONE statement, each a
    data-modifying WITH part of it (`_merged`), sent at the next read, sync or commit, or
    with a write that has a WITH of its own (which can only come last: the instance's checked
    UPDATE, a command's last write). A statement is a message to build, send, bind and
    execute on both sides: a command's four to six writes were most of its statements. Still
    the same writes in the same transaction, before every later read; but the parts of one
    statement share its snapshot and see none of each other's rows, so a write joins only
    where that changes nothing: a table the group has not written yet, or an INSERT ...
    VALUES (rows of its own, reading none) after updates of its table. Any other write of a
    table already in the group (an update or delete that might be meant for a row the group
    inserted or updated, an upsert, an insert after an insert: the parts run last part first,
    so its rows would get the smaller ids) sends the group first. Foreign keys are checked
    at the statement's end, over all its parts. An error of any part fails the statement,
    and the transaction, as before; it comes out where the pipeline's errors always did (the
    next read, sync or commit)."""
    if statement.writes is not None and _MERGE:
        transaction, raw, dialect, driver, info = _transaction_state(session)
        if raw is None:
            if info.get(_BEGUN) is not driver:
                _pipeline_begun(info, driver)
            # in a transaction (ours, begun in the pipeline, or psycopg's); a connection in
            # autocommit (a read-only request's, which a test may go on using) sends each at once
            if info.get(_BEGUN) is driver or not driver._autocommit:
                _pending_write(info, driver, dialect, statement, values)
                return
    raw, dialect, sql, params = _on_driver(session, statement, values, _UNREAD)
    _run_unread(raw, dialect, sql, params)


def _run_unread(raw, dialect, sql: str, params: Any) -> None:
    """Run a statement nobody reads the answer of, held in the pipeline's buffer (`_held`)."""
    pipeline = _held(raw)
    try:
        _run(raw, dialect, sql, params, read=False)
    finally:
        if pipeline is not None:
            pipeline.hold = False


# False: every write is its own statement, as before (a switch to measure both in one process)
_MERGE = True


def _pending_write(info: dict, driver, dialect, statement: Statement, values: dict[str, Any]) -> None:
    sql, params = statement.params(dialect, values)
    pending = info.get(_PENDING)
    if pending is not None:
        table = pending[2].get(statement.writes)
        # a table already written in the group: only rows of the write's own may join, after
        # updates (an update, a delete or an upsert would not see the group's rows; an insert
        # after an insert would be numbered before it)
        if pending[0] is not driver or (table is not None and not (table and statement._appends)):
            _send_pending(info)
            pending = None
    if pending is None:
        pending = info[_PENDING] = (driver, dialect, {}, [])
    pending[2][statement.writes] = pending[2].get(statement.writes, True) and statement._followed
    pending[3].append((sql, params))
    if sql.startswith("WITH"):  # its own WITH: only the last part can have one
        _send_pending(info)


def _send_pending(info: dict) -> None:
    """The waiting writes (`send`), as one statement."""
    driver, dialect, _, parts = info.pop(_PENDING)
    if len(parts) == 1:
        sql, params = parts[0]
    else:
        sql, renamed = _merged(tuple(sql for sql, _ in parts))
        params = {}
        for names, (_, values) in zip(renamed, parts, strict=True):
            for key, value in values.items():
                params[names[key]] = value
    _run_unread(_statement_cursor(info, driver, sql, _UNREAD), dialect, sql, params)


_PARAMETER = re.compile(r"%\((\w+)\)s")
_MERGED: dict[tuple, tuple] = {}


def _merged(texts: tuple[str, ...]) -> tuple[str, list[dict[str, str]]]:
    """One statement of several writes (psycopg's `%(name)s` texts): each but the last a
    data-modifying WITH part, the last the main statement (its own WITH parts, if any, after
    the others); each part's parameters renamed apart. Per sequence of texts, made once."""
    found = _MERGED.get(texts)
    if found is None:
        renamed, bodies = [], []
        for k, text in enumerate(texts):
            names: dict[str, str] = {}

            def rename(match: re.Match, k: int = k, names: dict = names) -> str:
                new = names[match[1]] = f"m{k}_{match[1]}"
                return f"%({new})s"

            bodies.append(_PARAMETER.sub(rename, text))
            renamed.append(names)
        parts = ", ".join(f"w{k} AS ({body})" for k, body in enumerate(bodies[:-1]))
        last = bodies[-1]
        sql = f"WITH {parts}, {last[5:]}" if last.startswith("WITH ") else f"WITH {parts} {last}"
        if len(_MERGED) >= _MAX_CURSORS:
            _MERGED.clear()
        found = _MERGED[texts] = (sql, renamed)
    return found


def _held(raw) -> Any:
    """The connection's `_Pipeline`, now holding what is sent (None on SQLite or another pipeline)."""
    if raw.__class__ is _SQLITE_CURSOR:
        return None
    pipeline = raw.connection._pipeline
    if pipeline.__class__ is not _Pipeline:
        return None
    pipeline.hold = True
    return pipeline


def execute_many(session: Session, statement: Statement, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if _transaction_state(session)[1] is None:  # PostgreSQL's pipeline
        if len(rows) == 1:
            send(session, statement, rows[0])
            return
        if several := statement.rows_at_once(len(rows)):
            # one multi-row INSERT, not one statement per row (each is a message to build,
            # send, bind and execute on both sides); SQLite keeps executemany (no network)
            keys = statement.column_keys
            if all(len(row) == len(keys) for row in rows):  # each row gives exactly the statement's columns
                send(session, several, {f"{key}_{k}": row[key] for k, row in enumerate(rows) for key in keys})
                return
    raw, dialect, sql, first = _on_driver(session, statement, rows[0], _UNREAD)
    prepared = [first]
    for values in rows[1:]:
        sql, params = statement.params(dialect, values)
        prepared.append(params)
    pipeline = _held(raw)
    try:
        if len(prepared) == 1:
            if raw.__class__ is _SQLITE_CURSOR or not _sent_in_pipeline(raw, sql, prepared[0], False):
                raw.execute(sql, prepared[0])
        else:
            raw.executemany(sql, prepared)
    except dialect.loaded_dbapi.Error as err:
        raise _wrapped(err, sql, prepared, dialect) from err
    finally:
        if pipeline is not None:
            pipeline.hold = False


def _run_and_fetch(session: Session, statement: Statement, values: dict[str, Any], fetch: str) -> tuple[Any, Any]:
    """Run a SELECT and take its rows with the cursor's `fetch` method: (rows, dialect)."""
    raw, dialect, sql, params = _on_driver(session, statement, values, _READ)
    _run_read(raw, dialect, sql, params)
    try:
        return getattr(raw, fetch)(), dialect  # on PostgreSQL's pipeline: where an earlier statement's error shows
    except dialect.loaded_dbapi.Error as err:
        raise _wrapped(err, sql, params, dialect) from err


def fetch_one(session: Session, statement: Statement, values: dict[str, Any]) -> tuple | None:
    """One row of a SELECT, converted by the columns' types as the ORM would."""
    row, dialect = _run_and_fetch(session, statement, values, "fetchone")
    if row is None:
        return None
    processors = statement.result_processors(dialect)
    return tuple(value if fn is None or value is None else fn(value) for fn, value in zip(processors, row, strict=True))


def fetch_all(session: Session, statement: Statement, values: dict[str, Any]) -> list[tuple]:
    """Every row of a SELECT, converted by the columns' types as the ORM would."""
    rows, dialect = _run_and_fetch(session, statement, values, "fetchall")
    return _converted(rows, statement.result_processors(dialect))


class Later:
    """A SELECT sent now whose rows are read later (`rows()`): on PostgreSQL's pipeline the
    statement goes out without waiting, and its answer is usually there already when it is
    read (reading it waits for nothing sent after it: `_answers_up_to`); SQLite answers at
    once (its one cursor per transaction is reused by the next statement, so the rows are
    taken now)."""

    __slots__ = ("_rows", "_pending", "_statement", "_free")

    def __init__(self, session: Session, statement: Statement, values: dict[str, Any], *, early: bool = True) -> None:
        """`early=False`: the answer is read only after the commit (whose sync collects it), so
        the statement waits in libpq's buffer and goes out with the COMMIT, in one write: no
        flush request and no write of its own (each wakes the server's process once more)."""
        self._statement = statement
        transaction, raw, dialect, driver, info = _transaction_state(session)
        sql, params = statement.params(dialect, values)
        self._free = None
        if raw is None:  # PostgreSQL: its answer is read later, a cursor of its own
            if info.get(_BEGUN) is not driver:
                _pipeline_begun(info, driver)
            if _PENDING in info:
                _send_pending(info)
            # one whose answer an earlier Later of this statement has read (a new cursor costs
            # about as much client CPU as the statement), else a new one
            free = self._free = _free_cursors(info, driver, sql)
            raw = free.pop() if free else driver.cursor()
        _run(raw, dialect, sql, params)
        pipelined = raw.__class__ is not _SQLITE_CURSOR and raw.connection.pgconn.pipeline_status
        result = _Pipelined(session, raw, dialect, sql) if pipelined else raw
        self._pending, self._rows = (result, None) if result.__class__ is _Pipelined else (None, result.fetchall())
        if self._pending is not None and early:
            # The server holds a pipeline's answers until a Sync or a Flush: ask for this one
            # now (no wait), so it is usually in when read and the read waits for nothing; and
            # write it out now, not with the next statement (statements held by `send` wait
            # for the next read or the commit).
            pgconn = result._raw.connection.pgconn
            pgconn.send_flush_request()
            pgconn.flush()
        elif self._pending is None:
            self._rows = _converted(self._rows, statement.result_processors(dialect))

    def rows(self) -> list[tuple]:
        if self._rows is None:
            pending, self._pending = self._pending, None
            try:
                _answers_up_to(pending._raw)
            except pending._dialect.loaded_dbapi.Error as err:
                raise _wrapped(err, pending._sql, None, pending._dialect) from err
            self._rows = _converted(pending.fetchall(), self._statement.result_processors(pending._dialect))
            if self._free is not None and len(self._free) < _MAX_FREE:
                self._free.append(pending._raw)  # read: free for the next Later of the statement
        return self._rows


def _answers_up_to(raw) -> None:
    """Take the pipeline's answers in order up to this cursor's own, and no further.

    psycopg's fetch on a pipelined cursor asks the server for every answer of everything
    sent so far and waits for all of them: a Later read at commit time would wait for the
    command's last writes (the server running them), and then the COMMIT's sync waits
    again. The answers up to this statement's were asked for when it was sent (the flush
    request in `Later`), so taking just those usually waits for nothing; the rest (an error
    of a later statement included) come with the next sync, as they would have. An earlier
    statement's error is raised here, as psycopg's own fetch would. Uses psycopg's pipeline
    queue (3.3, pinned): without it, the fetch below simply waits for everything."""
    conn = raw.connection
    pipeline = getattr(conn, "_pipeline", None)
    queue = getattr(pipeline, "result_queue", None)
    if queue is None or raw.pgresult is not None or not any(
            entry is not None and entry[0] is raw for entry in queue):
        return
    with conn.lock:
        conn.wait(_answers_up_to_gen(pipeline, raw))


def _answers_up_to_gen(pipeline, raw):
    yield from _send(pipeline.pgconn)  # the flush request, if still in libpq's buffer
    queue = pipeline.result_queue
    while queue and raw.pgresult is None:
        results = yield from _fetch_many(pipeline.pgconn)
        if not results:
            return  # nothing more to take without a flush: psycopg's fetch asks for it
        pipeline._process_results(queue.popleft(), results)


def _converted(rows: list, processors: list) -> list[tuple]:
    processors = [(n, fn) for n, fn in enumerate(processors) if fn is not None]
    if not processors:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for n, fn in processors:
            if row[n] is not None:
                row[n] = fn(row[n])
        converted.append(tuple(row))
    return converted


class Loader:
    """A mapped row read with one plain SELECT by primary key (or with other rows in a
    join: `columns` and `take`), handed to the session as the ORM's own load would be:
    an object this session already holds keeps its values (its expired ones are filled
    in), otherwise a new persistent object without pending changes. Deferred columns are
    left out and load on first use."""

    def __init__(self, model: type, only: Iterable[str] | None = None) -> None:
        """`only`: the columns to read (the primary key always), else every column that is
        not deferred; the others load on first use, as deferred ones do."""
        self.model = model
        mapper = sa_inspect(model)
        self.mapper = mapper
        (self.pk_column,) = mapper.primary_key
        wanted = None if only is None else {*only, self.pk_column.key}
        self.attributes = [
            (prop.key, prop.columns[0]) for prop in mapper.column_attrs
            if not prop.deferred and len(prop.columns) == 1 and (wanted is None or prop.key in wanted)
        ]
        self.columns = [column for _, column in self.attributes]
        self.keys = [key for key, _ in self.attributes]
        self._pk_at = self.keys.index(self.pk_column.key)
        self.by_id = Statement(select(*self.columns).where(self.pk_column == bindparam("pk")))
        self._record = namedtuple(f"{model.__name__}Record", self.keys)

    def get(self, session: Session, pk: Any) -> Any:
        held = session.identity_map.get(self.mapper.identity_key_from_primary_key((pk,)))
        if held is not None and not sa_inspect(held).expired_attributes.intersection(self.keys):
            return held  # as session.get: nothing to read (an expired deferred column loads on first use)
        row = fetch_one(session, self.by_id, {"pk": pk})
        return None if row is None else self.take(session, row)

    def take(self, session: Session, row: tuple) -> Any:
        values = dict(zip(self.keys, row, strict=True))
        key = self.mapper.identity_key_from_primary_key((values[self.pk_column.key],))
        held = session.identity_map.get(key)
        if held is not None:
            state = instance_state(held)
            if names := state.expired_attributes & values.keys():
                # what set_committed_value does per attribute, once for all of them
                state.dict.update({name: values[name] for name in names})
                state._commit(state.dict, names)
            return held
        return adopt(session, self.mapper, values)

    def peek(self, session: Session, row: tuple) -> Any:
        """The row for a caller that only reads it in this transaction: the session's object
        if the session holds one (as `take` gives it: its values win), else a read-only record
        of the row's values (a named tuple), which the session never sees: nothing to register
        now, nothing to expire at the commit, nothing of it in the identity map afterwards
        (a later `session.get` reads the row, as it would have after an expiry)."""
        if session.identity_map.get(self.mapper.identity_key_from_primary_key((row[self._pk_at],))) is not None:
            return self.take(session, row)
        return self._record._make(row)


def adopt(session: Session, mapper: Mapper, values: dict[str, Any]) -> Any:
    """The session's persistent object for a row just read or written, holding `values`
    as its loaded state (columns not given load on first use). Made without the mapped
    class's constructor, which sets every attribute through its instrumentation and records
    each as a change, only for make_transient_to_detached to discard them again: a
    third of reading a row. (The models have no constructor or mutable types of their own.)"""
    if isinstance(session, scoped_session):
        session = session()
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(values)
    make_transient_to_detached(obj)
    # session.add() without its save-update cascade: the object holds column values only,
    # no related object to cascade to, and walking the mapper's relationships to find that
    # out was half of adopting a row
    state._orphaned_outside_of_session = False
    session._update_impl(state)
    return obj


# The pipeline ends before anything that needs every answer: SQLAlchemy's own statements
# (the ORM reads a rowcount right after an UPDATE), the commit and the rollback; and when the
# connection goes back to the pool.
@sa_event.listens_for(Engine, "before_cursor_execute")
def _before_sqlalchemy_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if _PIPELINE in conn.info:
        _leave_pipeline(conn.info, conn.dialect, raise_errors=True)


@sa_event.listens_for(Engine, "commit")
def _before_commit(conn) -> None:
    # The COMMIT goes with the command's last writes in one sync: one wait fewer per command.
    # After an error the server skips everything up to the sync, the COMMIT too, and the
    # error is raised here; otherwise the transaction is over and psycopg's commit() that
    # follows has nothing to do (it sends nothing on an idle connection).
    info = conn.info
    if _PIPELINE in info:
        driver = conn.connection.driver_connection
        if _PENDING in info:
            _send_pending(info)
        if info.get(_BEGUN) is not driver and driver.pgconn.transaction_status == _PG_IDLE:
            return  # nothing of this transaction went into the pipeline: nothing to commit there
        try:
            _command(driver, b"COMMIT")
        except conn.dialect.loaded_dbapi.Error as err:  # an earlier statement's error, come back already
            _leave_pipeline(info, conn.dialect, raise_errors=False)
            raise _wrapped(err, "COMMIT", None, conn.dialect) from err
        if not _KEEP_PIPELINE:
            _leave_pipeline(info, conn.dialect, raise_errors=True)
            return
        # the pipeline stays open for the next transaction: a Sync collects the answers (an
        # error among them is raised here), and libpq then knows the transaction is over
        try:
            pipeline = driver._pipeline
            pipeline.sync()
            pipeline.synced = True
        except conn.dialect.loaded_dbapi.Error as err:
            _leave_pipeline(info, conn.dialect, raise_errors=False)
            raise _wrapped(err, "(pipeline)", None, conn.dialect) from err
        finally:
            _psycopg_begins_again(info)


# False: the pipeline is left at every commit, as before (a switch to measure both in one process)
_KEEP_PIPELINE = True


@sa_event.listens_for(Engine, "rollback")
def _before_rollback(conn) -> None:
    conn.info.pop(_PENDING, None)  # never sent: nothing to undo
    if _PIPELINE in conn.info:
        _leave_pipeline(conn.info, conn.dialect, raise_errors=False)  # rolled back anyway


_Pipeline: type | None = None  # psycopg's pipeline with held statements, where psycopg has pipelines

if _PIPELINE_SUPPORTED:
    from contextlib import contextmanager

    class _Pipeline(psycopg.Pipeline):  # noqa: F811 - the None above where there is none
        """psycopg's pipeline, but statements sent while `hold` is set (answers nobody reads:
        `send`, `execute_many`) stay queued instead of each going out in a socket write of
        its own (one send() per statement, each waking the server); the next statement that
        is not held, a read, a sync or the commit sends them all, in order, in one write.
        Their errors come out where they came out before: at the next read or sync."""

        hold = False

        synced = False  # nothing sent since the commit's Sync was answered (`_before_commit`)

        def _exit_gen(self):
            if self.synced and not self.result_queue and not self.command_queue:
                return (yield from ())  # a Sync now would be a round trip for nothing
            return (yield from super()._exit_gen())

        def _communicate_gen(self):
            self.synced = False
            if self.hold:
                return None
            _into_buffer(self)
            return (yield from super()._communicate_gen())

    class _Connection(psycopg.Connection):
        """psycopg's connection with `_Pipeline` as its pipeline, and a commit() called inside
        a pipeline syncs first: the BEGIN plain_sql sends in the pipeline (`_begin_in_pipeline`)
        is not reported by the server until a sync, so psycopg would take the connection for
        idle and skip the COMMIT (plain_sql's commit hook sends the COMMIT itself before
        SQLAlchemy calls commit(): this is for any other caller)."""

        @contextmanager
        def pipeline(self):
            """psycopg's own, with `_Pipeline`."""
            with self.lock:
                self._check_connection_ok()
                if (pipeline := self._pipeline) is None:
                    pipeline = self._pipeline = _Pipeline(self)
            try:
                with pipeline:
                    yield pipeline
            finally:
                if pipeline.level == 0:
                    with self.lock:
                        self._pipeline = None

        def _commit_gen(self):
            if self._pipeline is not None and self._autocommit:  # plain_sql's BEGIN still unsynced
                yield from self._pipeline._sync_gen()  # the server's status is known after it
            return (yield from super()._commit_gen())

    @sa_event.listens_for(Engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            return _Connection.connect(*cargs, **cparams)
        return None  # any other driver connects as ever


@sa_event.listens_for(Pool, "reset")
def _on_reset(dbapi_connection, connection_record, reset_state) -> None:
    connection_record.info.pop(_PENDING, None)
    pipeline = connection_record.info.pop(_PIPELINE, None)
    if pipeline is not None:
        try:
            pipeline.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - the pool rolls back and resets the connection next
            pass
    _psycopg_begins_again(connection_record.info)
