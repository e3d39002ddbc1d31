"""Gateways and events: every gateway kind SpiffWorkflow runs; start, intermediate and
boundary events (interrupting and not) of every event type; event subprocesses."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    catch,
    conditional,
    definitions,
    end,
    error,
    escalation,
    flows,
    gateway,
    message,
    process,
    script,
    signal,
    start,
    subprocess,
    terminate,
    throw,
    timer,
    user,
)
from tests.conformance.harness import Case

T, M, W = "task", "message", "wait"
HOUR = 3600


def _one(name: str, construct: str, body: list[str], links: str, steps=(), data=None, **top) -> Case:
    xml = definitions(process(name, *body, links), **top)
    return Case(name, construct, {f"{name}.bpmn": xml}, name, list(steps), data or {})


def _xor(name, value):
    return _one(name, "exclusive gateway", [
        start(), gateway("exclusive", "gw", default="f_gw_small"), user("big"), user("small"), end("e1"), end("e2")],
        flows("start", "gw", "big", "e1", cond={"gw>big": "amount > 5"}) + flows("gw", "small", "e2"),
        [(T, "big" if value > 5 else "small")], {"amount": value})


def _inclusive(name, a, b):
    body = [start(), gateway("inclusive", "split", default="f_split_c"), user("a"), user("b"), user("c"),
            gateway("inclusive", "join"), end()]
    links = (flows("start", "split") + flows("split", "a", "join", cond={"split>a": "want_a"})
             + flows("split", "b", "join", cond={"split>b": "want_b"}) + flows("split", "c", "join") + flows("join", "end"))
    steps = [(T, x) for x, on in (("a", a), ("b", b)) if on] or [(T, "c")]
    return _one(name, "inclusive gateway", body, links, steps, {"want_a": a, "want_b": b})


def _parallel():
    body = [start(), gateway("parallel", "fork"), user("a"), user("b"), script("c", "c_done = True"),
            gateway("parallel", "join"), end()]
    links = flows("start", "fork", "a", "join") + flows("fork", "b", "join") + flows("fork", "c", "join") + flows("join", "end")
    return _one("par_fork_join", "parallel gateway", body, links, [(T, "b", {"b": 2}), (T, "a", {"a": 1})])


def _event_gateway(name, steps, variable="reply_data"):
    body = [start(), gateway("eventBased", "gw"), catch("got_reply", message("msg_reply", variable)),
            catch("too_late", timer("timeDuration", '"PT2H"')), user("handle_reply"), user("chase"), end("e1"), end("e2")]
    links = flows("start", "gw", "got_reply", "handle_reply", "e1") + flows("gw", "too_late", "chase", "e2")
    return _one(name, "event-based gateway", body, links, steps, messages=("reply",))


def _boundary(name, construct, event, interrupting, steps, top=None, data=None):
    body = [start(), user("work"), boundary("b", "work", event, interrupting), user("after_b"), end("e1"), end("e2")]
    links = flows("start", "work", "e1") + flows("b", "after_b", "e2")
    return _one(name, construct, body, links, steps, data, **(top or {}))


def _sub_boundary(name, construct, inner_end, event, interrupting, steps, top):
    """A subprocess whose inner flow ends in `inner_end`'s event; a boundary event on it."""
    inner = start("s_in") + user("inside") + throw("raise", inner_end) + user("after_raise") + end("s_out")
    inner += flows("s_in", "inside", "raise", "after_raise", "s_out")
    body = [start(), subprocess("sub", inner), boundary("b", "sub", event, interrupting), user("handle"),
            end("e1"), end("e2")]
    links = flows("start", "sub", "e1") + flows("b", "handle", "e2")
    return _one(name, construct, body, links, steps, **top)


def _error_sub(name, interrupting_steps):
    inner = start("s_in") + user("inside") + end("fail", error("err_broken")) + flows("s_in", "inside", "fail")
    body = [start(), subprocess("sub", inner), boundary("b", "sub", error("err_broken")), user("handle"), end("e1"), end("e2")]
    links = flows("start", "sub", "e1") + flows("b", "handle", "e2")
    return _one(name, "boundary error event (interrupting)", body, links, interrupting_steps, errors={"broken": "E42"})


def _event_sub(name, construct, trigger, interrupting, steps, top=None, main=None):
    main = main or [start(), user("work"), end()]
    links = flows("start", "work", "end")
    inner = start("es_start", trigger, isInterrupting=str(interrupting).lower()) + user("react") + end("es_end")
    inner += flows("es_start", "react", "es_end")
    return _one(name, construct, [*main, subprocess("es", inner, event=True)], links, steps, **(top or {}))


