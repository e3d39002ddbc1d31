"""Cases of tests/fixtures/audit_long.bpmn driven through the engine: one user task done
`rounds` times (the replay and start-tree tests build their histories with it)."""

from __future__ import annotations

from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import InboxTask


def run_loop(rounds: int) -> int:
    """A case of `audit_long` taken through `rounds` rounds by an admin; its id."""
    roles = {"admin"}
    instance_id = runtime.start_instance("audit_long", {"rounds": rounds, "round": 0}, actor="tester").id
    for n in range(1, rounds + 1):
        task_id = db.session.scalar(db.select(InboxTask.id).where(InboxTask.instance_id == instance_id,
                                                                   InboxTask.state == "open"))
        runtime.claim_task(task_id, actor="tester", roles=roles)
        runtime.complete_user_task(task_id, {"round": n}, actor="tester", roles=roles)
    return instance_id
