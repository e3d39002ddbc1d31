"""The system log under concurrent writers: every entry gets the next number and chains on the
one before, whatever the interleaving. On SQLite (transactions are BEGIN IMMEDIATE) and, with
TEST_DATABASE_URL, on PostgreSQL (writers lock the head row)."""

from __future__ import annotations

import threading

from webapp.audit import system_log
from webapp.extensions import db
from webapp.models import SystemLogEvent

WRITERS = 8
EACH = 15


def test_concurrent_writers_keep_one_chain(app):
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(EACH):
                    system_log.record("login", actor=f"user{n}", subject=f"user{n}", payload={"i": i}, commit=True)
                db.session.remove()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    seqs = db.session.scalars(db.select(SystemLogEvent.seq).order_by(SystemLogEvent.seq)).all()
    assert seqs == list(range(1, WRITERS * EACH + 1))
    result = system_log.verify()
    assert result == {"verified": True, "events": WRITERS * EACH, "head": system_log.head().last_hash}
    by_writer = db.session.execute(db.select(SystemLogEvent.actor, db.func.count()).group_by(SystemLogEvent.actor)).all()
    assert sorted(count for _actor, count in by_writer) == [EACH] * WRITERS


def test_an_entry_is_part_of_its_transaction(app):
    """A rolled-back action leaves no entry and no gap; the next entry takes the number."""
    system_log.record("login", actor="a", commit=True)
    system_log.record("definition_deployed", actor="owner", subject="x v1")
    db.session.rollback()
    system_log.record("logout", actor="a", commit=True)
    rows = db.session.scalars(db.select(SystemLogEvent).order_by(SystemLogEvent.seq)).all()
    assert [(r.seq, r.type) for r in rows] == [(1, "login"), (2, "logout")]
    assert system_log.verify()["verified"]
