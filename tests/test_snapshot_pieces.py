"""Issue 17, growth: an instance's snapshot is stored in pieces and a command rewrites only
the pieces that changed; new instances hash their states over the pieces (form 2), older
ones keep hashing the whole text (form 1); verify proves both (docs/history.md)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text

from tests.growth_case import complete_next, start_growth
from webapp.engine import history, replay, runtime, serialization, snapshots, workflow_cache
from webapp.extensions import db
from webapp.models import HistoryEvent, InboxTask, Instance, SnapshotPiece


def _pieces(instance_id: int) -> list[str]:
    return list(db.session.scalars(db.select(SnapshotPiece.text).where(SnapshotPiece.instance_id == instance_id)
                                   .order_by(SnapshotPiece.n)))


def test_a_long_case_rewrites_only_the_pieces_that_changed(app, users):
    instance_id = start_growth(80)
    for _ in range(60):
        complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    assert instance.state_hash_form == 2 and instance.snapshot_pieces > 4
    before = _pieces(instance_id)
    assert len(before) == instance.snapshot_pieces
    workflow_cache.clear()  # the next command loads the workflow from the pieces, as another process would
    # (data that the multi-instance task did not have before would change every step's delta
    # against it: SpiffWorkflow's format, docs/history.md)
    complete_next(instance_id)
    after = _pieces(instance_id)
    changed = [n for n in range(max(len(before), len(after)))
               if n >= len(before) or n >= len(after) or before[n] != after[n]]
    assert 0 < len(changed) <= 4, changed  # the head, the multi-instance task's piece, the new step's, the tail
    instance = db.session.get(Instance, instance_id)
    state = replay.replay(instance_id)
    assert "".join(after) == snapshots.text_of(instance) == state.snapshot
    last = db.session.scalar(db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                           HistoryEvent.seq == instance.last_seq))
    digests = "".join(hashlib.sha256(piece.encode()).hexdigest() + "\n" for piece in after)
    assert last.state_hash == hashlib.sha256(digests.encode()).hexdigest()  # form 2 as docs/history.md states it
    assert replay.describe(state)["state_hash"] == last.state_hash
    db.session.rollback()
    runtime.claim_task(db.session.scalar(db.select(InboxTask.id).where(InboxTask.instance_id == instance_id,
                                                                       InboxTask.state == "open")),
                       actor="t", roles={"admin"})
    passive = db.session.scalar(db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                              HistoryEvent.type == "task_claimed"))
    assert passive.state_hash == last.state_hash  # a claim gives no input: the state stays
    assert replay.verify(instance_id) == {"verified": True, "events": passive.seq}


def _to_form_one(instance_id: int) -> None:
    """The instance as it was stored before the pieces: its whole text on the row and every
    state hash the sha256 of the snapshot text, the chain hashed again over them."""
    events = history.events_of(instance_id)
    prev = history.GENESIS
    for event in events:
        event.state_hash = hashlib.sha256(replay.replay(instance_id, event.seq).snapshot.encode()).hexdigest()
        event.prev_hash = prev
        event.hash = history.chain_hash(prev, event)
        prev = event.hash
    instance = db.session.get(Instance, instance_id)
    snapshot = snapshots.text_of(instance)
    db.session.flush()
    db.session.execute(text("UPDATE instances SET snapshot = :s, snapshot_pieces = 0, state_hash_form = 1, "
                            "last_hash = :h WHERE id = :i"), {"s": snapshot, "h": prev, "i": instance_id})
    db.session.execute(text("DELETE FROM snapshot_pieces WHERE instance_id = :i"), {"i": instance_id})
    db.session.commit()
    db.session.expire_all()
    workflow_cache.clear()


def test_an_instance_of_the_old_form_keeps_its_form_and_moves_to_pieces(app, users):
    instance_id = start_growth(30)
    for _ in range(20):
        complete_next(instance_id)
    _to_form_one(instance_id)
    assert _pieces(instance_id) == []
    assert replay.verify(instance_id)["verified"]
    complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    assert instance.state_hash_form == 1 and instance.snapshot_pieces > 0
    assert "".join(_pieces(instance_id)) == snapshots.text_of(instance) == replay.replay(instance_id).snapshot
    last = db.session.scalar(db.select(HistoryEvent.state_hash).where(HistoryEvent.instance_id == instance_id,
                                                                      HistoryEvent.seq == instance.last_seq))
    assert last == hashlib.sha256(snapshots.text_of(instance).encode()).hexdigest()
    assert replay.verify(instance_id)["verified"]


@pytest.mark.tampers
def test_a_changed_piece_is_found(app, users):
    instance_id = start_growth(40)
    for _ in range(25):
        complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    piece = db.session.get(SnapshotPiece, (instance_id, 2))
    entry = json.loads("{" + piece.text.lstrip(",") + "}")
    task = next(iter(entry.values()))
    piece.text = piece.text.replace(f'"last_state_change":{json.dumps(task["last_state_change"])}',
                                    '"last_state_change":0.0', 1)
    db.session.commit()
    result = replay.verify(instance_id)
    assert result == {"verified": False, "first_bad_seq": instance.last_seq,
                      "reason": "stored snapshot differs from the replayed state"}


def test_the_state_hash_is_made_in_one_place(app, users):
    instance_id = start_growth(5)
    complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    workflow = runtime.load_workflow(instance)
    text_now = serialization.dump(workflow)
    assert serialization.state_hash_of(workflow, 1) == hashlib.sha256(text_now.encode()).hexdigest()
    pieces = serialization.dump_pieces(workflow)
    assert b"".join(pieces).decode() == text_now
    with pytest.raises(ValueError):
        serialization.state_hash_of(workflow, 3)
    db.session.rollback()
