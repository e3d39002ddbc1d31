"""Issue 12: diagram code runs in sandbox processes the operating system can stop. A
runaway script, a huge allocation or an endless loop ends as a clear error naming the
element (a start answers 400) or, after a timer, as an incident on that instance only;
other instances' timers fire and every case still replays."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.sandbox_diagrams import deploy, start_script, timer_then_script, xor_loop
from webapp.engine import restricted, sandbox_pool
from webapp.extensions import db
from webapp.models import Instance


@pytest.fixture
def small_limits():
    """Half a second and 256 MB, so runaway code is stopped quickly in tests."""
    previous = sandbox_pool.limits()
    sandbox_pool.configure(sandbox_pool.Limits(seconds=0.5, memory_mb=256, max_output_bytes=200_000))
    yield sandbox_pool.limits()
    sandbox_pool.configure(previous)


def _start(client, key: str, data: dict | None = None):
    return client.post("/api/process-instances", {"process_key": key, "data": data or {}})


SCRIPTS = [
    {"a": 1, "b": [1, 2], "c": {"x": 1}},
    {"c": {}, "b": 2, "a": 1, "z": "stays"},
]
CODES = [
    "d = a + 1\ndel b",
    "c['y'] = [i * 2 for i in range(3)]\nz = sorted(set(['b', 'a']))",
    "def f(v):\n    return v + 1\nb = f(1)\nnew = {'k': None, 'f': 1.5}",
    "x = 'é' * 3\ndel a",
]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("data", SCRIPTS)
def test_a_script_leaves_the_same_task_data_as_in_process(code, data):
    """What comes back from the sandbox process is exactly what running the script here
    would leave: new variables, changed and deleted ones, in the same order."""
    from webapp.engine.sandbox import RestrictedEnvironment

    here = {k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in data.items()}
    restricted.execute(code, here)
    there = {k: (v.copy() if isinstance(v, (dict, list)) else v) for k, v in data.items()}
    RestrictedEnvironment().execute(code, there)
    assert there == here
    assert list(there) == list(here)


RUNAWAY = [
    ("while True: pass", "limit"),
    ("x = sum(range(10**13))", "limit"),
    ('x = "a" * 10**10', "memory"),
    ("x = [0] * 10**9", "memory"),
    ("def f(n):\n    return f(n + 1)\nx = f(0)", "recursion"),
    ('x = "a" * 10**8', ""),
]


@pytest.mark.parametrize(("code", "says"), RUNAWAY)
def test_a_runaway_start_script_is_a_400_naming_the_element(users, small_limits, code, says):
    assert deploy(users["owner"], start_script("runaway", code), "runaway.bpmn").status_code == 201
    started = time.monotonic()
    r = _start(users["agent"], "runaway")
    elapsed = time.monotonic() - started
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert "bad_script" in body["errors"], body
    assert says in body["error"].lower()
    assert elapsed < small_limits.seconds + 5  # stopped, not run to the end
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Instance.id))) == 0
    # the pool goes on: the next script runs in a fresh process
    assert deploy(users["owner"], start_script("fine", "x = 1"), "fine.bpmn").status_code == 201
    assert _start(users["agent"], "fine").status_code == 201


def test_output_over_the_cap_is_refused_with_its_size(users, small_limits):
    assert deploy(users["owner"], start_script("big", 'x = "a" * 300000'), "big.bpmn").status_code == 201
    r = _start(users["agent"], "big")
    assert r.status_code == 400
    assert "more than the limit of 200000" in r.get_json()["errors"]["bad_script"]


@pytest.mark.parametrize("code", ["while True: pass", "x = sum(range(10**13))"])
def test_a_runaway_timer_is_an_incident_and_other_timers_fire_on_time(app, users, small_limits, manual_clock, run_worker, code):
    owner, agent, manager = users["owner"], users["agent"], users["manager"]
    assert deploy(owner, timer_then_script("bad_timer", code), "bad_timer.bpmn").status_code == 201
    assert deploy(owner, timer_then_script("good_timer", "done = True"), "good_timer.bpmn").status_code == 201
    bad = _start(agent, "bad_timer").get_json()["id"]
    good = _start(agent, "good_timer").get_json()["id"]
    manual_clock.advance(seconds=2)
    run_worker()

    assert manager.get(f"/api/process-instances/{good}").get_json()["status"] == "completed"
    incidents = manager.get("/api/jobs?status=incident").get_json()
    assert [(i["instance_id"], i["bpmn_id"]) for i in incidents] == [(bad, "after_timer")]
    assert "limit of 0.5 s" in incidents[0]["last_error"]
    case = manager.get(f"/api/process-instances/{bad}").get_json()
    assert case["status"] == "running"
    assert [i["bpmn_id"] for i in case["incidents"]] == ["after_timer"]
    history = manager.get(f"/api/process-instances/{bad}/history").get_json()
    assert [e["type"] for e in history] == ["instance_started", "incident_raised"]
    assert history[-1]["bpmn_id"] == "after_timer"
    from tests.test_ui_support import signed_in, text_of

    page = text_of(signed_in(app, "manager").get("/incidents"))
    assert "定时后脚本" in page and "limit of 0.5 s" in page  # the element's name and the reason
    assert f"/jobs/{incidents[0]['id']}/skip" not in page  # a failed timer has no value to enter

    # no retry loop: the bad timer is parked until a manager retries it
    manual_clock.advance(minutes=5)
    assert run_worker() == 0
    r = manager.post(f"/api/jobs/{incidents[0]['id']}/retry")
    assert r.status_code == 200
    run_worker()
    again = manager.get("/api/jobs?status=incident").get_json()
    assert [i["id"] for i in again] == [incidents[0]["id"]]  # the same incident, raised again
    assert manager.post(f"/api/jobs/{incidents[0]['id']}/skip", {"result": {}}).status_code == 409


def test_an_endless_gateway_loop_is_an_incident_not_a_completed_case(users, manual_clock, run_worker):
    owner, agent, manager = users["owner"], users["agent"], users["manager"]
    assert deploy(owner, xor_loop("loop_after_timer"), "loop_after_timer.bpmn").status_code == 201
    iid = _start(agent, "loop_after_timer").get_json()["id"]
    manual_clock.advance(seconds=2)
    run_worker()
    case = manager.get(f"/api/process-instances/{iid}").get_json()
    assert case["status"] == "running"
    assert len(case["incidents"]) == 1
    assert "loop ran more than 1000 steps" in case["incidents"][0]["last_error"]


def test_an_endless_loop_at_start_is_a_400_naming_the_element(users):
    assert deploy(users["owner"], xor_loop("loop_at_start", after_timer=False), "loop.bpmn").status_code == 201
    r = _start(users["agent"], "loop_at_start")
    assert r.status_code == 400
    assert "loop ran more than 1000 steps" in r.get_json()["error"]
    assert r.get_json()["errors"]


@pytest.mark.parametrize(("code", "name"), [("x = id(1)", "id"), ("x = hash('a')", "hash")])
def test_non_deterministic_builtins_are_refused_at_deploy(users, code, name):
    r = deploy(users["owner"], start_script("nondet", code), "nondet.bpmn")
    assert r.status_code == 400
    assert name in r.get_json()["errors"]["bad_script"]


def test_the_pool_replaces_a_killed_process_and_a_forked_child_gets_its_own(app):
    pool = sandbox_pool.pool()
    first = pool.call("ping", "", {})["value"]
    os.kill(first, signal.SIGKILL)
    time.sleep(0.1)
    assert pool.call("ping", "", {})["value"] != first

    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        try:
            mine = sandbox_pool.pool()
            ok = mine is not pool and mine.call("exec", "y = x + 1", {"x": 1})["context"] == {"x": 1, "y": 2}
            os.write(writer, b"1" if ok else b"0")
        finally:
            sandbox_pool.shutdown()
            os._exit(0)
    os.close(writer)
    assert os.read(reader, 1) == b"1"
    os.close(reader)
    os.waitpid(child, 0)
    assert pool.call("eval", "x * 2", {"x": 21})["value"] == 42  # the parent's pool is untouched


def test_shutdown_leaves_no_sandbox_process(app):
    pool = sandbox_pool.pool()
    pool.call("ping", "", {})
    pids = pool.pids()
    assert pids
    sandbox_pool.shutdown()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_print_goes_to_the_instance_log_shown_on_the_case_page(app, users):
    from tests.test_ui_support import signed_in, text_of
    from webapp.models import ScriptOutput

    code = "total = 6 * 7\nprint('total is', total)\ndef note():\n    print('from a function')\nnote()"
    assert deploy(users["owner"], start_script("printer", code), "printer.bpmn").status_code == 201
    r = _start(users["agent"], "printer")
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    rows = db.session.scalars(db.select(ScriptOutput).where(ScriptOutput.instance_id == iid)).all()
    assert [(row.bpmn_id, row.seq, row.text) for row in rows] == [("bad_script", 1, "total is 42\nfrom a function\n")]
    case = users["manager"].get(f"/api/process-instances/{iid}").get_json()
    assert case["data"]["total"] == 42
    page = text_of(signed_in(app, "manager").get(f"/cases/{iid}"))
    assert "total is 42" in page and "from a function" in page


def test_a_memory_address_in_the_data_is_refused_at_run_time(users):
    """repr() of a function names its address, which differs in every process: such data
    could not be replayed, so the script fails naming its element instead."""
    code = "def f():\n    return 1\nx = repr(f)"
    assert deploy(users["owner"], start_script("address", code), "address.bpmn").status_code == 201
    r = _start(users["agent"], "address")
    assert r.status_code == 400
    assert "memory address" in r.get_json()["errors"]["bad_script"]
