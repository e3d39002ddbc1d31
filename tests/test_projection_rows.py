"""engine/projection.py writes the inbox with plain UPDATEs: a task object the session holds
reads what they wrote in the same transaction, and keeps what they did not touch."""

from __future__ import annotations

from tests.growth_case import start_growth
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import InboxTask


def _open_task(instance_id: int) -> InboxTask:
    return db.session.scalar(db.select(InboxTask).where(InboxTask.instance_id == instance_id,
                                                        InboxTask.state == "open"))


def test_a_held_task_reads_its_completion_in_the_same_transaction(app, users):
    instance_id = start_growth(3)
    row = _open_task(instance_id)
    assert (row.state, row.completed_by, row.completed_at) == ("open", None, None)
    row.draft = {"typed": "kept"}  # a change of this transaction the UPDATE does not touch
    runtime.complete_user_task(row.id, {}, actor="alice", roles={"admin"}, commit=False)
    assert row.state == "completed"
    assert row.completed_by == "alice"
    assert row.completed_at is not None
    assert row.draft == {"typed": "kept"}
    next_row = _open_task(instance_id)
    assert next_row is not None and next_row.id != row.id
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(InboxTask, row.id)
    assert (stored.state, stored.completed_by, stored.draft) == ("completed", "alice", {"typed": "kept"})
