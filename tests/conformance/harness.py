"""Run one diagram twice with the same inputs: in plain SpiffWorkflow in memory (the ground
truth) and through our engine with every per-process cache cleared before each command,
then compare the completed path, the data and the end state.

A case's inputs are steps: ("task", bpmn_id, data) completes the first open user task of
that element; ("message", name, payload, correlation) delivers a message; ("wait",
seconds) moves the clock on and runs the timer check.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BpmnMessageEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from webapp.engine import clock, definitions, projection, runtime, serialization
from webapp.engine.determinism import engine_moment
from webapp.extensions import db
from webapp.models import InboxTask, Instance

ACTOR = "conformance"
RESULTS: list[dict] = []  # one row per case run, for the table printed at the end
SECOND_PROCESS_VERIFIED: set[str] = set()


@dataclass
class Case:
    name: str  # unique; also the business key
    construct: str  # the row of the table
    files: dict[str, str]  # filename -> XML
    process: str
    steps: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    # The ground truth's parser: "spiff" (SpiffWorkflow's spiff dialect, as our engine) or
    # "bpmn" (its standard BPMN parser, for diagrams without spiff extensions).
    dialect: str = "spiff"
    collaboration: str | None = None  # run as SpiffWorkflow runs this collaboration

    @property
    def business_key(self) -> str:
        return f"CF-{self.name}"


@dataclass
class Outcome:
    completed: bool
    path: Counter
    data: dict
    open: list[str]

    def as_dict(self) -> dict:
        return {"completed": self.completed, "path": dict(sorted(self.path.items())), "data": self.data, "open": self.open}


def _outcome(workflow: BpmnWorkflow) -> Outcome:
    path = Counter(
        t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if getattr(t.task_spec, "bpmn_id", None)
    )
    active = TaskState.READY | TaskState.STARTED | TaskState.WAITING
    open_ = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=active) if getattr(t.task_spec, "bpmn_id", None)})
    data = json.loads(serialization.canonical_json(projection.case_data(workflow)))
    return Outcome(workflow.is_completed(), path, data, open_)


# ---------------------------------------------------------------- plain SpiffWorkflow


def plain_run(case: Case, start) -> Outcome:
    parser = SpiffBpmnParser() if case.dialect == "spiff" else BpmnParser()
    message_class = MessageEventDefinition if case.dialect == "spiff" else BpmnMessageEventDefinition
    for filename, xml in case.files.items():
        if filename.endswith(".dmn"):
            parser.add_dmn_xml(etree.fromstring(xml.encode()), filename=filename)
    for filename, xml in case.files.items():
        if filename.endswith(".bpmn"):
            parser.add_bpmn_xml(etree.fromstring(xml.encode()), filename=filename)
    if case.collaboration:
        spec, subs = parser.get_collaboration(case.collaboration)
    else:
        spec, subs = parser.get_spec(case.process), parser.get_subprocess_specs(case.process)
    now, counter = start, 0
    with engine_moment(now, 0, counter) as moment:
        workflow = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine())
        workflow.task_tree.data.update({**case.data, "business_key": case.business_key})
        _engine_steps(workflow)
    counter = moment.id_counter
    for step in case.steps:
        kind = step[0]
        if kind == "wait":
            now = now + timedelta(seconds=step[1])
        with engine_moment(now, 0, counter) as moment:
            if kind == "task":
                ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == step[1]]
                assert ready, f"{case.name}: no ready task {step[1]} in plain SpiffWorkflow"
                ready[0].data.update(step[2] if len(step) > 2 else {})
                ready[0].run()
            elif kind == "message":
                payload = step[2] if len(step) > 2 else {}
                workflow.send_event(BpmnEvent(message_class(step[1]), payload, dict(workflow.correlations)))
            elif kind == "wait":
                workflow.refresh_timers()
            _engine_steps(workflow)
        counter = moment.id_counter
    return _outcome(workflow)


def _engine_steps(workflow: BpmnWorkflow) -> None:
    workflow.do_engine_steps()
    workflow.refresh_timers()
    workflow.do_engine_steps()


# ---------------------------------------------------------------- our engine


def clear_caches() -> None:
    """What a fresh process would have: no parsed spec, no definition info, no workflows."""
    definitions.clear_caches(specs=True)


def deploy(case: Case) -> None:
    uploads = {name: xml.encode() for name, xml in case.files.items()}
    definitions.deploy(uploads, actor=ACTOR, now=clock.now())
    db.session.commit()


def engine_run(case: Case, manual_clock) -> tuple[Instance, Outcome]:
    deploy(case)
    clear_caches()
    instance = runtime.start_instance(case.process, dict(case.data), actor=ACTOR, business_key=case.business_key)
    instance_id = instance.id
    for step in case.steps:
        clear_caches()
        kind = step[0]
        if kind == "task":
            row = db.session.scalars(
                db.select(InboxTask)
                .where(InboxTask.instance_id == instance_id, InboxTask.bpmn_id == step[1], InboxTask.state == "open")
                .order_by(InboxTask.created_at, InboxTask.id)
            ).first()
            assert row is not None, f"{case.name}: no open task {step[1]} in our engine"
            runtime.complete_user_task(row.id, step[2] if len(step) > 2 else {}, actor=ACTOR, roles={"admin"})
        elif kind == "message":
            correlation = step[3] if len(step) > 3 else {"business_key": case.business_key}
            runtime.deliver_message(step[1], correlation, step[2] if len(step) > 2 else {}, actor=ACTOR)
        elif kind == "wait":
            manual_clock.advance(seconds=step[1])
            if db.session.get(Instance, instance_id).status == "running":
                runtime.fire_timers(instance_id, actor=ACTOR)
    clear_caches()
    db.session.expire_all()
    instance = db.session.get(Instance, instance_id)
    workflow = runtime.load_workflow(instance)
    outcome = _outcome(workflow)
    outcome.data = json.loads(serialization.canonical_json(instance.data))
    return instance, outcome


def check(case: Case, manual_clock) -> None:
    """The engine ends as plain SpiffWorkflow does: path, data, end state."""
    expected = plain_run(case, manual_clock.now())
    instance, got = engine_run(case, manual_clock)
    row = {"case": case.name, "construct": case.construct, "instance": instance.id, "ok": False}
    RESULTS.append(row)
    status = "completed" if expected.completed else "running"
    assert instance.status == status, f"{case.name}: {instance.status}, plain SpiffWorkflow {status}"
    got_, want = got.as_dict(), expected.as_dict()
    differs = {k: {"engine": got_[k], "spiffworkflow": want[k]} for k in want if got_[k] != want[k]}
    assert not differs, f"{case.name}: {differs}"
    row["ok"] = True
