"""Messages within a process and between the processes of a collaboration."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    catch,
    collaboration,
    definitions,
    end,
    flows,
    gateway,
    message,
    process,
    receive,
    send,
    start,
    subprocess,
    throw,
    user,
)
from tests.conformance.harness import Case

T, M = "task", "message"


def _collab(name: str, construct: str, processes: list[str], steps, messages, data=None) -> Case:
    ids = [f"{name}_{i}" for i in range(len(processes))]
    xml = definitions(collaboration(name, *ids), *[p.replace("{pid}", pid) for p, pid in zip(processes, ids, strict=True)],
                      messages=messages)
    return Case(name, construct, {f"{name}.bpmn": xml}, ids[0], list(steps), data or {}, collaboration=name)


BUYER = process("{pid}", start(), user("order"), throw("send_order", message("msg_order", payload="{'item': item}")),
                catch("wait_confirm", message("msg_confirm", "confirmation")), user("receive_goods"), end(),
                flows("start", "order", "send_order", "wait_confirm", "receive_goods", "end"))
SELLER = process("{pid}", start("got_order", message("msg_order", "order")), user("confirm"),
                 throw("send_confirm", message("msg_confirm", payload="{'ok': accepted}")), end("s_end"),
                 flows("got_order", "confirm", "send_confirm", "s_end"))
SELLER_TASKS = process("{pid}", start("s_start"), receive("take_order", "msg_order", "order"), user("confirm"),
                       send("send_confirm", "msg_confirm", "{'ok': accepted}"), end("s_end"),
                       flows("s_start", "take_order", "confirm", "send_confirm", "s_end"))
BUYER_TASKS = process("{pid}", start(), user("order"), send("send_order", "msg_order", "{'item': item}"),
                      receive("wait_confirm", "msg_confirm", "confirmation"), user("receive_goods"), end(),
                      flows("start", "order", "send_order", "wait_confirm", "receive_goods", "end"))
STEPS = [(T, "order", {"item": "pump"}), (T, "confirm", {"accepted": True}), (T, "receive_goods")]

CASES = [
    _collab("collab_start_by_message", "collaboration, message starts a participant", [BUYER, SELLER], STEPS,
            ("order", "confirm")),
    _collab("collab_send_receive", "collaboration, send and receive tasks", [BUYER_TASKS, SELLER_TASKS], STEPS,
            ("order", "confirm")),
    _collab("collab_mixed", "collaboration, message starts a participant", [BUYER_TASKS, SELLER], STEPS,
            ("order", "confirm")),
    Case("msg_within_event_sub", "message within a process (event subprocess)", {"msg_within_event_sub.bpmn": definitions(
        process("msg_within_event_sub", start(), user("work"), throw("tell", message("msg_note", payload="{'n': 1}")),
                user("more"),
                end(), flows("start", "work", "tell", "more", "end"),
                subprocess("es", start("es_start", message("msg_note", "note"), isInterrupting="false") + user("react")
                           + end("es_end") + flows("es_start", "react", "es_end"), event=True)),
        messages=("note",))}, "msg_within_event_sub", [(T, "work"), (T, "react"), (T, "more")]),
    Case("msg_within_branches", "message within a process (parallel branches)", {"msg_within_branches.bpmn": definitions(
        process("msg_within_branches", start(), gateway("parallel", "fork"), user("a"),
                throw("tell", message("msg_go", payload="{'from_a': a_value}")), catch("hear", message("msg_go", "heard")),
                user("b"), gateway("parallel", "join"), end(),
                flows("start", "fork", "a", "tell", "join") + flows("fork", "hear", "b", "join") + flows("join", "end")),
        messages=("go",))}, "msg_within_branches", [(T, "a", {"a_value": 7}), (T, "b")]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_messages_run_as_in_spiffworkflow(run_case, case):
    run_case(case)
