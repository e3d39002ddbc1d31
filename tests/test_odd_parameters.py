"""Issue 11: every API and page parameter is validated. A walk over every route of the
application with odd values (numbers out of range, negative limits, dates outside
0001-9999 or the wrong way round, NUL characters, very long text, JSON nested too deep)
answers 4xx, never 5xx; and the specific answers the issue names."""

from __future__ import annotations

import json

import pytest

from tests.complaint_driver import REGISTER
from tests.test_ui_support import _fresh_g, signed_in
from webapp.extensions import db
from webapp.models import InboxTask

HUGE = "99999999999999999999"
ODD_QUERIES = [
    "&".join(f"{n}={HUGE}" for n in ("page", "limit", "offset", "instance_id", "upto", "step", "definition", "version",
                                     "a", "b", "to", "from", "month")),
    "&".join(f"{n}=-1" for n in ("page", "limit", "offset", "instance_id", "upto", "step", "definition", "version", "a", "b")),
    "from=0001-01-01&to=9999-12-31&month=9999-12",
    "from=9999-12-31&month=0000-01",
    "from=2026-03-10&to=2026-03-01&month=2026-13",
    "&".join(f"{n}=%00" for n in ("q", "status", "process", "type", "actor", "scope", "show", "team", "grain", "outcome",
                                  "business_key", "process_key", "next", "page", "limit", "month", "from", "to")),
    "q=" + "x" * 3000 + "&actor=" + "y" * 3000 + "&business_key=" + "z" * 3000,
]


def deep(levels: int):
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.fixture
def world(app, users, deployed_complaints, run_worker):
    r = users["agent"].post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER})
    assert r.status_code == 201, r.get_json()
    run_worker()
    task = db.session.scalar(db.select(InboxTask).where(InboxTask.state == "open"))
    return {"instance_id": r.get_json()["id"], "task_id": task.id}


def _paths(rule, world) -> list[str]:
    """The rule with real values and with odd ones for its parameters."""
    real = {"instance_id": world["instance_id"], "definition_id": 1, "user_id": 1, "job_id": 1, "seq": 1, "version": 1,
            "task_id": world["task_id"], "key": "complaint_handling", "code": "reply_24h_rate", "name": "x.json",
            "filename": "x.js"}
    if not rule.arguments:
        return [rule.rule]
    variants = [dict(real), {k: (HUGE if rule._converters[k].__class__.__name__ != "UnicodeConverter" else "n%00pe")
                             for k in rule.arguments}]
    paths = []
    for values in variants:
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", str(values.get(name, "x")))
            for conv in ("int:", "path:"):
                path = path.replace(f"<{conv}{name}>", str(values.get(name, "x")))
        paths.append(path)
    return paths


def test_every_route_answers_odd_parameters_without_a_server_error(app, users, world):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error becomes a 500 answer, so all are listed
    web = signed_in(app, "admin")
    api = users["admin"]
    failures = []
    rules = [r for r in app.url_map.iter_rules() if not r.endpoint.endswith("static") and r.rule not in ("/logout",)]
    for rule in rules:
        for n, path in enumerate(_paths(rule, world)):
            queries = ["", *ODD_QUERIES] if n == 0 else [""]  # odd path values: 404 before any query
            if rule.rule.endswith((".pdf", ".xlsx")):  # slow to build; they read only `month`
                queries = [q for q in queries if "month=" in q]
            for query in queries:
                url = f"{path}?{query}" if query else path
                if "GET" in rule.methods:
                    _fresh_g()
                    response = (api if path.startswith("/api/") else web.client).get(url)
                    if response.status_code >= 500:
                        failures.append(f"GET {url[:160]} -> {response.status_code}")
            if "POST" in rule.methods:
                bodies = [deep(300), deep(70), {"data": deep(100), "process_key": "complaint_handling"}, [1], "x\x00",
                          {"reason": "\x00", "username": "a\x00", "name": "m", "correlation": {"k": "\x00"}}]
                for body in bodies:
                    if path.startswith("/api/"):
                        response = api.post(path, body)
                    elif "/api/" in path:  # the modeler's JSON calls, with the page's session and CSRF token
                        _fresh_g()
                        response = web.client.post(path, data=json.dumps(body), content_type="application/json",
                                                   headers={"X-CSRFToken": web.token})
                    else:
                        response = web.post(path, {"reason": "\x00", "result": json.dumps(body), "to": HUGE,
                                                   "instance": HUGE, "comment": "=1+1", "username": "\x00"})
                    if response.status_code >= 500:
                        failures.append(f"POST {path} {str(body)[:40]} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def test_the_inputs_the_issue_names_answer_400_with_the_field(app, users, world):
    api = users["admin"]
    huge = api.get(f"/api/tasks?instance_id={HUGE}")
    assert huge.status_code == 400 and "instance_id" in huge.get_json()["errors"]
    assert api.get(f"/api/process-instances/{HUGE}").status_code == 404  # an id no table can hold: no such case
    dates = api.get("/api/kpis?from=2026-03-01&to=9999-12-31")
    assert dates.status_code == 400 and "to" in dates.get_json()["errors"]
    backwards = api.get("/api/kpis?from=2026-03-10&to=2026-03-01")
    assert backwards.status_code == 400 and backwards.get_json()["errors"] == {"to": "is before from"}
    nested = api.post("/api/process-instances", {"process_key": "complaint_handling", "data": deep(260)})
    assert nested.status_code == 400 and "nested deeper than 64" in nested.get_json()["errors"]["body"]
    very_deep = api.client.post("/api/process-instances", data="[" * 100_000 + "]" * 100_000,
                                content_type="application/json", headers=api._headers())
    assert very_deep.status_code == 400 and "body" in very_deep.get_json()["errors"]
    nul = api.get("/api/process-instances?business_key=a%00b")
    assert nul.status_code == 400 and nul.get_json()["errors"] == {"business_key": "contains a NUL character"}

    web = signed_in(app, "auditor")
    assert web.get(f"/audit/?page={HUGE}").status_code == 200  # a page number beyond the list: its last page (webapp/paging)
    log = web.get("/audit/system-log?from=2026-03-01&to=9999-12-31")
    assert log.status_code == 400 and "to" in log.get_data(as_text=True)


def test_limit_is_clamped_to_the_maximum_page(app, users, world, monkeypatch):
    api = users["admin"]
    for _ in range(3):
        assert api.post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER}).status_code == 201
    negative = api.get("/api/process-instances?limit=-1")
    assert negative.status_code == 400 and "limit" in negative.get_json()["errors"]
    assert len(api.get("/api/process-instances?limit=2").get_json()) == 2
    assert len(api.get(f"/api/process-instances?limit={HUGE}").get_json()) == 4  # clamped to 1000, not an error
    from webapp.api import views

    monkeypatch.setattr(views, "MAX_INSTANCES_PAGE", 3)
    assert len(api.get(f"/api/process-instances?limit={HUGE}").get_json()) == 3
