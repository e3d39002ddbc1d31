"""Acceptance 3 of the spine: replay reproduces the snapshot; any edit of the stored
history, snapshot or definition makes verify name the first bad row."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.complaint_driver import ComplaintDriver
from tests.forgery import rechain
from webapp.engine.serialization import canonical_json
from webapp.extensions import db
from webapp.models import HistoryEvent

pytestmark = pytest.mark.tampers


@pytest.fixture
def finished(users, deployed_complaints, run_worker, manual_clock):
    """A complaint run to its end."""
    c = ComplaintDriver(users, run_worker)
    c.start()
    manual_clock.advance(hours=1)
    c.verify()
    c.analyse(resolvable=True, department="quality")  # no corrective action: the case ends at its close
    c.propose()
    c.confirm(agrees=True)
    c.carry_out_and_close()
    assert c.instance()["status"] == "completed"
    return c


def _verify(c: ComplaintDriver) -> dict:
    return c.users["auditor"].get(f"/api/process-instances/{c.instance_id}/verify").get_json()


def _events(c):
    return db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == c.instance_id).order_by(HistoryEvent.seq)
    ).all()


def _sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def test_untouched_history_verifies(finished):
    n = len(_events(finished))
    assert n >= 10
    assert _verify(finished) == {"verified": True, "events": n}


def test_changed_value_in_an_event_is_named(finished):
    event = next(e for e in _events(finished) if e.type == "task_completed" and e.bpmn_id == "propose_solution")
    payload = json.loads(event.payload)
    payload["data"]["solution"] = "什么也不做"
    _sql("UPDATE history_events SET payload = :p WHERE id = :id", p=canonical_json(payload), id=event.id)
    result = _verify(finished)
    assert result["verified"] is False
    assert result["first_bad_seq"] == event.seq
    assert "hash" in result["reason"]


def test_rehashed_forgery_is_caught_by_replay(finished):
    """Someone edits a payload AND recomputes every hash: replay still disagrees."""
    events = _events(finished)
    target = next(e for e in events if e.type == "task_completed" and e.bpmn_id == "confirm_with_customer")
    payload = json.loads(target.payload)
    payload["data"]["customer_agrees"] = False
    target.payload = canonical_json(payload)
    prev = rechain(events)
    _sql("UPDATE instances SET last_hash = :h WHERE id = :id", h=prev, id=finished.instance_id)
    db.session.commit()
    result = _verify(finished)
    assert result["verified"] is False
    assert result["first_bad_seq"] == target.seq


def test_deleted_event_is_named(finished):
    events = _events(finished)
    victim_id, victim_seq = events[4].id, events[4].seq
    _sql("DELETE FROM history_events WHERE id = :id", id=victim_id)
    result = _verify(finished)
    assert result == {"verified": False, "first_bad_seq": victim_seq, "reason": result["reason"]}
    assert "missing" in result["reason"]


def test_deleted_last_event_is_named(finished):
    events = _events(finished)
    last_id, previous_seq = events[-1].id, events[-2].seq
    _sql("DELETE FROM history_events WHERE id = :id", id=last_id)
    result = _verify(finished)
    assert result["verified"] is False and result["first_bad_seq"] == previous_seq


def test_reordered_events_are_named(finished):
    events = _events(finished)
    (a_id, a_seq), (b_id, b_seq) = (events[5].id, events[5].seq), (events[6].id, events[6].seq)
    _sql("UPDATE history_events SET seq = -1 WHERE id = :id", id=a_id)
    _sql("UPDATE history_events SET seq = :s WHERE id = :id", s=a_seq, id=b_id)
    _sql("UPDATE history_events SET seq = :s WHERE id = :id", s=b_seq, id=a_id)
    result = _verify(finished)
    assert result["verified"] is False and result["first_bad_seq"] == a_seq


def test_edited_snapshot_is_named(finished):
    # the snapshot is stored in pieces (docs/history.md): the piece that holds the text is edited
    n, snapshot = db.session.execute(text("SELECT n, text FROM snapshot_pieces WHERE instance_id = :id AND text LIKE :t "
                                          "ORDER BY n"), {"id": finished.instance_id, "t": "%更换电容%"}).first()
    edited = snapshot.replace("更换电容", "什么也不做", 1)
    assert edited != snapshot
    _sql("UPDATE snapshot_pieces SET text = :s WHERE instance_id = :id AND n = :n", s=edited, id=finished.instance_id, n=n)
    result = _verify(finished)
    assert result["verified"] is False
    assert result["first_bad_seq"] == _events(finished)[-1].seq
    assert "snapshot" in result["reason"]


@pytest.mark.parametrize("verified_before", [False, True])
def test_changed_definition_xml_is_named(finished, verified_before):
    if verified_before:  # this process has checked the stored version already (a cached verdict)
        assert _verify(finished)["verified"] is True
    row = db.session.execute(text("SELECT id, files FROM definitions WHERE key = 'complaint_handling'")).one()
    files = row.files if isinstance(row.files, dict) else json.loads(row.files)  # PostgreSQL returns JSON decoded
    name = next(iter(files))
    files[name] = files[name].replace('"PT48H"', '"PT480H"')
    files_json = json.dumps(files, ensure_ascii=False)
    cast = "CAST(:f AS JSON)" if db.engine.dialect.name == "postgresql" else ":f"
    _sql(f"UPDATE definitions SET files = {cast} WHERE id = :id", f=files_json, id=row.id)
    result = _verify(finished)
    assert result["verified"] is False and result["first_bad_seq"] == 0
    assert "content hash" in result["reason"]


def test_an_instance_pointed_at_a_missing_version_is_named(finished):
    """The instance's row names a process version that is not stored (its reference edited
    while the database did not check it): verify names it before replaying anything."""
    missing = 1 + db.session.scalar(text("SELECT max(id) FROM definitions"))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))  # foreign keys not checked
        _sql("UPDATE instances SET definition_id = :d WHERE id = :id", d=missing, id=finished.instance_id)
    else:
        import sqlite3

        db.session.rollback()
        raw = sqlite3.connect(db.engine.url.database)  # a plain connection: foreign keys off, SQLite's default
        with raw:
            raw.execute("UPDATE instances SET definition_id = ? WHERE id = ?", (missing, finished.instance_id))
        raw.close()
    result = _verify(finished)
    assert result["verified"] is False and result["first_bad_seq"] == 0
    assert result["reason"] == f"definition id {missing} of the instance is missing"


def test_replay_to_any_event(finished):
    admin = finished.users["admin"]
    events = admin.get(f"/api/process-instances/{finished.instance_id}/history").get_json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "instance_started" and events[0]["actor"] == "agent"
    state1 = admin.get(f"/api/process-instances/{finished.instance_id}/replay?upto=1").get_json()
    assert state1["active_elements"] == ["register_case", "start"] or "register_case" in state1["active_elements"]
    assert state1["completed"] is False
    verify_seq = next(e["seq"] for e in events if e["bpmn_id"] == "verify_complaint")
    before = admin.get(f"/api/process-instances/{finished.instance_id}/replay?upto={verify_seq - 1}").get_json()
    after = admin.get(f"/api/process-instances/{finished.instance_id}/replay?upto={verify_seq}").get_json()
    assert "verify_complaint" in before["active_elements"]
    assert "verify_complaint" in after["completed_elements"]
    assert after["data"]["severity"] == "normal" and "severity" not in before["data"]
    final = admin.get(f"/api/process-instances/{finished.instance_id}/replay").get_json()
    assert final["completed"] is True and final["upto"] == len(events)
    assert admin.get(f"/api/process-instances/{finished.instance_id}/replay?upto=x").status_code == 400


def test_audit_verify_cli_fails_on_tampering(app, finished):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "0 failed" in ok.output
    event_id, event_seq = _events(finished)[2].id, _events(finished)[2].seq
    _sql("UPDATE history_events SET actor = 'mallory' WHERE id = :id", id=event_id)
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert f"first bad event {event_seq}" in bad.output


def test_audit_verify_in_a_pool_of_processes_names_the_same_event(app, finished):
    """The bulk run's pool: each process opens the database afresh (no cache of this one)."""
    runner = app.test_cli_runner()
    db.session.remove()
    ok = runner.invoke(args=["audit", "verify", "--processes", "2"])
    assert ok.exit_code == 0, ok.output
    assert "events verified, 0 failed" in ok.output and "with 2 process(es)" in ok.output
    event_seq = _events(finished)[4].seq
    _sql("UPDATE history_events SET actor = 'mallory' WHERE id = :id", id=_events(finished)[4].id)
    db.session.remove()
    bad = runner.invoke(args=["audit", "verify", "--processes", "2"])
    assert bad.exit_code == 1
    assert f"first bad event {event_seq}: hash does not match the event's content" in bad.output


