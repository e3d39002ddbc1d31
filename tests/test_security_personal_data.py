"""Issue 11: a case's phone numbers, addresses and ID numbers in full only for the people of
its lanes, managers and auditors; masked (139****1111) for everyone else, on the case page
and in the API; a full view from outside the lanes is in the system log."""

from __future__ import annotations

import json

from tests.test_ui_support import WebClient, compiled_translations, open_task, signed_in, start_complaint, text_of  # noqa: F401
from webapp.extensions import db
from webapp.models import SystemLogEvent
from webapp.security.personal_data import mask, masked

PHONE = "13900001111"
EXTRA = {"customer_phone": PHONE, "customer_email": "li.lei@example.com"}


def _views() -> list[dict]:
    db.session.expire_all()
    return [{"actor": e.actor, **json.loads(e.payload)} for e in db.session.scalars(
        db.select(SystemLogEvent).where(SystemLogEvent.type == "personal_data_viewed").order_by(SystemLogEvent.seq))]


def test_masks():
    assert mask("13900001111") == "139****1111"
    assert mask("138 0000 0000") == "138****0000"
    assert mask("110101199003071234") == "110****1234"
    assert mask("苏州工业园区星湖街 88 号") == "苏州工业园区****"
    assert mask("li.lei@example.com") == "l***@example.com"
    data = {"customer_name": "李雷", "customer_phone": PHONE, "rows": [{"phone": "13511112222", "part": "门锁"}],
            "id_number": "110101199003071234", "address": "上海市浦东新区"}
    assert masked(data) == {"customer_name": "李雷", "customer_phone": "139****1111",
                            "rows": [{"phone": "135****2222", "part": "门锁"}], "id_number": "110****1234",
                            "address": "上海市浦东新****"}


def test_case_page_full_for_the_lanes_and_overseers_masked_for_others(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker, EXTRA)
    for who in ("handler", "agent"):  # lanes of complaint handling: no log entry
        page = text_of(signed_in(app, who).get(f"/cases/{instance.id}"))
        assert PHONE in page and "li.lei@example.com" in page and 'id="pii-masked"' not in page, who
    assert _views() == []
    for who in ("tech", "owner"):  # no role of the case's lanes
        page = text_of(signed_in(app, who).get(f"/cases/{instance.id}"))
        assert PHONE not in page and "139****1111" in page and "l***@example.com" in page, who
        assert 'id="pii-masked"' in page
    assert _views() == []
    # the manager holds a lane of complaint handling (escalations); the auditor holds none: full, and logged
    for who in ("manager", "auditor"):
        page = text_of(signed_in(app, who).get(f"/cases/{instance.id}"))
        assert PHONE in page, who
    assert [(v["actor"], v["instance_id"], v["where"]) for v in _views()] == [("auditor", instance.id, "case page")]


def test_task_page_of_the_lane_shows_the_data_in_full(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker, EXTRA)
    task = open_task(instance.id, "verify_complaint")
    page = text_of(signed_in(app, "handler").get(f"/tasks/{task.id}"))
    assert PHONE in page
    assert _views() == []


def test_the_api_masks_for_outsiders_and_logs_overseers(app, users, deployed_complaints, run_worker):
    instance = start_complaint(run_worker, EXTRA)
    url = f"/api/process-instances/{instance.id}"
    assert users["handler"].get(url).get_json()["data"]["customer_phone"] == PHONE
    outsider = users["tech"].get(url).get_json()
    assert outsider["data"]["customer_phone"] == "139****1111" and outsider["data"]["customer_name"] == "张伟"
    history = users["tech"].get(f"{url}/history").get_json()
    assert PHONE not in json.dumps(history, ensure_ascii=False)
    assert history[0]["payload"]["data"]["customer_phone"] == "139****1111"
    replayed = users["tech"].get(f"{url}/replay").get_json()
    assert PHONE not in json.dumps(replayed, ensure_ascii=False)
    assert users["handler"].get(f"{url}/history").get_json()[0]["payload"]["data"]["customer_phone"] == PHONE
    assert _views() == []
    assert users["auditor"].get(url).get_json()["data"]["customer_phone"] == PHONE
    assert [(v["actor"], v["where"]) for v in _views()] == [("auditor", "API instance")]
