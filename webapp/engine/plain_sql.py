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

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Pool, bindparam, select
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql import ClauseElement, Insert

_CURSOR = "plain_sql_cursor"
_PIPELINE = "plain_sql_pipeline"  # on the pool connection's info: the open psycopg pipeline
_SHARED = "plain_sql_shared_cursors"  # on the pool connection's info: its "read" and "unread" cursors
_BEGUN = "plain_sql_begun"  # on the pool connection's info: the driver connection whose BEGIN we sent
try:
    import psycopg
    from psycopg.generators import fetch_many as _fetch_many
    from psycopg.generators import send as _send
    from psycopg.pq import TransactionStatus

    _PIPELINE_SUPPORTED = psycopg.Pipeline.is_supported()
    _PG_IDLE = TransactionStatus.IDLE
except ImportError:  # SQLite only
    _PIPELINE_SUPPORTED = False
    _PG_IDLE = _fetch_many = _send = None
_SQLITE_CURSOR = sqlite3.Cursor


class Statement:
    """One statement, compiled for a dialect on first use; parameters by name."""

    def __init__(self, statement: ClauseElement, column_keys: Iterable[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, tuple] = {}

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
    later; "read" the connection's one cursor for a SELECT read at once (nothing else runs
    on it between its execute and its fetch, so the answer it holds is that SELECT's);
    "unread" the connection's one cursor for statements whose answer nobody reads (their
    errors still come out at the next read or sync). A new psycopg cursor costs about as
    much client CPU as the statement it runs."""
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CURSOR)
    if cached is None or cached[0] is not session.get_transaction():
        connection = session.connection()
        driver = connection.connection.driver_connection
        pipelined = connection.dialect.name == "postgresql" and _PIPELINE_SUPPORTED
        # asking the session for its connection costs more than most of these statements
        cached = session.info[_CURSOR] = (
            session.get_transaction(), None if pipelined else driver.cursor(), connection.dialect, driver,
            connection.info,
        )
    transaction, raw, dialect, driver, info = cached
    if raw is not None:  # SQLite: one cursor per transaction
        return raw, dialect
    if _PIPELINE not in info:
        pipeline = driver.pipeline()
        pipeline.__enter__()
        info[_PIPELINE] = pipeline
        if not driver.autocommit and driver.pgconn.transaction_status == _PG_IDLE:
            _begin_in_pipeline(driver, info, _shared_cursors(info, driver)[1])
    if kind == "own":
        return driver.cursor(), dialect  # its own answer, read whenever
    return _shared_cursors(info, driver)[0 if kind == "read" else 1], dialect


def _shared_cursors(info: dict, driver) -> tuple:
    shared = info.get(_SHARED)
    if shared is None or shared[0].connection is not driver:
        shared = info[_SHARED] = (driver.cursor(), driver.cursor())
    return shared


def _begin_in_pipeline(driver, info: dict, unread) -> None:
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
        unread.execute(" ".join(words).encode(), prepare=False)
    except BaseException:
        _psycopg_begins_again(info)
        raise


def _psycopg_begins_again(info: dict) -> None:
    driver = info.pop(_BEGUN, None)
    if driver is not None:
        driver._autocommit = False


def pipelined(session: Session) -> bool:
    """Whether the session's statements go out in PostgreSQL's pipeline (see `cursor`)."""
    raw, _ = cursor(session, "unread")
    return raw.__class__ is not _SQLITE_CURSOR


def sync(session: Session) -> None:
    """Wait for every statement sent so far (PostgreSQL's pipeline): their errors are raised
    here, as SQLAlchemy's exceptions, and the cursors' rowcounts are known afterwards."""
    if isinstance(session, scoped_session):
        session = session()
    cached = session.info.get(_CURSOR)
    if cached is not None and cached[0] is session.get_transaction() and cached[1] is None:
        _leave_pipeline(cached[4], cached[2], raise_errors=True)


def _leave_pipeline(info: dict, dialect, *, raise_errors: bool) -> None:
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
    """Run one statement; returns the driver's cursor (rowcount, fetchone...)."""
    raw, dialect = cursor(session)
    sql, params = statement.params(dialect, values)
    _run(raw, dialect, sql, params)
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


def _run(raw, dialect, sql: str, params: Any) -> None:
    try:
        raw.execute(sql, params)
    except dialect.loaded_dbapi.Error as err:
        raise _wrapped(err, sql, params, dialect) from err


def _wrapped(err: Exception, sql: str, params: Any, dialect) -> DBAPIError:
    """The driver's error as SQLAlchemy's (IntegrityError...), as callers expect it."""
    return DBAPIError.instance(sql, params, err, dialect.loaded_dbapi.Error, dialect=dialect)


def send(session: Session, statement: Statement, values: dict[str, Any]) -> None:
    """Run one statement whose answer nobody reads (an INSERT, an UPDATE whose row count
    does not matter): on PostgreSQL's pipeline it goes out without waiting, on a shared cursor."""
    raw, dialect = cursor(session, "unread")
    sql, params = statement.params(dialect, values)
    _run(raw, dialect, sql, params)


def execute_many(session: Session, statement: Statement, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    raw, dialect = cursor(session, "unread")
    if len(rows) > 1 and raw.__class__ is not _SQLITE_CURSOR and (several := statement.rows_at_once(len(rows))):
        # PostgreSQL: one multi-row INSERT, not one statement per row (each is a message to
        # build, send, bind and execute on both sides); SQLite keeps executemany (no network)
        keys = statement.column_keys
        if all(len(row) == len(keys) for row in rows):  # each row gives exactly the statement's columns
            values = {f"{key}_{k}": row[key] for k, row in enumerate(rows) for key in keys}
            sql, params = several.params(dialect, values)
            _run(raw, dialect, sql, params)
            return
    sql = None
    prepared = []
    for values in rows:
        sql, params = statement.params(dialect, values)
        prepared.append(params)
    try:
        if len(prepared) == 1:
            raw.execute(sql, prepared[0])
        else:
            raw.executemany(sql, prepared)
    except dialect.loaded_dbapi.Error as err:
        raise _wrapped(err, sql, prepared, dialect) from err


def _run_and_fetch(session: Session, statement: Statement, values: dict[str, Any], fetch: str) -> tuple[Any, Any]:
    """Run a SELECT and take its rows with the cursor's `fetch` method: (rows, dialect)."""
    raw, dialect = cursor(session, "read")
    sql, params = statement.params(dialect, values)
    _run(raw, dialect, sql, params)
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

    __slots__ = ("_rows", "_pending", "_statement")

    def __init__(self, session: Session, statement: Statement, values: dict[str, Any]) -> None:
        self._statement = statement
        result = execute(session, statement, values)
        self._pending, self._rows = (result, None) if result.__class__ is _Pipelined else (None, result.fetchall())
        if self._pending is not None:
            # The server holds a pipeline's answers until a Sync or a Flush: ask for this one
            # now (no wait), so it is usually in when read and the read waits for nothing.
            result._raw.connection.pgconn.send_flush_request()
        else:
            self._rows = _converted(self._rows, statement.result_processors(cursor(session)[1]))

    def rows(self) -> list[tuple]:
        if self._rows is None:
            pending, self._pending = self._pending, None
            try:
                _answers_up_to(pending._raw)
            except pending._dialect.loaded_dbapi.Error as err:
                raise _wrapped(err, pending._sql, None, pending._dialect) from err
            self._rows = _converted(pending.fetchall(), self._statement.result_processors(pending._dialect))
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

    def __init__(self, model: type) -> None:
        self.model = model
        mapper = sa_inspect(model)
        self.mapper = mapper
        self.attributes = [
            (prop.key, prop.columns[0]) for prop in mapper.column_attrs if not prop.deferred and len(prop.columns) == 1
        ]
        self.columns = [column for _, column in self.attributes]
        self.keys = [key for key, _ in self.attributes]
        (self.pk_column,) = mapper.primary_key
        self.by_id = Statement(select(*self.columns).where(self.pk_column == bindparam("pk")))

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


def adopt(session: Session, mapper: Mapper, values: dict[str, Any]) -> Any:
    """The session's persistent object for a row just read or written, holding `values`
    as its loaded state (columns not given load on first use). Made without the mapped
    class's constructor, which sets every attribute through its instrumentation and records
    each as a change, only for make_transient_to_detached to discard them again: a
    third of reading a row. (The models have no constructor or mutable types of their own.)"""
    obj = mapper.class_manager.new_instance()
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
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
    if _PIPELINE in conn.info:
        shared = conn.info.get(_SHARED)
        driver = conn.connection.driver_connection
        if shared is not None and shared[1].connection is driver:
            unread = shared[1]
        else:
            unread = driver.cursor()
        try:
            unread.execute("COMMIT", prepare=False)
        except conn.dialect.loaded_dbapi.Error as err:  # an earlier statement's error, come back already
            _leave_pipeline(conn.info, conn.dialect, raise_errors=False)
            raise _wrapped(err, "COMMIT", None, conn.dialect) from err
        _leave_pipeline(conn.info, conn.dialect, raise_errors=True)


@sa_event.listens_for(Engine, "rollback")
def _before_rollback(conn) -> None:
    if _PIPELINE in conn.info:
        _leave_pipeline(conn.info, conn.dialect, raise_errors=False)  # rolled back anyway


@sa_event.listens_for(Pool, "reset")
def _on_reset(dbapi_connection, connection_record, reset_state) -> None:
    pipeline = connection_record.info.pop(_PIPELINE, None)
    if pipeline is not None:
        try:
            pipeline.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - the pool rolls back and resets the connection next
            pass
    _psycopg_begins_again(connection_record.info)