CASES = [
    _xor("xor_big", 9),
    _xor("xor_small", 2),
    _inclusive("or_ab", True, True),
    _inclusive("or_b", False, True),
    _inclusive("or_default", False, False),
    _parallel(),
    _event_gateway("evgw_message", [(M, "reply", {"text": "ok"}), (T, "handle_reply")]),
    _event_gateway("evgw_timer", [(W, 3 * HOUR), (T, "chase")]),
    # start events
    _one("start_timer", "start event, timer", [start("start", timer("timeDuration", '"PT1H"')), user("work"), end()],
         flows("start", "work", "end"), [(W, 2 * HOUR), (T, "work")]),
    _one("start_message", "start event, message", [start("start", message("msg_go", "go")), user("work"), end()],
         flows("start", "work", "end"), [(M, "go", {"n": 1}), (T, "work")], messages=("go",)),
    _one("start_two_messages", "start event, several messages",
         [start("start_a", message("msg_a", "got")), start("start_b", message("msg_b", "got")), user("work"), end()],
         flows("start_a", "work", "end") + flows("start_b", "work"), [(M, "b", {"n": 2}), (T, "work")], messages=("a", "b")),
    _one("start_multiple_defs", "start event, multiple",
         [start("start", message("msg_a", "got") + message("msg_b", "got")), user("work"), end()],
         flows("start", "work", "end"), [(M, "a", {"n": 1}), (T, "work")], messages=("a", "b")),
    _one("start_conditional", "start event, conditional", [start("start", conditional("ready == True")), user("work"), end()],
         flows("start", "work", "end"), [(T, "work")], {"ready": True}),
    # intermediate events
    _one("catch_timer_duration", "intermediate timer, duration",
         [start(), catch("wait", timer("timeDuration", '"PT30M"')), user("work"), end()],
         flows("start", "wait", "work", "end"), [(W, 600), (W, 1800), (T, "work")]),
    _one("catch_timer_date", "intermediate timer, date",
         [start(), catch("wait", timer("timeDate", '"2026-03-02T05:00:00+00:00"')), user("work"), end()],
         flows("start", "wait", "work", "end"), [(W, 3 * HOUR), (W, 2 * HOUR), (T, "work")]),
    _one("catch_timer_expr", "intermediate timer, duration",
         [start(), catch("wait", timer("timeDuration", "delay")), user("work"), end()],
         flows("start", "wait", "work", "end"), [(W, 7200), (T, "work")], {"delay": "PT1H"}),
    _one("catch_message_var", "intermediate message catch",
         [start(), user("ask"), catch("wait", message("msg_answer", "answer")), user("read"), end()],
         flows("start", "ask", "wait", "read", "end"), [(T, "ask"), (M, "answer", {"yes": True}), (T, "read")],
         messages=("answer",)),
    _one("throw_catch_signal", "intermediate signal throw and catch",
         [start(), gateway("parallel", "fork"), user("a"), throw("shout", signal("sig_go")), catch("listen", signal("sig_go")),
          user("b"), gateway("parallel", "join"), end()],
         flows("start", "fork", "a", "shout", "join") + flows("fork", "listen", "b", "join") + flows("join", "end"),
         [(T, "a"), (T, "b")], signals=("go",)),
    _one("catch_conditional", "intermediate conditional catch",
         [start(), gateway("parallel", "fork"), user("a"), catch("when", conditional("flag == True")), script("s", "x = 1"),
          gateway("parallel", "join"), end()],
         flows("start", "fork", "a", "join") + flows("fork", "when", "s", "join") + flows("join", "end"),
         [(T, "a", {"flag": True})], {"flag": False}),
    _one("throw_none", "intermediate none event", [start(), throw("mark"), user("work"), end()],
         flows("start", "mark", "work", "end"), [(T, "work")]),
    _one("end_terminate", "end event, terminate",
         [start(), gateway("parallel", "fork"), user("a"), user("b"), end("stop_all", terminate()), end("e2")],
         flows("start", "fork", "a", "stop_all") + flows("fork", "b", "e2"), [(T, "a")]),
    # boundary events
    _boundary("bnd_timer_int", "boundary timer (interrupting)", timer("timeDuration", '"PT4H"'), True,
              [(W, 5 * HOUR), (T, "after_b")]),
    _boundary("bnd_timer_int_early", "boundary timer (interrupting)", timer("timeDuration", '"PT4H"'), True,
              [(W, HOUR), (T, "work")]),
    _boundary("bnd_timer_nonint", "boundary timer (non-interrupting)", timer("timeDuration", '"PT1H"'), False,
              [(W, 2 * HOUR), (T, "after_b"), (T, "work")]),
    _boundary("bnd_timer_cycle", "boundary timer cycle (non-interrupting)", timer("timeCycle", '"R2/PT1H"'), False,
              [(W, 3700), (W, 3700), (T, "after_b"), (T, "after_b"), (T, "work")]),
    _boundary("bnd_timer_date", "boundary timer date (interrupting)", timer("timeDate", '"2026-03-02T02:30:00+00:00"'), True,
              [(W, 2 * HOUR), (T, "after_b")]),
    _boundary("bnd_message_int", "boundary message (interrupting)", message("msg_stop", "why"), True,
              [(M, "stop", {"reason": "cancelled"}), (T, "after_b")], {"messages": ("stop",)}),
    _boundary("bnd_message_nonint", "boundary message (non-interrupting)", message("msg_note", "note"), False,
              [(M, "note", {"text": "hello"}), (T, "after_b"), (T, "work")], {"messages": ("note",)}),
    _boundary("bnd_conditional", "boundary conditional (non-interrupting)", conditional("urgent == True"), False,
              [(T, "work", {"urgent": True})], data={"urgent": False}),
    _error_sub("bnd_error", [(T, "inside"), (T, "handle")]),
    _sub_boundary("bnd_escalation_nonint", "boundary escalation (non-interrupting)", escalation("esc_late"),
                  escalation("esc_late"), False, [(T, "inside"), (T, "handle"), (T, "after_raise")],
                  {"escalations": {"late": "LATE"}}),
    _sub_boundary("bnd_escalation_int", "boundary escalation (interrupting)", escalation("esc_late"),
                  escalation("esc_late"), True, [(T, "inside"), (T, "handle")], {"escalations": {"late": "LATE"}}),
    _sub_boundary("bnd_signal_int", "boundary signal (interrupting)", signal("sig_halt"), signal("sig_halt"), True,
                  [(T, "inside"), (T, "handle")], {"signals": ("halt",)}),
    _sub_boundary("bnd_signal_nonint", "boundary signal (non-interrupting)", signal("sig_note"), signal("sig_note"), False,
                  [(T, "inside"), (T, "handle"), (T, "after_raise")], {"signals": ("note",)}),
    _one("start_timer_date", "start event, timer", [start("start", timer("timeDate", '"2026-03-02T04:00:00+00:00"')),
                                                   user("work"), end()],
         flows("start", "work", "end"), [(W, HOUR), (W, 3 * HOUR), (T, "work")]),
    _one("start_timer_cycle", "start event, timer cycle",
         [start("start", timer("timeCycle", '"R2/PT1H"')), user("work"), end()],
         flows("start", "work", "end"), [(W, 3700), (T, "work"), (W, 3700), (T, "work")]),
    _one("catch_timer_cycle", "intermediate timer, cycle",
         [start(), catch("wait", timer("timeCycle", '"R1/PT1H"')), user("work"), end()],
         flows("start", "wait", "work", "end"), [(W, 3700), (T, "work")]),
    _one("catch_timer_zero", "intermediate timer, duration",
         [start(), catch("wait", timer("timeDuration", '"PT0S"')), user("work"), end()],
         flows("start", "wait", "work", "end"), [(W, 1), (T, "work")]),
    # event subprocesses
    _event_sub("es_timer_int", "event subprocess, timer (interrupting)", timer("timeDuration", '"PT1H"'), True,
               [(W, 2 * HOUR), (T, "react")]),
    _event_sub("es_timer_not_yet", "event subprocess, timer (non-interrupting)", timer("timeDuration", '"PT5H"'), False,
               [(W, HOUR), (T, "work")]),
    _event_sub("es_timer_nonint", "event subprocess, timer (non-interrupting)", timer("timeDuration", '"PT1H"'), False,
               [(W, 2 * HOUR), (T, "react"), (T, "work")]),
    _event_sub("es_message_int", "event subprocess, message (interrupting)", message("msg_abort", "abort"), True,
               [(M, "abort", {"by": "customer"}), (T, "react")], {"messages": ("abort",)}),
    _event_sub("es_message_nonint", "event subprocess, message (non-interrupting)", message("msg_info", "info"), False,
               [(M, "info", {"n": 1}), (T, "react"), (T, "work")], {"messages": ("info",)}),
    _event_sub("es_signal", "event subprocess, signal (non-interrupting)", signal("sig_ping"), False,
               [(T, "a"), (T, "react"), (T, "work")], {"signals": ("ping",)},
               main=[start(), user("a"), throw("ping", signal("sig_ping")), user("work"), end()]),
]

