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
