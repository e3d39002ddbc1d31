"""One case of tests/fixtures/growth_items.bpmn (a sequential multi-instance user task),
started and driven a step at a time through the engine: the long case the snapshot tests use."""

from __future__ import annotations

from tests.conftest import FIXTURES
from webapp.engine import clock, definitions, runtime
from webapp.extensions import db
from webapp.models import InboxTask
from workers import registry


def start_growth(steps: int) -> int:
    path = FIXTURES / "growth_items.bpmn"
    definitions.deploy({path.name: path.read_bytes()}, actor="t", now=clock.now(), known_operators=registry.names())
    db.session.commit()
    return runtime.start_instance("growth_items", {"steps": steps}, actor="t").id


def complete_next(instance_id: int, data: dict | None = None) -> None:
    task_id = db.session.scalar(db.select(InboxTask.id).where(InboxTask.instance_id == instance_id,
                                                              InboxTask.state == "open"))
    runtime.complete_user_task(task_id, data or {}, actor="t", roles={"admin"})
