"""End events that throw, transactions with cancel, several
definitions on one catch event, signals between the processes of a collaboration."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    cancel,
    catch,
    collaboration,
    definitions,
    end,
    error,
    escalation,
    flows,
    message,
    process,
    signal,
    start,
    subprocess,
    throw,
    timer,
    transaction,
    user,
)
from tests.conformance.harness import Case

T, M, W = "task", "message", "wait"


def _one(name, construct, body, links, steps=(), data=None, **top):
    return Case(name, construct, {f"{name}.bpmn": definitions(process(name, *body, links), **top)}, name, list(steps), data or {})


def _collab(name, construct, processes, steps, **top):
    ids = [f"{name}_{i}" for i in range(len(processes))]
    body = [p.replace("{pid}", pid) for p, pid in zip(processes, ids, strict=True)]
    return Case(name, construct, {f"{name}.bpmn": definitions(collaboration(name, *ids), *body, **top)}, ids[0],
                list(steps), collaboration=name)


def _sub_end(name, construct, end_event, catch_event, steps, **top):
    inner = start("s_in") + user("inside") + end("s_out", end_event) + flows("s_in", "inside", "s_out")
    body = [start(), subprocess("sub", inner), boundary("b", "sub", catch_event), user("handle"), user("normal"),
            end("e1"), end("e2")]
    return _one(name, construct, body, flows("start", "sub", "normal", "e1") + flows("b", "handle", "e2"), steps, **top)


CASES = [
    _one("multi_catch_message", "intermediate catch, multiple", [start(), catch("w", message("msg_m", "m_in")
                                                                 + timer("timeDuration", '"PT1H"')), user("a"), end()],
         flows("start", "w", "a", "end"), [(M, "m", {"v": 1}), (T, "a")], messages=("m",)),
    _one("multi_catch_timer", "intermediate catch, multiple", [start(), catch("w", message("msg_m", "m_in")
                                                               + timer("timeDuration", '"PT1H"')), user("a"), end()],
         flows("start", "w", "a", "end"), [(W, 7200), (T, "a")], messages=("m",)),
    _one("parallel_multiple_start", "start event, parallel multiple",
         [start("start", message("msg_a", "a_in") + message("msg_b", "b_in"), parallelMultiple="true"), user("x"), end()],
         flows("start", "x", "end"), [(M, "a", {"n": 1}), (M, "b", {"n": 2}), (T, "x")], messages=("a", "b")),
    _sub_end("end_error_boundary", "end event, error", error("err_bad"), error("err_bad"), [(T, "inside"), (T, "handle")],
             errors={"bad": "B1"}),
    _sub_end("end_escalation_boundary", "end event, escalation", escalation("esc_up"), escalation("esc_up"),
             [(T, "inside"), (T, "handle")], escalations={"up": "UP"}),
    _one("transaction_cancel", "transaction, cancel end and boundary",
         [start(), transaction("tx", start("t_s") + user("t_a") + end("t_e", cancel()) + flows("t_s", "t_a", "t_e")),
          boundary("bc", "tx", cancel()), user("after_cancel"), end(), end("e2")],
         flows("start", "tx", "end") + flows("bc", "after_cancel", "e2"), [(T, "t_a"), (T, "after_cancel")]),
    _collab("collab_signal_start", "collaboration, signal between processes",
            [process("{pid}", start(), user("go"), throw("shout", signal("sig_s")), end(), flows("start", "go", "shout", "end")),
             process("{pid}", start("heard", signal("sig_s")), user("react"), end("r_end"), flows("heard", "react", "r_end"))],
            [(T, "go"), (T, "react")], signals=("s",)),
    _collab("collab_message_end", "collaboration, message end event",
            [process("{pid}", start(), user("go"), end("end", message("msg_done", payload="{'by': who}")),
                     flows("start", "go", "end")),
             process("{pid}", start("s2"), catch("wait", message("msg_done", "done")), user("react"), end("r_end"),
                     flows("s2", "wait", "react", "r_end"))],
            [(T, "go", {"who": "ann"}), (T, "react")], messages=("done",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_more_events_run_as_in_spiffworkflow(run_case, case):
    run_case(case)
