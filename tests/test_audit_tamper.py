"""Acceptance 2: edit the stored record behind the application's back (a value in an event,
a deleted event, two events swapped, the snapshot, a deployed definition's XML; the system
log's entries and head) and every way to verify fails and names the first bad row: the API,
`flask audit verify`, the verify button on the auditors' pages and the report. Untouched data
verifies everywhere."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from tests import test_audit_support as support
from tests.forgery import rechain
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401
from webapp.engine.serialization import canonical_json
from webapp.extensions import db
from webapp.models import HistoryEvent, SystemLogEvent

pytestmark = pytest.mark.tampers

audit_template, world = support.audit_template, support.world  # the fixtures


def _sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def _events(instance_id: int) -> list[HistoryEvent]:
    return db.session.scalars(
        db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq)
    ).all()


# ---------------------------------------------------------------- the case history


def change_value(instance_id: int) -> tuple[int, str]:
    event = next(e for e in _events(instance_id) if e.bpmn_id == "propose_solution")
    payload = json.loads(event.payload)
    payload["data"]["solution"] = "什么也不做"
    _sql("UPDATE history_events SET payload = :p WHERE id = :id", p=canonical_json(payload), id=event.id)
    return event.seq, "hash"


def change_actor(instance_id: int) -> tuple[int, str]:
    event = _events(instance_id)[4]
    _sql("UPDATE history_events SET actor = 'mallory' WHERE id = :id", id=event.id)
    return event.seq, "hash"


def delete_event(instance_id: int) -> tuple[int, str]:
    event_id, seq = _events(instance_id)[6].id, _events(instance_id)[6].seq
    _sql("DELETE FROM history_events WHERE id = :id", id=event_id)
    return seq, "missing"


def delete_last_event(instance_id: int) -> tuple[int, str]:
    events = _events(instance_id)
    last_id, previous_seq = events[-1].id, events[-2].seq
    _sql("DELETE FROM history_events WHERE id = :id", id=last_id)
    return previous_seq, "chain head"


def reorder_events(instance_id: int) -> tuple[int, str]:
    events = _events(instance_id)
    (a_id, a_seq), (b_id, b_seq) = (events[7].id, events[7].seq), (events[8].id, events[8].seq)
    _sql("UPDATE history_events SET seq = -1 WHERE id = :id", id=a_id)
    _sql("UPDATE history_events SET seq = :s WHERE id = :id", s=a_seq, id=b_id)
    _sql("UPDATE history_events SET seq = :s WHERE id = :id", s=b_seq, id=a_id)
    return a_seq, "prev_hash"


def edit_snapshot(instance_id: int) -> tuple[int, str]:
    # the snapshot is stored in pieces (docs/history.md): the piece that holds the text is edited
    n, snapshot = db.session.execute(text("SELECT n, text FROM snapshot_pieces WHERE instance_id = :id AND text LIKE :t "
                                          "ORDER BY n"), {"id": instance_id, "t": "%更换电容%"}).first()
    edited = snapshot.replace("更换电容", "什么也不做", 1)
    assert edited != snapshot
    _sql("UPDATE snapshot_pieces SET text = :s WHERE instance_id = :id AND n = :n", s=edited, id=instance_id, n=n)
    return _events(instance_id)[-1].seq, "snapshot"


def change_definition_xml(instance_id: int) -> tuple[int, str]:
    row = db.session.execute(text("SELECT id, files FROM definitions WHERE key = 'complaint_handling'")).one()
    files = json.loads(row.files)
    name = next(n for n in files if n.endswith(".bpmn"))
    files[name] = files[name].replace('"PT48H"', '"PT480H"')
    _sql("UPDATE definitions SET files = :f WHERE id = :id", f=json.dumps(files, ensure_ascii=False), id=row.id)
    return 0, "content hash"


def rehashed_forgery(instance_id: int) -> tuple[int, str]:
    """A payload edited AND every hash recomputed, head included: the replay still disagrees."""
    events = _events(instance_id)
    target = next(e for e in events if e.bpmn_id == "confirm_with_customer")
    payload = json.loads(target.payload)
    payload["data"]["customer_agrees"] = False
    target.payload = canonical_json(payload)
    prev = rechain(events)
    db.session.commit()
    _sql("UPDATE instances SET last_hash = :h WHERE id = :id", h=prev, id=instance_id)
    return target.seq, "replay"


TAMPERS = [change_value, change_actor, delete_event, delete_last_event, reorder_events, edit_snapshot, change_definition_xml,
           rehashed_forgery]


def test_untouched_record_verifies_everywhere(world, app_cli):
    t = world.template
    for instance_id in (t.finished, t.running):
        assert world.users["auditor"].get(f"/api/process-instances/{instance_id}/verify").get_json()["verified"] is True
    result = app_cli(["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 instances" in result.output and "0 failed" in result.output and "system log:" in result.output
    auditor = world.web("auditor")
    assert 'data-verified="true"' in text_of(auditor.get(f"/audit/cases/{t.finished}/verify"))
    assert 'data-verified="true"' in text_of(auditor.get("/audit/system-log/verify"))


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tampering_is_named_by_every_verifier(world, app_cli, tamper):
    t = world.template
    auditor = world.web("auditor")  # before the tampering: signing in writes to the system log only
    bad_seq, reason_word = tamper(t.finished)
    db.session.expire_all()
    # the API
    api = world.users["auditor"].get(f"/api/process-instances/{t.finished}/verify").get_json()
    assert api["verified"] is False and api["first_bad_seq"] == bad_seq, api
    assert reason_word in api["reason"], api
    # the CLI: a summary, the instance and its first bad event, exit 1; the other case still verifies
    result = app_cli(["audit", "verify"])
    assert result.exit_code == 1, result.output
    expected_failed = 2 if tamper is change_definition_xml else 1  # both cases run on that version
    assert f"{expected_failed} failed" in result.output
    assert f"instance {t.finished}: first bad event {bad_seq}: " in result.output
    only_running = app_cli(["audit", "verify", "--instance", str(t.running)])
    assert only_running.exit_code == (1 if tamper is change_definition_xml else 0), only_running.output
    # the verify button
    page = text_of(auditor.get(f"/audit/cases/{t.finished}/verify"))
    assert 'data-verified="false"' in page and f'data-first-bad-seq="{bad_seq}"' in page
    if bad_seq:
        assert f'/audit/cases/{t.finished}?step={bad_seq}"' in page  # a link to the bad step in the replay
    # the report says so too, and the replay page still opens
    assert 'data-verified="false"' in text_of(auditor.get(f"/audit/cases/{t.finished}/report"))
    assert auditor.get(f"/audit/cases/{t.finished}").status_code == 200


# ---------------------------------------------------------------- the system log


def _entries() -> list[SystemLogEvent]:
    return db.session.scalars(db.select(SystemLogEvent).order_by(SystemLogEvent.seq)).all()


def log_change_value(entries) -> tuple[int, str]:
    victim = entries[2]
    _sql("UPDATE system_log_events SET actor = 'mallory' WHERE id = :id", id=victim.id)
    return victim.seq, "hash"


def log_change_payload(entries) -> tuple[int, str]:
    victim = next(e for e in entries if e.type == "definition_deployed")
    payload = json.loads(victim.payload)
    payload["version"] = 7
    _sql("UPDATE system_log_events SET payload = :p WHERE id = :id", p=canonical_json(payload), id=victim.id)
    return victim.seq, "hash"


def log_delete(entries) -> tuple[int, str]:
    victim_id, seq = entries[1].id, entries[1].seq
    _sql("DELETE FROM system_log_events WHERE id = :id", id=victim_id)
    return seq, "missing"


def log_delete_last(entries) -> tuple[int, str]:
    victim_id, seq = entries[-1].id, entries[-1].seq
    _sql("DELETE FROM system_log_events WHERE id = :id", id=victim_id)
    return seq, "missing"


def log_reorder(entries) -> tuple[int, str]:
    (a_id, a_seq), (b_id, b_seq) = (entries[2].id, entries[2].seq), (entries[3].id, entries[3].seq)
    _sql("UPDATE system_log_events SET seq = -1 WHERE id = :id", id=a_id)
    _sql("UPDATE system_log_events SET seq = :s WHERE id = :id", s=a_seq, id=b_id)
    _sql("UPDATE system_log_events SET seq = :s WHERE id = :id", s=b_seq, id=a_id)
    return a_seq, "prev_hash"


def log_replace_last(entries) -> tuple[int, str]:
    """The last entry rewritten with a correct hash of its own: the head still names the original."""
    last = entries[-1]
    from webapp.audit import system_log

    last.actor = "mallory"
    last.hash = system_log.chain_hash(last.prev_hash, last)
    db.session.commit()
    return last.seq, "head"


LOG_TAMPERS = [log_change_value, log_change_payload, log_delete, log_delete_last, log_reorder, log_replace_last]


@pytest.mark.parametrize("tamper", LOG_TAMPERS, ids=lambda f: f.__name__)
def test_system_log_tampering_is_named(world, app_cli, tamper):
    auditor = world.web("auditor")
    for username in ("handler", "manager", "agent"):
        world.web(username)
    entries = _entries()
    assert len(entries) >= 5
    bad_seq, reason_word = tamper(entries)
    db.session.expire_all()
    result = app_cli(["audit", "verify-system-log"])
    assert result.exit_code == 1, result.output
    assert f"first bad entry {bad_seq}: " in result.output and reason_word in result.output
    everything = app_cli(["audit", "verify"])
    assert everything.exit_code == 1 and "0 failed" in everything.output  # the cases are fine; the log is not
    page = text_of(auditor.get("/audit/system-log/verify"))
    assert 'data-verified="false"' in page and f'data-first-bad-seq="{bad_seq}"' in page
    assert re.search(reason_word, page)


@pytest.fixture
def app_cli(world):
    runner = world.app.test_cli_runner()

    def _invoke(args: list[str]):
        db.session.remove()  # the CLI works in its own session, as a separate process would
        result = runner.invoke(args=args)
        db.session.remove()
        return result

    return _invoke
