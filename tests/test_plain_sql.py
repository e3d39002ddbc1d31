"""engine/plain_sql.py: the command path's statements on the driver store and read values
exactly as the ORM does, hand rows to the session as the ORM's own load would, and fail
with SQLAlchemy's errors (SQLite here; PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.exc import DataError, IntegrityError

from webapp.engine import plain_sql
from webapp.extensions import db
from webapp.models import Definition, Instance

_INSERT = plain_sql.Statement(
    Instance.__table__.insert().returning(Instance.__table__.c.id),
    ("definition_id", "process_key", "business_key", "status", "snapshot", "data", "started_at", "updated_at",
     "next_timer_due"),
)
_ROW = plain_sql.Loader(Instance)


@pytest.fixture(autouse=True)
def _rows_removed_after(app):
    """These rows have no history (written here by hand): gone before the replay check."""
    yield
    db.session.rollback()
    db.session.execute(delete(Instance))
    db.session.execute(delete(Definition))
    db.session.commit()


def _definition() -> int:
    row = Definition(key="p", version=1, name="p", files={}, forms={}, meta={}, content_hash="h",
                     deployed_at=datetime(2026, 3, 2, tzinfo=UTC))
    db.session.add(row)
    db.session.flush()
    return row.id


def _insert(definition_id: int, business_key: str, **values) -> int:
    moment = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    row = {"definition_id": definition_id, "process_key": "p", "business_key": business_key, "status": "running",
           "snapshot": "{}", "data": {"客户": "张三", "n": [1, 2]}, "started_at": moment, "updated_at": moment,
           "next_timer_due": None, **values}
    return plain_sql.execute(db.session, _INSERT, row).fetchone()[0]


def test_values_written_on_the_driver_read_back_through_the_orm(app):
    definition_id = _definition()
    due = datetime(2026, 3, 3, 1, 2, 3, 456789, tzinfo=UTC)
    instance_id = _insert(definition_id, "P-1", next_timer_due=due)
    db.session.commit()
    db.session.expunge_all()
    instance = db.session.get(Instance, instance_id)
    assert instance.data == {"客户": "张三", "n": [1, 2]}
    assert instance.next_timer_due == due and instance.next_timer_due.tzinfo is not None
    assert instance.started_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    # and the ORM's own query finds it by a datetime comparison (same text form on SQLite)
    assert db.session.scalar(select(Instance.id).where(Instance.next_timer_due == due)) == instance_id


def test_the_loader_reads_as_the_session_would(app):
    definition_id = _definition()
    instance_id = _insert(definition_id, "P-2")
    db.session.commit()
    db.session.expunge_all()

    loaded = _ROW.get(db.session, instance_id)
    assert loaded is db.session.get(Instance, instance_id)  # one object per row in the session
    assert loaded.data == {"客户": "张三", "n": [1, 2]} and loaded.started_at.tzinfo is not None
    assert not db.session.dirty and loaded.snapshot == "{}"  # the deferred column loads on use

    loaded.status = "completed"  # a change of this transaction is kept, as by the ORM
    assert _ROW.get(db.session, instance_id).status == "completed"
    db.session.rollback()  # expired: read again
    assert _ROW.get(db.session, instance_id).status == "running"
    assert _ROW.get(db.session, instance_id + 1000) is None


_STATUS_ONLY = plain_sql.Loader(Instance, ("status", "data"))


def test_a_peeked_row_is_the_sessions_object_if_held_else_a_record_the_session_never_sees(app):
    definition_id = _definition()
    instance_id = _insert(definition_id, "P-3")
    db.session.commit()
    db.session.expunge_all()

    row = plain_sql.fetch_one(db.session, _STATUS_ONLY.by_id, {"pk": instance_id})
    record = _STATUS_ONLY.peek(db.session, row)
    assert (record.id, record.status, record.data) == (instance_id, "running", {"客户": "张三", "n": [1, 2]})
    assert not list(db.session.identity_map.values())  # not adopted: nothing to expire at the commit
    with pytest.raises(AttributeError):
        record.status = "completed"  # read only

    held = db.session.get(Instance, instance_id)
    held.status = "completed"  # a change of this transaction wins, as with `take`
    assert _STATUS_ONLY.peek(db.session, row) is held and held.status == "completed"
    db.session.rollback()


def test_driver_errors_are_sqlalchemy_errors(app):
    definition_id = _definition()
    _insert(definition_id, "P-3")
    with pytest.raises(IntegrityError):
        _insert(definition_id, "P-3")  # the business key is unique
    db.session.rollback()


def test_fixed_values_in_the_expression_are_sent(app):
    definition_id = _definition()
    _insert(definition_id, "P-4")
    _insert(definition_id, "P-5", status="completed")
    running = plain_sql.Statement(
        select(Instance.business_key).where(Instance.status == "running", Instance.process_key == bindparam("key"))
        .order_by(Instance.business_key).limit(5)
    )
    assert plain_sql.fetch_one(db.session, running, {"key": "p"}) == ("P-4",)
    db.session.rollback()


def test_rows_written_at_once_read_back_as_one_by_one(app):
    """execute_many: one multi-row INSERT on PostgreSQL (a fork's new inbox rows), executemany
    on SQLite; the same rows either way, JSON and aware datetimes converted per row as the
    ORM would."""
    from webapp.engine import projection
    from webapp.models import InboxTask

    instance_id = _insert(_definition(), "P-many")
    assert projection._INBOX_INSERT.rows_at_once(3) is not None  # every column given or left to the database
    moment = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    rows = [{"id": f"t-{n}", "instance_id": instance_id, "bpmn_id": f"b{n}", "name": f"任务 {n}", "role": "agent",
             "lane_name": None, "form_schema": None if n else "intake", "form_ui_schema": None, "state": "open",
             "created_at": moment, "due_at": None if n == 0 else datetime(2026, 3, 4, n, tzinfo=UTC),
             "task_metadata": {"n": n, "客户": "李四"}, "prefill": [] if n else {"a": 1}} for n in range(3)]
    plain_sql.execute_many(db.session, projection._INBOX_INSERT, rows)
    db.session.commit()
    db.session.expunge_all()
    found = db.session.scalars(select(InboxTask).where(InboxTask.instance_id == instance_id).order_by(InboxTask.id)).all()
    assert [{key: getattr(task, key) for key in rows[0]} for task in found] == rows
    db.session.execute(delete(InboxTask))
    db.session.commit()


def _on_postgresql() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pipeline (TEST_DATABASE_URL)")


def test_on_postgresql_a_transaction_begins_without_a_wait_of_its_own(app, pipeline_syncs):
    """The BEGIN travels with the transaction's first statement (psycopg would send it with a
    sync of its own): one sync, the commit's. And it is a transaction: a statement failing
    after a write leaves nothing of that write."""
    _on_postgresql()
    definition_id = _definition()
    db.session.commit()
    pipeline_syncs.clear()
    assert plain_sql.fetch_one(db.session, _ROW.by_id, {"pk": -1}) is None
    _insert(definition_id, "P-1")
    db.session.commit()
    assert len(pipeline_syncs) == 1
    assert db.session.scalar(select(Instance.business_key)) == "P-1"
    db.session.rollback()

    _insert(definition_id, "P-2")
    fails = plain_sql.Statement(select(bindparam("n") / 0))
    plain_sql.send(db.session, fails, {"n": 1})
    with pytest.raises(DataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(Instance.business_key)).all() == ["P-1"]
    driver = db.session.connection().connection.driver_connection
    assert driver.autocommit is False  # psycopg begins again where we do not


def test_on_postgresql_a_later_read_does_not_wait_for_what_was_sent_after_it(app):
    """`Later.rows()` takes its own answer only: not the answers of statements sent after it
    (here one waiting for a row another connection holds, then one failing); their outcome,
    the error included, comes with the commit, which then keeps nothing."""
    _on_postgresql()
    instance_id = _insert(_definition(), "P-1")
    db.session.commit()
    table = Instance.__table__
    with db.engine.connect() as other:
        other.execute(select(table.c.id).where(table.c.id == instance_id).with_for_update())
        db.session.execute(text("SET LOCAL lock_timeout = '3s'"))  # a read that waited would fail, not hang
        later = plain_sql.Later(db.session, plain_sql.Statement(select(table.c.id).where(table.c.id == bindparam("id"))),
                                {"id": instance_id})
        waits = plain_sql.Statement(table.update().where(table.c.id == bindparam("id")).values(status="cancelled"))
        plain_sql.send(db.session, waits, {"id": instance_id})
        plain_sql.send(db.session, plain_sql.Statement(select(bindparam("n") / 0)), {"n": 1})
        assert later.rows() == [(instance_id,)]
        other.rollback()
    with pytest.raises(DataError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Instance, instance_id).status == "running"


def _server_side_transaction_started() -> datetime | None:
    """When the server began the transaction of the session's connection (None: none begun),
    asked on another connection."""
    pid = db.session.connection().connection.driver_connection.info.backend_pid
    with db.engine.connect() as other:
        return other.scalar(text("SELECT xact_start FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})


def _visible_elsewhere(business_key: str) -> bool:
    with db.engine.connect() as other:  # another connection: what is committed
        return other.scalar(select(Instance.id).where(Instance.business_key == business_key)) is not None


def test_the_begin_travels_with_the_first_statement_and_the_transaction_holds(app, monkeypatch):
    """PostgreSQL: a command's BEGIN is not answered before its first statement goes out (no
    pipeline sync, which psycopg would wait for), and a statement nobody reads is held until
    the next read; the statements still run in one transaction, kept by the commit and by
    nothing else, and a failing first statement keeps nothing."""
    from psycopg._pipeline_base import BasePipeline

    _on_postgresql()
    definition_id = _definition()
    db.session.commit()
    syncs = []
    enqueue_sync = BasePipeline._enqueue_sync
    monkeypatch.setattr(BasePipeline, "_enqueue_sync", lambda self: (syncs.append(1), enqueue_sync(self))[1])
    plain_sql.send(db.session, _INSERT, {"definition_id": definition_id, "process_key": "p", "business_key": "P-b1",
                                         "status": "running", "snapshot": "{}", "data": {}, "started_at": datetime.now(UTC),
                                         "updated_at": datetime.now(UTC), "next_timer_due": None})
    assert not syncs  # nothing waited for
    # the BEGIN and the INSERT are held on this side (written with the next read, in one
    # write): the server has not begun a transaction for this connection
    assert _server_side_transaction_started() is None
    _insert(definition_id, "P-b2")  # a read: waits for both
    assert _server_side_transaction_started() is not None
    assert not _visible_elsewhere("P-b1")  # inside the transaction, not committed
    db.session.commit()
    assert _visible_elsewhere("P-b1") and _visible_elsewhere("P-b2")

    with pytest.raises(IntegrityError):  # the first statement fails: raised at the read after it
        plain_sql.send(db.session, _INSERT, {"definition_id": definition_id, "process_key": "p", "business_key": "P-b1",
                                             "status": "running", "snapshot": "{}", "data": {},
                                             "started_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
                                             "next_timer_due": None})
        _insert(definition_id, "P-b3")
    db.session.rollback()
    assert not _visible_elsewhere("P-b3")
    _insert(definition_id, "P-b4")  # the connection goes on
    db.session.commit()
    assert _visible_elsewhere("P-b4")


def test_the_drivers_own_commit_in_the_pipeline_still_commits(app):
    """PostgreSQL: psycopg's commit() called while the pipeline runs (not plain_sql's commit
    hook) syncs first, so the transaction whose BEGIN the server has not yet answered is not
    taken for idle and left uncommitted."""
    _on_postgresql()
    definition_id = _definition()
    db.session.commit()
    _insert(definition_id, "P-c1")  # sent with its BEGIN, read: every answer in, no sync yet
    driver = db.session.connection().connection.driver_connection
    driver.commit()
    assert _visible_elsewhere("P-c1")
    db.session.rollback()


def _server_prepared() -> list[str]:
    return db.session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()


def test_on_postgresql_statements_skip_psycopgs_execute_and_stay_prepared_across_its_deallocate(app, monkeypatch):
    """The module's statements go into psycopg's pipeline without `Cursor.execute` (its
    per-statement machinery), and are prepared by psycopg's own cache (after 5 runs) under
    its names: psycopg's DEALLOCATE ALL on a rollback and a new connection leave none that
    the server lost. Relies on psycopg 3.3 internals (the pipeline's queues, the prepared-
    statement cache, query conversion, the cursor's Transformer): an upgrade that changes
    them fails here."""
    import psycopg

    _on_postgresql()
    definition_id = _definition()
    db.session.commit()
    executed: list[str] = []
    execute = psycopg.Cursor.execute
    monkeypatch.setattr(psycopg.Cursor, "execute", lambda self, query, *args, **kwargs: (
        executed.append(query), execute(self, query, *args, **kwargs))[1])
    renamed = plain_sql.Statement(Instance.__table__.update().where(Instance.__table__.c.id == bindparam("w_id"))
                                  .values(process_key=bindparam("v_key")))
    for round_ in range(3):
        executed.clear()
        ids = [_insert(definition_id, f"P-{round_}-{n}") for n in range(7)]  # an INSERT ... RETURNING: read
        for n, instance_id in enumerate(ids):
            plain_sql.send(db.session, renamed, {"w_id": instance_id, "v_key": f"k{round_}-{n}"})  # nobody reads
        assert executed == []  # not one through psycopg's Cursor.execute
        assert [row[2] for row in plain_sql.fetch_all(db.session, plain_sql.Statement(
            select(Instance.id, Instance.business_key, Instance.process_key).where(
                Instance.business_key.like(f"P-{round_}-%")).order_by(Instance.id)), {})] == [
            f"k{round_}-{n}" for n in range(7)]
        prepared = _server_prepared()
        assert any(text_.startswith("INSERT INTO instances") for text_ in prepared)
        assert any(text_.startswith("UPDATE instances") for text_ in prepared)
        if round_ == 0:
            db.session.rollback()  # psycopg forgets its prepared statements and deallocates them all
            assert db.session.scalar(select(Instance.id)) is None
            assert not any(text_.startswith("INSERT INTO instances") for text_ in _server_prepared())
        elif round_ == 1:
            db.session.commit()
            db.session.remove()
            db.engine.dispose()  # a new connection: nothing prepared there yet
    db.session.commit()
    assert sorted(db.session.scalars(select(Instance.process_key)).all()) == sorted(
        f"k{round_}-{n}" for round_ in (1, 2) for n in range(7))


def test_on_postgresql_a_prepared_statements_error_comes_at_the_next_read(app):
    """A statement nobody reads, prepared by now, failing: its error is raised at the next
    read as SQLAlchemy's, and nothing of the transaction is kept."""
    _on_postgresql()
    definition_id = _definition()
    db.session.commit()
    insert = plain_sql.Statement(Instance.__table__.insert(), ("definition_id", "process_key", "business_key", "status",
                                                               "snapshot", "data", "started_at", "updated_at",
                                                               "next_timer_due"))
    row = {"definition_id": definition_id, "process_key": "p", "status": "running", "snapshot": "{}", "data": {},
           "started_at": datetime.now(UTC), "updated_at": datetime.now(UTC), "next_timer_due": None}
    for n in range(7):
        plain_sql.send(db.session, insert, {**row, "business_key": f"P-e{n}"})
    db.session.commit()
    plain_sql.send(db.session, insert, {**row, "business_key": "P-e7"})
    plain_sql.send(db.session, insert, {**row, "business_key": "P-e3"})  # taken: the business key is unique
    with pytest.raises(IntegrityError):
        _insert(definition_id, "P-e8")
    db.session.rollback()
    assert sorted(db.session.scalars(select(Instance.business_key)).all()) == [f"P-e{n}" for n in range(7)]


def test_each_transaction_after_a_commit_is_its_own(app):
    """On PostgreSQL the driver's pipeline stays open from one transaction to the next: the
    next one still begins, commits or rolls back on its own, as another connection sees."""
    definition_id = _definition()
    db.session.commit()

    def seen_elsewhere() -> list[str]:
        with db.engine.connect() as other:
            return sorted(other.scalars(select(Instance.business_key).where(Instance.definition_id == definition_id)))

    _insert(definition_id, "K-1")
    db.session.commit()
    assert seen_elsewhere() == ["K-1"]
    _insert(definition_id, "K-2")
    db.session.rollback()
    assert seen_elsewhere() == ["K-1"]  # rolled back: nothing of it kept
    _insert(definition_id, "K-3")
    with pytest.raises(IntegrityError):
        _insert(definition_id, "K-3")
    db.session.rollback()
    _insert(definition_id, "K-4")
    db.session.commit()
    assert seen_elsewhere() == ["K-1", "K-4"]
    assert sorted(db.session.scalars(select(Instance.business_key).where(Instance.definition_id == definition_id))) \
        == ["K-1", "K-4"]


def test_a_transactions_writes_land_in_order_and_together(app):
    """Unread writes (`send`): on PostgreSQL consecutive writes of different tables go out as
    one statement. Each write still sees the ones before it (a row inserted, then updated; the
    later of two updates of a row wins), a failing one keeps nothing of its transaction, and a
    rollback keeps nothing of what was not sent yet (both databases)."""
    from webapp.engine import projection
    from webapp.models import InboxTask

    instances, tasks = Instance.__table__, InboxTask.__table__
    status = plain_sql.Statement(
        instances.update().where(instances.c.id == bindparam("w_id")).values(status=bindparam("v_status")))
    task_state = plain_sql.Statement(
        tasks.update().where(tasks.c.id == bindparam("w_id")).values(state=bindparam("v_state")))
    instance_id = _insert(_definition(), "P-w1")
    db.session.commit()
    moment = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

    def task(task_id: str) -> dict:
        return {"id": task_id, "instance_id": instance_id, "bpmn_id": "b", "name": "任务", "role": None,
                "lane_name": None, "form_schema": None, "form_ui_schema": None, "state": "open", "created_at": moment,
                "due_at": None, "task_metadata": {}, "prefill": {}}

    def seen_elsewhere() -> tuple:
        with db.engine.connect() as other:
            return (other.scalar(select(instances.c.status).where(instances.c.id == instance_id)),
                    sorted(other.execute(select(tasks.c.id, tasks.c.state)).all()))

    plain_sql.send(db.session, status, {"w_id": instance_id, "v_status": "first"})
    plain_sql.execute_many(db.session, projection._INBOX_INSERT, [task("t-1")])
    plain_sql.send(db.session, task_state, {"w_id": "t-1", "v_state": "completed"})  # the row just inserted
    plain_sql.execute_many(db.session, projection._INBOX_INSERT, [task("t-2"), task("t-3")])
    plain_sql.send(db.session, status, {"w_id": instance_id, "v_status": "second"})
    db.session.commit()
    assert seen_elsewhere() == ("second", [("t-1", "completed"), ("t-2", "open"), ("t-3", "open")])

    plain_sql.send(db.session, status, {"w_id": instance_id, "v_status": "lost"})
    with pytest.raises(IntegrityError):  # SQLite at once, PostgreSQL at the commit
        plain_sql.execute_many(db.session, projection._INBOX_INSERT, [task("t-1")])  # taken: the primary key
        db.session.commit()
    db.session.rollback()
    assert seen_elsewhere() == ("second", [("t-1", "completed"), ("t-2", "open"), ("t-3", "open")])

    plain_sql.send(db.session, status, {"w_id": instance_id, "v_status": "rolled back"})
    plain_sql.send(db.session, task_state, {"w_id": "t-2", "v_state": "rolled back"})
    db.session.rollback()
    plain_sql.send(db.session, task_state, {"w_id": "t-3", "v_state": "cancelled"})
    db.session.commit()
    assert seen_elsewhere() == ("second", [("t-1", "completed"), ("t-2", "open"), ("t-3", "cancelled")])
    db.session.execute(delete(InboxTask))
    db.session.commit()


def test_rows_written_one_after_another_are_numbered_in_that_order(app):
    """Two unread INSERTs of one table in one transaction: the row written first gets the
    smaller id, as it did when each was its own statement. On PostgreSQL the parts of one
    statement run last part first (the main statement, then its WITH parts from the last),
    so identity numbers would come out reversed if the second joined the first: jobs are
    fetched, buffered messages delivered and webhooks sent in id order."""
    rows = plain_sql.Statement(Instance.__table__.insert().inline(), _INSERT.column_keys)
    definition_id = _definition()
    db.session.commit()
    moment = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    for key in ("K-first", "K-second", "K-third"):
        plain_sql.send(db.session, rows, {"definition_id": definition_id, "process_key": "p", "business_key": key,
                                          "status": "running", "snapshot": "{}", "data": {}, "started_at": moment,
                                          "updated_at": moment, "next_timer_due": None})
    db.session.commit()
    assert db.session.scalars(select(Instance.business_key).order_by(Instance.id)).all() \
        == ["K-first", "K-second", "K-third"]
