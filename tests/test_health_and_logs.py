"""Health and readiness endpoints; structured JSON log lines with instance and task ids."""

from __future__ import annotations

import json
import logging

from sqlalchemy import text

from webapp.extensions import db
from webapp.logging_setup import JsonLineFormatter


def test_healthz_and_readyz(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    db.session.execute(text("UPDATE alembic_version SET version_num = 'c7audit01'"))
    db.session.commit()
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.get_json()["status"] == "migrations pending"
    db.session.execute(text("DROP TABLE alembic_version"))
    db.session.commit()
    assert client.get("/readyz").status_code == 503


def test_log_lines_are_json_with_ids(users, deployed_complaints, run_worker, caplog):
    from tests.complaint_driver import ComplaintDriver

    with caplog.at_level(logging.DEBUG, logger="aftersales"):
        ComplaintDriver(users, run_worker).start()
    records = [r for r in caplog.records if r.name.startswith("aftersales")]
    lines = [json.loads(JsonLineFormatter().format(r)) for r in records]
    started = next(line for line in lines if line["message"] == "instance_started")
    assert started["instance"] >= 1 and started["seq"] == 1 and started["actor"] == "agent" and started["level"] == "debug"
    done = next(line for line in lines if line["message"] == "job done")
    assert done["operator"] == "complaint/register_case" and done["task"] and done["job"] >= 1
