"""Issue 13, one test per problem found running diagrams nobody here wrote: each reproduces
the problem through the API as a person or a second process would meet it."""

from __future__ import annotations

import io

from tests.conformance.bpmn import (
    boundary,
    catch,
    collaboration,
    definitions,
    end,
    error,
    escalation,
    flows,
    gateway,
    message,
    mi,
    post_script,
    process,
    signal,
    start,
    subprocess,
    throw,
    timer,
    user,
)
from webapp.engine import definitions as engine_definitions


def _deploy(client, name: str, xml: str):
    data = {"file0": (io.BytesIO(xml.encode()), f"{name}.bpmn")}
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


def _start(client, key: str, data=None, business_key=None):
    body = {"process_key": key, "data": data or {}}
    if business_key:
        body["business_key"] = business_key
    r = client.post("/api/process-instances", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _open_tasks(client, iid: int) -> list[dict]:
    return client.get(f"/api/tasks?instance_id={iid}").get_json()


def _complete(client, task_id: str, data=None):
    r = client.post(f"/api/tasks/{task_id}/complete", {"data": data or {}})
    assert r.status_code == 200, r.get_json()


def _instance(client, iid: int) -> dict:
    return client.get(f"/api/process-instances/{iid}").get_json()


def _as_new_process() -> None:
    """What another web worker (or one restarted) has: no spec, definition or workflow cached."""
    engine_definitions.clear_caches()
    engine_definitions._spec_cache.clear()


def test_1_parallel_multi_instance_completes_when_another_process_serves_each_task(users):
    admin = users["admin"]
    xml = definitions(process(
        "mi_three", start(), user("work", mi(cardinality="3", output="results", output_item="r")), end(),
        flows("start", "work", "end"),
    ))
    assert _deploy(users["owner"], "mi_three", xml).status_code == 201
    iid = _start(admin, "mi_three")
    for n in range(3):
        _as_new_process()
        task = _open_tasks(admin, iid)[0]
        _complete(admin, task["id"], {"r": f"answer {n}"})
    instance = _instance(admin, iid)
    assert instance["status"] == "completed"
    assert instance["data"]["results"] == ["answer 0", "answer 1", "answer 2"]
    _as_new_process()
    assert admin.get(f"/api/process-instances/{iid}/verify").get_json() == {"verified": True, "events": 4}


def test_2_an_event_subprocess_fired_in_one_case_changes_nothing_another_case_sees(users):
    admin = users["admin"]
    xml = definitions(
        process(
            "with_event_sub", start(), user("work"), throw("raise_flag", signal("sig_late")), user("more"), end(),
            flows("start", "work", "raise_flag", "more", "end"),
            subprocess(
                "on_late",
                start("late", signal("sig_late"), isInterrupting="false") + user("handle_late") + end("late_done")
                + flows("late", "handle_late", "late_done"),
                event=True,
            ),
        ),
        signals=("late",),
    )
    assert _deploy(users["owner"], "with_event_sub", xml).status_code == 201
    earlier = _start(admin, "with_event_sub")
    later = _start(admin, "with_event_sub")
    _complete(admin, _open_tasks(admin, later)[0]["id"])
    assert {t["bpmn_id"] for t in _open_tasks(admin, later)} == {"more", "handle_late"}
    # In this same process, the earlier case still replays and verifies...
    assert admin.get(f"/api/process-instances/{earlier}/replay").status_code == 200
    assert admin.get(f"/api/process-instances/{earlier}/verify").get_json()["verified"] is True
    # ...and a new case starts as the first did.
    third = _start(admin, "with_event_sub")
    assert {t["bpmn_id"] for t in _open_tasks(admin, third)} == {"work"}
    _complete(admin, _open_tasks(admin, third)[0]["id"])
    assert {t["bpmn_id"] for t in _open_tasks(admin, third)} == {"more", "handle_late"}
    for iid in (earlier, later, third):
        assert admin.get(f"/api/process-instances/{iid}/verify").get_json()["verified"] is True


def test_3_error_and_escalation_boundary_events_start_without_a_server_error(users):
    admin = users["admin"]
    xml = definitions(
        process(
            "coded_boundaries", start(), user("work"), end(),
            boundary("on_error", "work", error("err_broken")), user("repair"), end("e2"),
            boundary("on_escalation", "work", escalation("esc_late"), interrupting=False), user("notify"), end("e3"),
            flows("start", "work", "end") + flows("on_error", "repair", "e2") + flows("on_escalation", "notify", "e3"),
        ),
        errors={"broken": "1"}, escalations={"late": "2"},
    )
    assert _deploy(users["owner"], "coded_boundaries", xml).status_code == 201
    iid = _start(admin, "coded_boundaries")
    [task] = _open_tasks(admin, iid)
    assert task["bpmn_id"] == "work" and task["due_at"] is None  # a code is not a due time
    assert _instance(admin, iid)["next_timer_due"] is None
    _complete(admin, task["id"])
    assert _instance(admin, iid)["status"] == "completed"


def _event_gateway_diagram() -> str:
    return definitions(
        process(
            "reply_or_chase", start(), user("ask"), gateway("eventBased", "gw"),
            catch("got_reply", message("msg_reply", "reply")), catch("too_late", timer("timeDuration", '"PT2H"')),
            user("handle_reply"), user("chase"), end("e1"), end("e2"),
            flows("start", "ask", "gw", "got_reply", "handle_reply", "e1") + flows("gw", "too_late", "chase", "e2"),
        ),
        messages=("reply",),
    )


def test_4_event_based_gateway_moves_on_its_message(users):
    admin = users["admin"]
    assert _deploy(users["owner"], "reply_or_chase", _event_gateway_diagram()).status_code == 201
    iid = _start(admin, "reply_or_chase", business_key="EG-1")
    _complete(admin, _open_tasks(admin, iid)[0]["id"])
    r = admin.post("/api/messages", {"name": "reply", "correlation": {"business_key": "EG-1"}, "payload": {"ok": True}})
    assert r.get_json() == {"delivered_to": [iid], "buffered": False}
    assert [t["bpmn_id"] for t in _open_tasks(admin, iid)] == ["handle_reply"]
    assert _instance(admin, iid)["data"]["reply"] == {"ok": True}
    assert _instance(admin, iid)["next_timer_due"] is None


def test_4_event_based_gateway_moves_on_its_timer(users, manual_clock, run_worker):
    admin = users["admin"]
    assert _deploy(users["owner"], "reply_or_chase", _event_gateway_diagram()).status_code == 201
    iid = _start(admin, "reply_or_chase", business_key="EG-2")
    _complete(admin, _open_tasks(admin, iid)[0]["id"])
    due = _instance(admin, iid)["next_timer_due"]
    assert due is not None and due.startswith("2026-03-02T03:00:00")  # two hours after the clock's 01:00
    manual_clock.advance(hours=3)
    run_worker()
    assert [t["bpmn_id"] for t in _open_tasks(admin, iid)] == ["chase"]


def test_4_a_start_event_with_several_messages_starts_on_either(users):
    admin = users["admin"]
    xml = definitions(
        process("either_message", start("start", message("msg_a", "got") + message("msg_b", "got")), user("work"), end(),
                flows("start", "work", "end")),
        messages=("a", "b"),
    )
    assert _deploy(users["owner"], "either_message", xml).status_code == 201
    iid = _start(admin, "either_message", business_key="EM-1")
    r = admin.post("/api/messages", {"name": "b", "correlation": {"business_key": "EM-1"}, "payload": {"n": 2}})
    assert r.get_json()["delivered_to"] == [iid]
    assert [t["bpmn_id"] for t in _open_tasks(admin, iid)] == ["work"]


def test_5_a_message_payload_without_message_variable_lands_in_the_data(users):
    admin = users["admin"]
    xml = definitions(
        process("standard_catch", start(), catch("wait", message("msg_answer")), user("read"), end(),
                flows("start", "wait", "read", "end")),
        messages=("answer",),
    )
    assert _deploy(users["owner"], "standard_catch", xml).status_code == 201
    iid = _start(admin, "standard_catch", business_key="SC-1")
    r = admin.post("/api/messages", {"name": "answer", "correlation": {"business_key": "SC-1"},
                                     "payload": {"approved": True, "amount": 12}})
    assert r.get_json()["delivered_to"] == [iid]
    data = _instance(admin, iid)["data"]
    assert data["approved"] is True and data["amount"] == 12


def test_6_a_collaboration_runs_every_process_and_their_messages_meet(users):
    admin = users["admin"]
    buyer = process("buyer", start(), user("order"), throw("send_order", message("msg_order", payload="{'item': item}")),
                    catch("wait_confirm", message("msg_confirm", "confirmation")), end(),
                    flows("start", "order", "send_order", "wait_confirm", "end"))
    seller = process("seller", start("got_order", message("msg_order", "order")), user("confirm"),
                     throw("send_confirm", message("msg_confirm", payload="{'ok': True}")), end("s_end"),
                     flows("got_order", "confirm", "send_confirm", "s_end"))
    xml = definitions(collaboration("trade", "buyer", "seller"), buyer, seller, messages=("order", "confirm"))
    assert _deploy(users["owner"], "trade", xml).status_code == 201
    iid = _start(admin, "buyer")
    _complete(admin, _open_tasks(admin, iid)[0]["id"], {"item": "pump"})
    [confirm] = _open_tasks(admin, iid)  # the seller's process started on the buyer's message
    assert confirm["bpmn_id"] == "confirm"
    _complete(admin, confirm["id"])
    instance = _instance(admin, iid)
    assert instance["status"] == "completed"
    assert instance["data"]["confirmation"] == {"ok": True}


def test_6_a_message_thrown_by_one_process_starts_or_moves_another(users):
    admin = users["admin"]
    sender = definitions(
        process("sender", start(), user("write"), throw("tell", message("msg_parcel", payload="{'parcel': parcel}")), end(),
                flows("start", "write", "tell", "end")),
        messages=("parcel",))
    receiver = definitions(
        process("receiver", start("got", message("msg_parcel", "parcel_in")), user("unpack"), end(),
                flows("got", "unpack", "end")),
        messages=("parcel",))
    assert _deploy(users["owner"], "receiver", receiver).status_code == 201
    assert _deploy(users["owner"], "sender", sender).status_code == 201
    iid = _start(admin, "sender")
    _complete(admin, _open_tasks(admin, iid)[0]["id"], {"parcel": "P-1"})
    assert _instance(admin, iid)["status"] == "completed"
    started = [i for i in admin.get("/api/process-instances?process_key=receiver").get_json()]
    assert len(started) == 1
    receiver_id = started[0]["id"]
    assert _instance(admin, receiver_id)["data"]["parcel_in"] == {"parcel": "P-1"}
    assert [t["bpmn_id"] for t in _open_tasks(admin, receiver_id)] == ["unpack"]
    history = admin.get(f"/api/process-instances/{receiver_id}/history").get_json()
    assert [e["type"] for e in history] == ["instance_started", "message_received"]
    assert history[1]["actor"].startswith("process:")


def test_6_an_empty_correlation_reaches_only_waits_without_correlation_keys(users):
    admin = users["admin"]
    keyed = definitions(
        collaboration("keyed_c", "keyed"),
        process("keyed", start(), catch("wait", message("msg_paid", "paid")), end(), flows("start", "wait", "end")),
        messages=("paid",),
        extra=(
            '<bpmn:correlationProperty id="order_id" name="order_id">'
            '<bpmn:correlationPropertyRetrievalExpression messageRef="msg_paid">'
            "<bpmn:formalExpression>order_id</bpmn:formalExpression>"
            "</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>"
        ),
    ).replace(
        '<bpmn:participant id="p_keyed" processRef="keyed"></bpmn:participant>',
        '<bpmn:participant id="p_keyed" processRef="keyed"></bpmn:participant>'
        '<bpmn:correlationKey name="order_key"><bpmn:correlationPropertyRef>order_id</bpmn:correlationPropertyRef>'
        "</bpmn:correlationKey>",
    )
    plain = definitions(
        process("unkeyed", start(), catch("wait", message("msg_paid", "paid")), end(), flows("start", "wait", "end")),
        messages=("paid",))
    assert _deploy(users["owner"], "keyed", keyed).status_code == 201
    assert _deploy(users["owner"], "unkeyed", plain).status_code == 201
    keyed_ids = [_start(admin, "keyed", {"order_id": n}) for n in (1, 2, 3)]
    unkeyed_id = _start(admin, "unkeyed")
    r = admin.post("/api/messages", {"name": "paid", "correlation": {}, "payload": {"order_id": 9}})
    assert r.get_json()["delivered_to"] == [unkeyed_id]
    for iid in keyed_ids:
        assert _instance(admin, iid)["status"] == "running"
    second = _instance(admin, keyed_ids[1])["business_key"]
    r = admin.post("/api/messages", {"name": "paid", "correlation": {"business_key": second}, "payload": {"order_id": 2}})
    assert r.get_json()["delivered_to"] == [keyed_ids[1]]


def test_7_the_case_data_is_the_workflows_data(users):
    admin = users["admin"]
    xml = definitions(process(
        "exact_data", start(), user("fill", post_script("note = draft.upper()\ndel draft")),
        user("each", mi(input="items", input_item="item", output="answers", output_item="answer")), user("last"), end(),
        flows("start", "fill", "each", "last", "end"),
    ))
    assert _deploy(users["owner"], "exact_data", xml).status_code == 201
    iid = _start(admin, "exact_data", {"items": ["a", "b"]})
    _complete(admin, _open_tasks(admin, iid)[0]["id"], {"draft": "hello"})
    data = _instance(admin, iid)["data"]
    assert data["note"] == "HELLO" and "draft" not in data
    for n, task in enumerate(_open_tasks(admin, iid)):
        _complete(admin, task["id"], {"answer": n})
    data = _instance(admin, iid)["data"]
    assert data["answers"] == [0, 1]
    assert "item" not in data and "answer" not in data
    _complete(admin, _open_tasks(admin, iid)[0]["id"])
    instance = _instance(admin, iid)
    assert instance["status"] == "completed"
    assert "draft" not in instance["data"] and "item" not in instance["data"]
