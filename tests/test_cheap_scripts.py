"""Scripts proven cheap by their syntax and numeric inputs run in this process
(engine/cheap_scripts.py); their answer is the one a sandbox process gives, and everything
else, errors included, still goes to a sandbox process."""

from __future__ import annotations

import json
import math

import pytest

from tests.sandbox_diagrams import deploy, start_script
from webapp.engine import cheap_scripts, sandbox_pool
from webapp.engine.sandbox import RestrictedEnvironment

CHEAP = [
    "total = amount * 2",
    "total = amount * 2 + fee - 1\nbig = total > 100 and kind == 'gold'",
    "x = -a * 1.5\ny = [a, 'text', None]\nz = (a, b)",
    "flag = not done",
    "ok = a in [1, 2, 3] or name == '张三'",
]
NOT_CHEAP = [
    "x = a ** 2",  # a power can be any size
    "k = 'x' * 3",  # a string in arithmetic
    "a = b * 2\nc = a * 2",  # arithmetic on what the script made
    "x = (a, 1) * 2",  # a collection in arithmetic
    "x = a * 10000000000000000000000",  # an int literal over 2**63
    "x = f(1)",
    "x = a[0]",
    "x = a.b",
    "x += 1",
    "a, b = 1, 2",
    "_x = 1",
    "x = _y",
    "for i in a:\n    x = i",
    "import os",
    "x = " + " + ".join(["a"] * (cheap_scripts.MAX_ARITHMETIC + 2)),
    "\n".join(f"x{i} = 1" for i in range(cheap_scripts.MAX_STATEMENTS + 1)),
    "x = (",
]


@pytest.mark.parametrize("code", CHEAP)
def test_a_few_assignments_of_names_literals_and_arithmetic_are_cheap(code):
    assert cheap_scripts.plan_of(code) is not None


@pytest.mark.parametrize("code", NOT_CHEAP)
def test_anything_that_could_run_long_or_allocate_much_is_not(code):
    assert cheap_scripts.plan_of(code) is None


DATA = [
    {"amount": 500, "fee": 2.5, "kind": "gold", "done": False, "a": 3, "b": [1, (2, 3)], "name": "张三"},
    {"amount": -7, "fee": 0, "kind": "x" * 50, "done": True, "a": 1e308, "b": {"k": [None, 1]}, "name": "é"},
    {"amount": True, "fee": 1e-9, "kind": None, "done": 0, "a": 2**62, "b": "s", "name": ""},
]


def _through_a_sandbox_process(code: str, data: dict) -> dict:
    answer = sandbox_pool.pool().call("exec", code, data, None)
    assert answer["ok"], answer
    return answer["context"]


@pytest.mark.parametrize("code", CHEAP)
@pytest.mark.parametrize("data", DATA)
def test_the_answer_here_is_the_sandbox_process_answer(app, code, data):
    here = cheap_scripts.run_here(code, dict(data), None, 1_000_000)
    assert here is not None
    there = _through_a_sandbox_process(code, dict(data))
    # the same variables with the same values in the same order (JSON text: NaN and infinity too)
    assert json.dumps(here, ensure_ascii=False) == json.dumps(there, ensure_ascii=False)


def test_a_float_overflow_to_infinity_is_kept_as_the_sandbox_keeps_it(app):
    here = cheap_scripts.run_here("x = a * 10.0", {"a": 1e308}, None, 1_000_000)
    assert here is not None and math.isinf(here["x"])
    assert json.dumps(here) == json.dumps(_through_a_sandbox_process("x = a * 10.0", {"a": 1e308}))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"amount": "ab"}, "a string times 2 is left to the sandbox process"),
        ({"amount": [1, 2]}, "a list times 2 is left to the sandbox process"),
        ({"amount": 2**63}, "an int over 2**63"),
        ({}, "a missing input: the sandbox process says NameError as it always did"),
    ],
)
def test_inputs_that_are_not_plain_numbers_go_to_a_sandbox_process(app, data, why):
    assert cheap_scripts.run_here("total = amount * 2", dict(data), None, 1_000_000) is None, why


class _CountingPool:
    def __init__(self, pool):
        self.pool, self.calls = pool, 0

    def call(self, *args, **kwargs):
        self.calls += 1
        return self.pool.call(*args, **kwargs)


@pytest.fixture
def counted_pool(app, monkeypatch):
    counting = _CountingPool(sandbox_pool.pool())
    monkeypatch.setattr(sandbox_pool, "pool", lambda: counting)
    return counting


def test_the_script_engine_answers_a_cheap_script_without_a_sandbox_process(counted_pool):
    data = {"amount": 500, "note": "留言"}
    RestrictedEnvironment().execute("total = amount * 2", data)
    assert data == {"amount": 500, "note": "留言", "total": 1000}
    assert counted_pool.calls == 0
    text = {"amount": "ab"}
    RestrictedEnvironment().execute("total = amount * 2", text)
    assert text == {"amount": "ab", "total": "abab"}
    assert counted_pool.calls == 1


def test_a_cheap_script_failing_fails_as_it_did_in_the_sandbox_process(counted_pool):
    with pytest.raises(NameError, match="name 'amount' is not defined"):
        RestrictedEnvironment().execute("fee = 1\ntotal = amount * 2", {})
    assert counted_pool.calls == 1
    with pytest.raises(TypeError):
        RestrictedEnvironment().execute("big = amount > limit", {"amount": 1, "limit": "x"})


def test_a_memory_address_in_the_data_is_still_refused(app, counted_pool):
    from webapp.engine.sandbox import SandboxViolation

    data = {"a": 1, "text": "<function f at 0x7f3a2b1c4d50>"}
    with pytest.raises(SandboxViolation, match="memory address"):
        RestrictedEnvironment().execute("x = a + 1", data)
    assert counted_pool.calls == 1


def test_a_case_with_a_cheap_script_runs_and_replays(users, counted_pool):
    """Through the API: the script task's result is in the case's data, no sandbox process
    was asked, and the case replays to its snapshot (the suite's teardown checks every case)."""
    assert deploy(users["owner"], start_script("cheap", "total = amount * 2 + 1"), "cheap.bpmn").status_code == 201
    r = users["agent"].post("/api/process-instances", {"process_key": "cheap", "data": {"amount": 20}})
    assert r.status_code == 201, r.get_json()
    case = users["manager"].get(f"/api/process-instances/{r.get_json()['id']}").get_json()
    assert case["data"]["total"] == 41
    assert counted_pool.calls == 0
