"""Issue 17, audit: replay and verify copy a case's starting workflow from one kept per
version and shared spec (engine/start_trees.py) instead of building it again; what verify
proves does not change. The suite runs with start_trees.CHECK: every copy is compared with
the workflow built the old way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.conftest import FIXTURES, deploy_files
from tests.forgery import rechain
from tests.long_cases import run_loop
from webapp.audit import bulk_verify
from webapp.engine import clock, definitions, replay
from webapp.engine.serialization import canonical_json
from webapp.extensions import db
from webapp.models import HistoryEvent, Instance


@pytest.fixture
def cases(users):
    assert deploy_files(users["owner"], [FIXTURES / "audit_long.bpmn"]).status_code == 201
    return run_loop(2), run_loop(3), run_loop(1)


def _forget_trees() -> None:
    """What a second process starts with: no spec, no start tree kept."""
    replay._shared.__dict__.clear()
    definitions._spec_cache.clear()


def _tree_of(instance_id: int):
    instance = db.session.get(Instance, instance_id)
    definition = definitions.info(instance.definition_id)
    return replay._start_tree(definition, replay._shared_specs(definition))


def test_each_case_gets_its_own_copy_of_the_versions_start_tree(cases):
    _forget_trees()
    first, second, _third = (replay.replay(i) for i in cases)
    db.session.rollback()
    tree = _tree_of(cases[0])
    assert tree is not None and tree is _tree_of(cases[1])  # kept, and one per version
    a, b = first.workflow, second.workflow
    assert a.spec is b.spec is tree.spec
    assert not set(map(id, a.tasks.values())) & set(map(id, b.tasks.values()))
    assert not set(a.tasks) & set(b.tasks)  # each case's own task ids
    for mine, other in ((a.data, b.data), (a.event_manager.tasks, b.event_manager.tasks),
                        (a.bpmn_events, b.bpmn_events), (a.correlations, b.correlations)):
        assert mine is not other
    for instance_id in cases:
        events = db.session.scalar(db.select(db.func.count()).where(HistoryEvent.instance_id == instance_id))
        assert replay.verify(instance_id) == {"verified": True, "events": events}
        db.session.rollback()


def _forge(instance_id: int, edit) -> int:
    """Edit one event of the case and hash the chain again; the edited event's seq."""
    events = db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                .order_by(HistoryEvent.seq)).all()
    target = edit(events)
    prev = rechain(events)
    db.session.execute(text("UPDATE instances SET last_hash = :h WHERE id = :i"), {"h": prev, "i": instance_id})
    db.session.commit()
    return target.seq


@pytest.mark.tampers
def test_a_forged_start_time_in_the_second_case_of_a_bulk_run_is_named(app, cases):
    """The copy takes its time from the case's own first event: a start moved and rehashed
    is named even though the first case of the run left a tree behind."""
    first, second, third = cases

    def move_start(events):
        events[0].at = clock.to_iso(clock.from_iso(events[0].at) + timedelta(seconds=1))
        return events[0]

    seq = _forge(second, move_start)
    _forget_trees()
    result = bulk_verify.verify_ids(app, [first, second, third], 1)
    assert [instance_id for instance_id, _ in result.failures] == [second]
    failure = result.failures[0][1]
    assert failure["verified"] is False and failure["first_bad_seq"] == seq, failure


@pytest.mark.tampers
def test_a_forged_payload_in_the_second_case_after_a_copied_tree_is_named(app, cases):
    first, second, third = cases

    def edit_round(events):
        target = next(e for e in events if e.type == "task_completed")
        payload = json.loads(target.payload)
        payload["data"]["round"] = 7
        target.payload = canonical_json(payload)
        return target

    seq = _forge(second, edit_round)
    _forget_trees()
    assert replay.verify(first)["verified"]  # the tree is kept now
    db.session.rollback()
    result = replay.verify(second)
    assert result["verified"] is False and result["first_bad_seq"] == seq, result
    db.session.rollback()
    assert replay.verify(third)["verified"]
    db.session.rollback()
    _forget_trees()  # a second process finds the same
    assert replay.verify(second) == result


def test_a_new_version_gets_its_own_tree(users, cases, tmp_path):
    old = _tree_of(cases[0])
    changed = tmp_path / "audit_long.bpmn"
    changed.write_text((FIXTURES / "audit_long.bpmn").read_text().replace('name="', 'name="v2 ', 1))
    assert deploy_files(users["owner"], [changed]).status_code == 201
    new_id = run_loop(1)
    db.session.rollback()
    assert db.session.get(Instance, new_id).definition_id != db.session.get(Instance, cases[0]).definition_id
    new = _tree_of(new_id)
    assert new is not None and new is not old and new.spec is not old.spec
    assert replay.verify(new_id)["verified"]
    db.session.rollback()
