"""GET /api/tasks is read with one plain statement (webapp/api/task_list.py): its answer is the
same JSON, byte for byte, with the same paging headers, as the ORM query dumped through
`schemas.TaskOut` (the shape the OpenAPI document describes), for every filter and caller."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app, request
from sqlalchemy import event
from sqlalchemy.orm import joinedload

from tests.complaint_driver import ComplaintDriver
from webapp import params
from webapp.api import listing
from webapp.api.schemas import TaskOut, schema
from webapp.engine import clock, plain_sql
from webapp.extensions import db
from webapp.models import InboxTask


def _reference(path: str, username: str, roles: frozenset[str]):
    """The list as the view built it before: ORM objects and marshmallow (the oracle)."""
    with current_app.test_request_context(path):
        query = db.select(InboxTask).options(joinedload(InboxTask.instance)).where(InboxTask.state == "open")
        if (instance_id := params.int_arg("instance_id")) is not None:
            query = query.where(InboxTask.instance_id == instance_id)
        if request.args.get("mine", "").lower() in ("1", "true", "yes"):
            query = query.where(InboxTask.assignee == username)
        elif "admin" not in roles:
            mine_or_free = db.or_(InboxTask.assignee.is_(None), InboxTask.assignee == username)
            query = query.where(db.or_(InboxTask.assignee == username,
                                       db.and_(InboxTask.role.in_(roles), mine_or_free)))
        query = query.order_by(InboxTask.due_at.asc().nulls_last(), InboxTask.created_at, InboxTask.id)
        page = listing.page(query, default=None, maximum=5000)
        response = page.response(schema(TaskOut, many=True).dump(page.items))
        return response.get_data(), {k: response.headers.get(k) for k in ("X-Total-Count", "X-Limit", "X-Offset", "Link")}


def test_the_task_list_answers_what_taskout_dumps(users, deployed_complaints, run_worker):
    cases = []
    for _ in range(4):
        driver = ComplaintDriver(users, run_worker)
        driver.start()
        cases.append(driver)
    cases[0].verify()  # one case a step further: another task, another lane
    # tasks that differ in what the list shows: due dates (and ties), metadata, prefill, an assignee
    open_rows = db.session.scalars(db.select(InboxTask).where(InboxTask.state == "open").order_by(InboxTask.id)).all()
    assert len(open_rows) >= 4
    now = clock.now()
    open_rows[0].due_at = now + timedelta(days=2)
    open_rows[1].due_at = now + timedelta(days=1)
    open_rows[2].due_at = now + timedelta(days=1)
    open_rows[1].task_metadata = {"优先级": "高", "n": 3}
    open_rows[2].prefill = {"customer_name": "王芳", "amount": 12.5}
    open_rows[3].assignee = "handler"
    db.session.commit()

    paths = ["/api/tasks", "/api/tasks?mine=1", f"/api/tasks?instance_id={cases[0].instance_id}",
             f"/api/tasks?instance_id={cases[1].instance_id}&mine=true", "/api/tasks?limit=1", "/api/tasks?limit=2&offset=1",
             "/api/tasks?offset=1", "/api/tasks?offset=100", "/api/tasks?limit=100&offset=100", "/api/tasks?instance_id=999999"]
    roles = {"admin": frozenset({"admin"}), "handler": frozenset({"complaint_handler"}),
             "agent": frozenset({"customer_service"}), "manager": frozenset({"after_sales_manager"}),
             "auditor": frozenset({"auditor"})}
    seen_nonempty = set()
    for username, codes in roles.items():
        for path in paths:
            answer = users[username].get(path)
            assert answer.status_code == 200, (username, path, answer.get_json())
            body, headers = _reference(path, username, codes)
            db.session.rollback()
            assert answer.get_data() == body, (username, path)
            assert {k: answer.headers.get(k) for k in headers} == headers, (username, path)
            if answer.get_json():
                seen_nonempty.add(username)
    assert {"admin", "handler"} <= seen_nonempty
    # the rows really differ in what they carry (the comparison above saw each kind)
    everything = users["admin"].get("/api/tasks").get_json()
    assert any(t["due_at"] for t in everything) and any(t["metadata"] for t in everything)
    assert any(t["data"] for t in everything) and any(t["assignee"] == "handler" for t in everything)
    assert any(t["form"]["schema"] for t in everything)


def test_a_bad_paging_parameter_is_a_400_naming_it(users):
    answer = users["admin"].get("/api/tasks?limit=0")
    assert answer.status_code == 400 and "limit" in answer.get_json()["errors"]
    answer = users["admin"].get("/api/tasks?instance_id=abc")
    assert answer.status_code == 400 and "instance_id" in answer.get_json()["errors"]


def test_a_list_on_postgresql_hands_its_connection_back_in_transactions(users, monkeypatch):
    """PostgreSQL's lists read in autocommit (reads_only): the connection must go back to the
    pool in transaction mode, or the next command on it would commit statement by statement."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL's lists read in autocommit")
    during, returned = [], []

    def _checkin(dbapi_connection, record):
        returned.append(dbapi_connection.autocommit)

    execute = plain_sql.execute

    def _execute(session, *args, **kwargs):  # the token check and the list run on the driver
        during.append(session.connection().connection.driver_connection.autocommit)
        return execute(session, *args, **kwargs)

    monkeypatch.setattr(plain_sql, "execute", _execute)
    db.session.remove()
    event.listen(db.engine, "checkin", _checkin)
    try:
        assert users["admin"].get("/api/tasks").status_code == 200
        db.session.remove()
    finally:
        event.remove(db.engine, "checkin", _checkin)
    assert during and all(during)  # the list itself: no BEGIN, no ROLLBACK
    assert returned and not any(returned)
