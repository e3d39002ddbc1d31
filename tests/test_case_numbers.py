"""Issue 11: one request must not block the day's case numbers. Someone starts a complaint
with the business key the counter would hand out next; later automatic starts skip it."""

from __future__ import annotations

from tests.complaint_driver import REGISTER


def _start(client, business_key=None):
    body = {"process_key": "complaint_handling", "data": REGISTER}
    if business_key is not None:
        body["business_key"] = business_key
    return client.post("/api/process-instances", body)


def test_a_squatted_number_is_skipped(users, deployed_complaints):
    agent = users["agent"]
    squat = _start(agent, "TS-20260302-0001")  # the clock's day (China time): the next automatic number
    assert squat.status_code == 201, squat.get_json()
    answers = [_start(agent) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.get_json() for a in answers]
    assert [a.get_json()["business_key"] for a in answers] == ["TS-20260302-0002", "TS-20260302-0003", "TS-20260302-0004"]
    # a hand-chosen key that is taken is still refused, and blocks nothing after it
    again = _start(agent, "TS-20260302-0003")
    assert again.status_code == 409 and again.get_json()["errors"] == {"business_key": "already used"}
    assert _start(agent).get_json()["business_key"] == "TS-20260302-0005"


def test_several_squatted_numbers_in_a_row(users, deployed_complaints):
    agent = users["agent"]
    for n in (1, 2, 4):
        assert _start(agent, f"TS-20260302-{n:04d}").status_code == 201
    keys = [_start(agent).get_json()["business_key"] for _ in range(2)]
    assert keys == ["TS-20260302-0003", "TS-20260302-0005"]


def test_numbers_past_9999_keep_every_digit(app, users, deployed_complaints):
    from webapp.extensions import db
    from webapp.models import NumberSequence

    agent = users["agent"]
    assert _start(agent).get_json()["business_key"] == "TS-20260302-0001"
    db.session.get(NumberSequence, "TS-20260302").value = 9998
    db.session.commit()
    keys = [_start(agent).get_json()["business_key"] for _ in range(2)]
    assert keys == ["TS-20260302-9999", "TS-20260302-10000"]


def test_a_start_follows_a_version_deployed_by_another_process(app, users, deployed_complaints):
    """This process has started a case (PostgreSQL: it then guesses the latest version in the
    start's own statement); a version that another process deploys afterwards decides the
    next starts, whether the old version would have refused the start or allowed it."""
    from webapp.engine import definitions
    from webapp.extensions import db
    from webapp.models import Definition

    assert _start(users["agent"]).status_code == 201
    old = db.session.scalars(db.select(Definition).where(Definition.key == "complaint_handling")).one()
    meta = {**old.meta, "start_role": "technician"}  # the new version's start lane: another role
    files = {name: text + "<!-- v2 -->" if name.endswith(".bpmn") else text for name, text in old.files.items()}
    db.session.add(Definition(
        key=old.key, version=old.version + 1, name=old.name, files=files, forms=old.forms, meta=meta,
        content_hash=definitions.content_hash(files, old.forms, meta.get("lane_mapping")),
        meta_hash=definitions.meta_hash(meta), deployed_at=old.deployed_at, deployed_by="another process"))
    db.session.commit()
    refused = _start(users["agent"])  # the old version let customer service start it
    assert refused.status_code == 403 and refused.get_json()["errors"] == {"role": "technician"}
    started = _start(users["tech"])  # the old version refused a technician
    assert started.status_code == 201, started.get_json()
    case = users["tech"].get(f"/api/process-instances/{started.get_json()['id']}").get_json()
    assert case["definition"] == {"key": "complaint_handling", "version": old.version + 1}
