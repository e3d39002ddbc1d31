"""Issue 14, acceptance 3: instances of the diagrams as they were before issue 14 keep running
and verifying on their version after the new one is deployed; a running case moves to the
new version where that is safe (a follow-up still building the customer file), and is refused
with the reason where it is not (a complaint whose registration step changed).

The old versions are kept in tests/fixtures/issue14_v1 (the diagrams and forms of main before
issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.complaint_driver import REGISTER, ComplaintDriver
from tests.conftest import FIXTURES, deploy_files, process_files
from tests.procedures.test_customer_followup import CALL, FILE, Followups
from webapp.extensions import db
from webapp.models import ComplaintCase, Definition, FollowUp, FollowUpCall

OLD = FIXTURES / "issue14_v1"


def old_files(key: str) -> list:
    text = (OLD / f"{key}.bpmn").read_text(encoding="utf-8")
    forms = [p for p in sorted(OLD.glob("*.json")) if f'"{p.name}"' in text]
    return [OLD / f"{key}.bpmn", *forms]


def version_id(key: str, version: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(Definition.id).where(Definition.key == key, Definition.version == version))


@pytest.fixture
def clients(users, make_client):
    return {**users, "clerk": make_client("v-clerk", ["followup_clerk"])}


def test_old_followups_keep_running_and_one_building_its_file_moves_to_the_new_version(clients, run_worker,
                                                                                       manual_clock):
    assert deploy_files(clients["owner"], old_files("customer_followup")).status_code == 201
    fu = Followups(clients, run_worker)
    staying, staying_no = fu.start(customer_name="周杰", customer_phone="137 0000 1111", kind="after_repair")
    moving, moving_no = fu.start(customer_name="吴敏", customer_phone="137 0000 2222", kind="after_repair")
    fu.complete(staying, "build_file", "clerk", FILE)
    new = deploy_files(clients["owner"], process_files("customer_followup"))
    assert new.status_code == 201 and new.get_json()["version"] == 2

    # the old one calls with the old form (reached yes/no) and finishes on version 1
    fu.complete(staying, "make_call", "clerk", {**{k: v for k, v in CALL.items() if k != "call_outcome"}, "reached": True})
    assert fu.status(staying) == "completed" and fu.record(staying_no).status == "done"
    fu.verified(staying)

    # the one still building the customer file moves: its deadlines keep their due times
    target = version_id("customer_followup", 2)
    response = clients["owner"].post(f"/processes/api/instances/{moving}/migrate", {"target": target})
    assert response.status_code == 200 and response.get_json()["migrated"] is True, response.get_json()
    fu.complete(moving, "build_file", "clerk", FILE)
    fu.complete(moving, "make_call", "clerk", {"call_outcome": "no_answer", "channel": "phone"})  # the new outcomes
    row = fu.record(moving_no)
    assert (row.status, row.attempts) == ("retrying", 1)
    call = db.session.scalar(select(FollowUpCall).where(FollowUpCall.followup_id == row.id))
    assert call.outcome == "no_answer"
    fu.verified(moving)


def test_an_old_complaint_is_refused_the_move_with_the_reason_and_closes_the_old_way(clients, run_worker):
    assert deploy_files(clients["owner"], old_files("complaint_handling")).status_code == 201
    old = ComplaintDriver(clients, run_worker)
    old.start(REGISTER)
    assert deploy_files(clients["owner"], process_files("complaint_handling")).status_code == 201
    target = version_id("complaint_handling", 2)
    response = clients["owner"].post(f"/processes/api/instances/{old.instance_id}/migrate", {"target": target})
    assert response.status_code == 409 and "register_case" in response.get_json()["errors"]
    # version 1 closes even when the customer is not satisfied (the rule issue 14 corrected);
    # 问题解决率 does not count such a case as resolved
    old.verify()
    old.analyse(resolvable=True)
    old.propose()
    old.confirm(agrees=True)
    old.carry_out_and_close(satisfied=False, score=2)
    db.session.rollback()
    case = db.session.scalar(select(ComplaintCase).where(ComplaintCase.number == old.business_key))
    assert case.status == "closed" and case.satisfied is False
    assert old.verified()["verified"] is True
    # a new complaint on version 2 with the same answer goes back for a new solution
    new = ComplaintDriver(clients, run_worker)
    new.start(REGISTER)
    new.verify()
    new.analyse(resolvable=True)
    new.propose()
    new.confirm(agrees=True)
    new.carry_out_and_close(satisfied=False, score=2)
    assert "propose_solution" in new.open_tasks()
    assert new.verified()["verified"] is True
    assert db.session.scalar(select(FollowUp.id).limit(1)) is None  # nothing else was started