def _standard(case: Case) -> Case:
    case.dialect = "bpmn"
    return case


CASES += [
    _standard(_one("catch_message_payload", "intermediate message catch, standard payload",
                   [start(), user("ask"), catch("wait", message("msg_answer")), user("read"), end()],
                   flows("start", "ask", "wait", "read", "end"), [(T, "ask"), (M, "answer", {"yes": True, "n": 3}), (T, "read")],
                   messages=("answer",))),
    _standard(_boundary("bnd_message_payload", "boundary message, standard payload", message("msg_stop"), True,
                        [(M, "stop", {"reason": "cancelled"}), (T, "after_b")], {"messages": ("stop",)})),
    _standard(_event_gateway("evgw_message_payload", [(M, "reply", {"text": "ok"}), (T, "handle_reply")], None)),
]
CASES[-1].construct = "event-based gateway, standard payload"
CASES[-4].files = {"es_signal.bpmn": definitions(process(
    "es_signal", start(), user("a"), throw("ping", signal("sig_ping")), user("work"), end(),
    flows("start", "a", "ping", "work", "end"),
    subprocess("es", start("es_start", signal("sig_ping"), isInterrupting="false") + user("react") + end("es_end")
               + flows("es_start", "react", "es_end"), event=True)), signals=("ping",))}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_events_run_as_in_spiffworkflow(run_case, case):
    run_case(case)
