"""The deadline registry and its judgement: every kind of deadline (from the start, a task's
boundary timer with a due time from the case data, an interrupting timer, a watch on a parallel
path) met, missed, overdue and open, at any step of the replay; the registry matches the
procedures' diagrams."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from tests import test_audit_support as support
from tests.conftest import FIXTURES, deploy_files
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401
from webapp.audit import deadlines
from webapp.audit.walk import walk
from webapp.engine import clock, runtime
from webapp.extensions import db
from webapp.models import InboxTask

audit_template, world = support.audit_template, support.world  # the fixtures
PROCESSES = Path(__file__).resolve().parent.parent / "processes"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

# The fixture's entries: one entry per deadline is all a new procedure needs. t_study is left out
# on purpose: the diagram's own boundary timers show up without an entry.
ENTRIES = [
    deadlines.Deadline("audit_deadlines", "answer", "Answer by the due date", timer="t_answer"),
    deadlines.Deadline("audit_deadlines", "ship", "Ship before the watch", role="warranty_clerk", timer="watch", end="ship"),
]


@pytest.fixture
def timed(world, monkeypatch):
    monkeypatch.setattr(deadlines, "REGISTRY", deadlines.REGISTRY + ENTRIES)
    assert deploy_files(world.users["owner"], [FIXTURES / "audit_deadlines.bpmn"]).status_code == 201
    return world


def _start(hours_answer: float = 4, hours_ship: float = 6) -> int:
    now = clock.now()
    data = {"answer_due": clock.to_iso(now + timedelta(hours=hours_answer)),
            "ship_due": clock.to_iso(now + timedelta(hours=hours_ship))}
    return runtime.start_instance("audit_deadlines", data, actor="agent").id


def _complete(instance_id: int, bpmn_id: str) -> None:
    db.session.expire_all()
    row = db.session.scalar(db.select(InboxTask).where(InboxTask.instance_id == instance_id, InboxTask.bpmn_id == bpmn_id,
                                                       InboxTask.state == "open"))
    runtime.complete_user_task(row.id, {}, actor="staff", roles={"admin"})


def _outcomes(instance_id: int, **kw) -> dict[str, tuple[str, str | None]]:
    result = deadlines.case_outcomes(walk(instance_id), **kw)
    db.session.rollback()
    return {o.code: (o.status, o.role) for o in result}


def test_all_in_time(timed):
    instance_id = _start()
    timed.clock.advance(hours=1)
    _complete(instance_id, "answer")
    _complete(instance_id, "study")
    assert {k: v[0] for k, v in _outcomes(instance_id).items()} == {"answer": "met", "ship": "open", "t_study": "met"}
    timed.clock.advance(hours=4)
    _complete(instance_id, "ship")
    timed.clock.advance(hours=2)
    support.worker()  # the watch's time comes: the case ends
    assert timed.users["admin"].get(f"/api/process-instances/{instance_id}").get_json()["status"] == "completed"
    outcomes = _outcomes(instance_id)
    assert outcomes == {"answer": ("met", "customer_service"), "ship": ("met", "warranty_clerk"),
                        "t_study": ("met", "followup_clerk")}


def test_late_and_interrupted(timed):
    instance_id = _start()
    timed.clock.advance(hours=3)
    support.worker()  # the study timer (2 h, interrupting) fires and takes the task away
    assert _outcomes(instance_id)["t_study"][0] == "missed"
    assert _outcomes(instance_id)["answer"][0] == "open"
    timed.clock.advance(hours=2)  # 5 h: the answer is overdue (its timer fires when checked)
    assert _outcomes(instance_id)["answer"][0] == "overdue"
    support.worker()
    _complete(instance_id, "answer")
    timed.clock.advance(hours=2)  # 7 h: shipped after the watch's 6 h
    _complete(instance_id, "ship")
    support.worker()
    outcomes = _outcomes(instance_id)
    assert {k: v[0] for k, v in outcomes.items()} == {"answer": "missed", "ship": "missed", "t_study": "missed"}


def test_outcomes_at_each_step_and_on_the_pages(timed):
    instance_id = _start()
    timed.clock.advance(hours=1)
    _complete(instance_id, "answer")
    timed.clock.advance(hours=4)
    support.worker()  # 5 h: the study timer fires (missed); the answer was in time
    result = walk(instance_id)
    first = result.steps[0]
    at_start = deadlines.case_outcomes(result, moment=clock.from_iso(first.at), upto_seq=first.seq)
    assert {o.code: o.status for o in at_start} == {"answer": "open", "ship": "open", "t_study": "open"}
    due = {o.code: o.due for o in at_start}
    assert due["t_study"] == clock.from_iso(first.at) + timedelta(hours=2)
    assert due["answer"] == clock.from_iso(first.at) + timedelta(hours=4)
    db.session.rollback()
    auditor = timed.web("auditor")
    page = text_of(auditor.get(f"/audit/cases/{instance_id}?step=2"))
    assert re.search(r'data-deadline="answer" data-status="met"', page)
    assert re.search(r'data-deadline="t_study" data-status="open"', page)
    assert "两小时内研究" in page  # the diagram's own name for a timer without an entry
    audit = text_of(auditor.get("/audit/deadlines?process=audit_deadlines&from=2026-03-01&to=2026-03-31"))
    assert re.search(r'data-deadline="t_study" data-status="missed"', audit)
    assert re.search(r'data-deadline="ship" data-status="open"', audit)


def test_cancelled_case_voids_what_was_not_due(timed):
    instance_id = _start()
    timed.clock.advance(hours=1)
    runtime.cancel_instance(instance_id, actor="manager", reason="客户撤回")
    outcomes = _outcomes(instance_id, ended=True)
    assert {k: v[0] for k, v in outcomes.items()} == {"answer": "void", "ship": "void", "t_study": "void"}


# ---------------------------------------------------------------- the registry and the diagrams


def _diagram(key: str):
    path = PROCESSES / f"{key}.bpmn"
    return etree.parse(str(path)) if path.exists() else None


def test_registry_names_what_the_diagrams_have():
    keys = {entry.process for entry in deadlines.REGISTRY}
    for entry in deadlines.REGISTRY:
        tree = _diagram(entry.process)
        if tree is None:
            continue
        ids = {e.get("id"): e for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
        for name in (entry.timer, entry.end, *entry.covers):
            assert name is None or name in ids, (entry.process, entry.code, name)
        if entry.timer:
            assert ids[entry.timer].find(f"{BPMN}timerEventDefinition") is not None, (entry.process, entry.timer)
        assert (entry.within is None) != (entry.timer is None), entry.code  # one kind or the other
        assert entry.timer is None or ids[entry.timer].tag == f"{BPMN}boundaryEvent" or entry.end, entry.code
    # every boundary timer of every procedure has an entry (or is stood for by one)
    for path in sorted(PROCESSES.glob("*.bpmn")):
        tree = etree.parse(str(path))
        key = tree.find(f"{BPMN}process").get("id")
        named = {e.timer for e in deadlines.REGISTRY if e.process == key} | {t for e in deadlines.REGISTRY if e.process == key
                                                                            for t in e.covers}
        for boundary in tree.iter(f"{BPMN}boundaryEvent"):
            if boundary.find(f"{BPMN}timerEventDefinition") is not None:
                assert boundary.get("id") in named, (key, boundary.get("id"))
        if list(tree.iter(f"{BPMN}timerEventDefinition")):
            assert key in keys, key


def test_every_deployed_procedure_has_its_deadlines(world):
    """All of processes/ deployed: each procedure's deadlines are the registry's entries, no
    boundary timer is left to its diagram name, and each entry's role is a known role."""
    from webapp.accounts import ROLES
    from webapp.engine import definitions as engine_definitions
    from workers import registry

    results = engine_definitions.deploy_directory(PROCESSES, actor="test", now=clock.now(), known_operators=registry.names())
    db.session.commit()
    roles = {code for code, _zh, _en in ROLES}
    for definition, _created in results:
        entries = deadlines.deadlines_for(definition.id)
        assert [e for e in entries if e.from_diagram] == [], definition.key
        assert {e.code for e in entries} == {e.code for e in deadlines.REGISTRY if e.process == definition.key}
        meta = engine_definitions.info(definition.id).meta
        for entry in entries:
            assert deadlines._role(entry, meta) in roles, (definition.key, entry.code)
