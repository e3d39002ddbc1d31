"""Scripts, data, subprocesses, call activities and decision tables."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    business_rule,
    call,
    definitions,
    dmn,
    el,
    end,
    ext,
    flows,
    loop,
    manual,
    mi,
    post_script,
    pre_script,
    process,
    script,
    spiff,
    start,
    subprocess,
    task,
    transaction,
    user,
)
from tests.conformance.harness import Case

T = "task"


def _one(name, construct, body, links, steps=(), data=None, extra_files=None, top_extra=""):
    files = {f"{name}.bpmn": definitions(process(name, *body, links), extra=top_extra)}
    files.update(extra_files or {})
    return Case(name, construct, files, name, list(steps), data or {})


def _data_objects():
    objects = el("dataObject", "stock") + el("dataObjectReference", "stock_ref", dataObjectRef="stock")
    writer = script("count", "stock = 5", el("dataOutputAssociation", "out_assoc", el("targetRef", inner="stock_ref")))
    placeholder = el("property", "use_prop", name="__targetRef_placeholder")
    reader = script("use", "left = stock - 1", placeholder + el(
        "dataInputAssociation", "in_assoc", el("sourceRef", inner="stock_ref") + el("targetRef", inner="use_prop")))
    return _one("data_objects", "data objects", [start(), objects, writer, reader, end()], flows("start", "count", "use", "end"))


def _io_spec():
    io = el("ioSpecification", inner=el("dataInput", "qty") + el("dataOutput", "price")
            + el("inputSet", inner=el("dataInputRefs", inner="qty")) + el("outputSet", inner=el("dataOutputRefs", inner="price")))
    return _one("io_spec", "data inputs and outputs", [start(), script("quote", "price = qty * 3", io), end()],
                flows("start", "quote", "end"), data={"qty": 4, "other": "kept"})


def _call_same_file():
    child = process("child_proc", start("c_start"), user("child_work"), script("c_calc", "doubled = n * 2"), end("c_end"),
                    flows("c_start", "child_work", "c_calc", "c_end"))
    parent = process("call_parent", start(), call("invoke", "child_proc"), user("after"), end(),
                     flows("start", "invoke", "after", "end"))
    return Case("call_parent", "call activity", {"call_parent.bpmn": definitions(parent, child)}, "call_parent",
                [(T, "child_work", {"n": 21}), (T, "after")], {"n": 1})


def _call_other_file():
    child = definitions(process("helper_proc", start("h_start"), script("h_calc", "total = a + b"), end("h_end"),
                                flows("h_start", "h_calc", "h_end")))
    parent = definitions(process("call_other", start(), call("invoke", "helper_proc"), user("after"), end(),
                                 flows("start", "invoke", "after", "end")))
    return Case("call_other", "call activity (another file)", {"call_other.bpmn": parent, "helper_proc.bpmn": child},
                "call_other", [(T, "after")], {"a": 2, "b": 3})


def _call_removes_key():
    child = process("drop_proc", start("d_start"), script("d_drop", "del secret\nseen = True"), end("d_end"),
                    flows("d_start", "d_drop", "d_end"))
    parent = process("call_drop", start(), call("invoke", "drop_proc"), user("after"), end(),
                     flows("start", "invoke", "after", "end"))
    return Case("call_drop", "call activity", {"call_drop.bpmn": definitions(parent, child)}, "call_drop",
                [(T, "after")], {"secret": "x", "kept": 1})


def _embedded():
    inner = start("s_in") + user("inside") + script("s_calc", "y = x + 1") + end("s_out")
    inner += flows("s_in", "inside", "s_calc", "s_out")
    return _one("embedded_sub", "embedded subprocess", [start(), subprocess("sub", inner), user("after"), end()],
                flows("start", "sub", "after", "end"), [(T, "inside", {"x": 1}), (T, "after")])


def _transaction():
    inner = start("t_in") + user("inside") + end("t_out") + flows("t_in", "inside", "t_out")
    return _one("transaction_sub", "transaction subprocess", [start(), transaction("tx", inner), end()],
                flows("start", "tx", "end"), [(T, "inside", {"paid": True})])


def _call_multi_instance():
    child = process("item_proc", start("i_start"), user("check_item"), end("i_end"), flows("i_start", "check_item", "i_end"))
    invoke = call("invoke", "item_proc", mi(sequential=False, input="parts", input_item="part", output="checked",
                                             output_item="ok"))
    parent = process("call_mi", start(), invoke, user("after"), end(), flows("start", "invoke", "after", "end"))
    return Case("call_mi", "multi-instance call activity", {"call_mi.bpmn": definitions(parent, child)}, "call_mi",
                [(T, "check_item", {"ok": True}), (T, "check_item", {"ok": False}), (T, "after")], {"parts": ["p1", "p2"]})


def _loop_in_subprocess():
    inner = start("s_in") + user("ask", loop("again", maximum=3)) + end("s_out") + flows("s_in", "ask", "s_out")
    return _one("loop_in_sub", "standard loop", [start(), subprocess("sub", inner), end()], flows("start", "sub", "end"),
                [(T, "ask", {"again": True}), (T, "ask", {"again": False})])


ROUTE = dmn("route_cf", ["amount"], "route", [([">= 1000"], '"manager"'), (["< 1000"], '"clerk"')])
TWO_INPUTS = dmn("grade_cf", ["kind", "days"], "grade", [(['"vip"', "-"], '"A"'), (['"normal"', "< 3"], '"B"'),
                                                         (['"normal"', ">= 3"], '"C"')], hit_policy="FIRST")
COLLECT = dmn("tags_cf", ["amount"], "tags", [(["> 10"], '"big"'), (["> 100"], '"huge"'), (["< 0"], '"negative"')],
              hit_policy="COLLECT")


def _rule(name, decision, table, data):
    return _one(name, "business rule task (DMN)", [start(), business_rule("decide", decision), user("after"), end()],
                flows("start", "decide", "after", "end"), [(T, "after")], data, {f"{decision}.dmn": table})


CASES = [
    _one("script_del", "script task", [start(), script("calc", "total = a + b\ndel a"), user("look"), end()],
         flows("start", "calc", "look", "end"), [(T, "look")], {"a": 1, "b": 2}),
    _one("post_script_del", "pre- and post-scripts",
         [start(), user("fill", post_script("note = draft.upper()\ndel draft")), end()],
         flows("start", "fill", "end"), [(T, "fill", {"draft": "hello"})]),
    _one("pre_script", "pre- and post-scripts", [start(), user("fill", pre_script("suggested = base * 2")), end()],
         flows("start", "fill", "end"), [(T, "fill", {"chosen": 3})], {"base": 5}),
    _one("manual_and_none_task", "manual task and task", [start(), manual("check"), task("noop"), end()],
         flows("start", "check", "noop", "end"), [(T, "check")]),
    _one("user_task_data", "user task", [start(), user("a", name="First"), user("b"), end()], flows("start", "a", "b", "end"),
         [(T, "a", {"x": 1, "nested": {"k": [1, 2]}}), (T, "b", {"x": 2})]),
    _one("instructions", "user task", [start(), user("read", ext(spiff("instructionsForEndUser", "Check {{ order }}"))), end()],
         flows("start", "read", "end"), [(T, "read")], {"order": "A-1"}),
    _data_objects(),
    _io_spec(),
    _call_same_file(),
    _call_other_file(),
    _call_removes_key(),
    _embedded(),
    _transaction(),
    _call_multi_instance(),
    _loop_in_subprocess(),
    _rule("dmn_unique_manager", "route_cf", ROUTE, {"amount": 1500}),
    _rule("dmn_unique_clerk", "route_cf", ROUTE, {"amount": 20}),
    _rule("dmn_first_two_inputs", "grade_cf", TWO_INPUTS, {"kind": "normal", "days": 5}),
    _rule("dmn_collect", "tags_cf", COLLECT, {"amount": 500}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_data_runs_as_in_spiffworkflow(run_case, case):
    run_case(case)