@pytest.mark.parametrize("tamper", ["none", "payload", "snapshot"])
def test_verify_on_its_own_reads_beside_a_writer_and_names_the_event(finished, monkeypatch, tamper):
    """verify and replay called with no transaction open read in one of their own (a reader's:
    no lock taken), and end it: they run while another connection holds what a command on the
    case would wait for (SQLite: the write lock, which the commands' BEGIN IMMEDIATE waits for;
    PostgreSQL: the instance's row lock, which a command's versioned write waits for), here
    0.3 s before the command fails, and still name what was edited."""
    from webapp.engine import replay

    events = _events(finished)
    if tamper == "payload":
        event = next(e for e in events if e.type == "task_completed" and e.bpmn_id == "propose_solution")
        payload = json.loads(event.payload)
        payload["data"]["solution"] = "什么也不做"
        _sql("UPDATE history_events SET payload = :p WHERE id = :id", p=canonical_json(payload), id=event.id)
        expected = {"verified": False, "first_bad_seq": event.seq, "reason": "hash does not match the event's content"}
    elif tamper == "snapshot":
        n, piece = db.session.execute(text("SELECT n, text FROM snapshot_pieces WHERE instance_id = :id AND text LIKE :t "
                                           "ORDER BY n"), {"id": finished.instance_id, "t": "%更换电容%"}).first()
        _sql("UPDATE snapshot_pieces SET text = :s WHERE instance_id = :id AND n = :n",
             s=piece.replace("更换电容", "什么也不做", 1), id=finished.instance_id, n=n)
        expected = {"verified": False, "first_bad_seq": events[-1].seq,
                    "reason": "stored snapshot differs from the replayed state"}
    else:
        expected = {"verified": True, "events": len(events)}
    stored = "".join(db.session.execute(text("SELECT text FROM snapshot_pieces WHERE instance_id = :id ORDER BY n"),
                                        {"id": finished.instance_id}).scalars())
    db.session.rollback()
    release = _hold_what_a_command_waits_for(finished.instance_id, monkeypatch)
    try:
        assert not db.session().in_transaction()
        assert replay.verify(finished.instance_id) == expected
        assert not db.session().in_transaction()  # ended by verify: nothing can write in it
        state = replay.replay(finished.instance_id)
        assert state.upto == len(events) and not db.session().in_transaction()
        if tamper != "payload":  # (replay runs the edited payload: the chain check is verify's)
            assert (state.snapshot == stored) is (tamper == "none")
    finally:
        release()


def _hold_what_a_command_waits_for(instance_id: int, monkeypatch):
    """Another connection takes what a command on the instance would wait for, and the test's
    own session shows that a command would wait for it now (0.3 s, then an error). Returns
    what lets it go."""
    import sqlite3

    from webapp import sqlite_setup

    if db.engine.dialect.name == "sqlite":
        monkeypatch.setattr(sqlite_setup, "BUSY_TIMEOUT_MS", 300)
        writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(Exception, match="locked"):  # the commands' transaction meanwhile
            db.session.execute(text("SELECT 1"))
        db.session.rollback()

        def release() -> None:
            writer.execute("ROLLBACK")
            writer.close()

        return release
    writer = db.engine.connect()
    lock_row = text("SELECT id FROM instances WHERE id = :id FOR UPDATE")
    writer.execute(lock_row, {"id": instance_id})
    db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
    with pytest.raises(Exception, match="lock timeout"):  # a command's write of the row meanwhile
        db.session.execute(lock_row, {"id": instance_id})
    db.session.rollback()

    def release() -> None:
        writer.rollback()
        writer.close()

    return release
