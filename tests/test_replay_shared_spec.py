"""Issue 17, audit: replay and verify run the cases of a version on one spec per thread where
running a case cannot change the spec (engine/replay.py, _shareable); what they prove does
not change. The suite's teardown verifies every instance with CHECK_SHARED_SPECS on."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.conftest import FIXTURES, deploy_files
from tests.forgery import rechain
from tests.long_cases import run_loop
from webapp.engine import replay
from webapp.engine.serialization import canonical_json
from webapp.extensions import db
from webapp.models import HistoryEvent


@pytest.fixture
def two_cases(users):
    assert deploy_files(users["owner"], [FIXTURES / "audit_long.bpmn"]).status_code == 201
    return run_loop(2), run_loop(3)


def test_cases_of_one_version_replay_on_one_spec_and_verify(two_cases):
    first, second = (replay.replay(i) for i in two_cases)
    db.session.rollback()
    assert first.workflow.spec is second.workflow.spec
    for instance_id in two_cases:
        events = db.session.scalar(db.select(db.func.count()).where(HistoryEvent.instance_id == instance_id))
        assert replay.verify(instance_id) == {"verified": True, "events": events}
        db.session.rollback()


@pytest.mark.tampers
def test_a_rehashed_forgery_is_named_on_a_shared_spec(two_cases):
    """A payload edited and every hash recomputed: the replay on the shared spec disagrees, and
    so does the one on a copy of its own that confirms it."""
    first, second = two_cases
    assert replay.verify(first)["verified"]  # the version's spec is now shared on this thread
    events = db.session.scalars(db.select(HistoryEvent).where(HistoryEvent.instance_id == second)
                                .order_by(HistoryEvent.seq)).all()
    target = next(e for e in events if e.type == "task_completed")
    payload = json.loads(target.payload)
    payload["data"]["round"] = 7
    target.payload = canonical_json(payload)
    prev = rechain(events)
    db.session.execute(text("UPDATE instances SET last_hash = :h WHERE id = :i"), {"h": prev, "i": second})
    db.session.commit()
    result = replay.verify(second)
    assert result["verified"] is False and result["first_bad_seq"] == target.seq, result
    db.session.rollback()
    assert replay.verify(first)["verified"]  # the shared spec is still the version's
