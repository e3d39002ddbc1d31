"""Workflow state <-> JSON, with the process spec kept out of every instance's snapshot."""

from __future__ import annotations

import json
from contextvars import ContextVar
from functools import partial

import orjson
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .parser import DeferredServiceTask, PayloadMessageEventDefinition


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """The spec is stored once per definition version, not in each snapshot."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        from uuid import UUID

        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# During an incremental dump: the workflow's fragments {task id: (what the task's JSON
# depends on, the JSON)}, kept with the live workflow (see dump_incremental), and this
# dump's {parent task id: its data's JSON}; None during a full dump.
_fragments: ContextVar[tuple[dict, dict] | None] = ContextVar("snapshot_fragments", default=None)
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[DeferredServiceTask] = ServiceTaskConverter
    config[PayloadMessageEventDefinition] = MessageEventDefinitionConverter
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    registry = serializer.registry
    typename = registry.typenames[Task]
    registry.convert_to_dict[typename] = partial(_task_to_dict, registry.convert_to_dict[typename])
    return serializer


def _task_to_dict(convert, task: Task) -> dict | orjson.Fragment:
    """SpiffWorkflow's task conversion with the task's data in canonical key order; in an
    incremental dump, a finished task's JSON is made once and reused while what it depends
    on stays the same. A COMPLETED or CANCELLED task no longer changes its state or data,
    only its children may grow (compared each time; diagram scripts run in sandbox
    processes and hand back new objects, so nothing mutates a finished task's data in
    place); its delta is taken against its parent's data,
    which a finished parent no longer changes either, and an unfinished one (a
    multi-instance or loop task collecting results) is compared by its data's JSON."""
    cache = _fragments.get()
    if cache is None or not task.state & _FINISHED:
        dct = convert(task)
        _canonical_task(dct)
        return dct
    fragments, parent_keys = cache
    parent = task.parent
    if parent is None or parent.state & _FINISHED:
        depends_on = b""
    else:
        depends_on = parent_keys.get(parent.id)
        if depends_on is None:
            try:
                depends_on = orjson.dumps(parent.data, option=orjson.OPT_SORT_KEYS)
            except TypeError:  # not JSON data: no fragment for its children
                depends_on = b"?"
            parent_keys[parent.id] = depends_on
    # A finished task still gains children: an event subprocess that fires hangs under the
    # process's finished start task. What else could change is compared too.
    key = (depends_on, task.state, task.last_state_change, task.triggered, tuple(task._children))
    cached = fragments.get(task.id)
    if cached is not None and cached[0] == key and depends_on != b"?":
        return cached[1]
    dct = convert(task)
    _canonical_task(dct)
    fragment = orjson.Fragment(orjson.dumps(dct))
    fragments[task.id] = (key, fragment)
    return fragment


_serializer = _build_serializer()


def canonical_json(value: object) -> str:
    """The one JSON text form used for hashing and for snapshots."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sorted(value: object) -> object:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _canonical_task_data(dct: dict) -> None:
    """Sort the keys of task data (and data deltas) in place. A restored task's data has
    its parent's keys first, while a multi-instance child built in memory has its item
    first; the content is the same, only the order differs, and the order must not."""
    if isinstance(dct.get("data"), dict):
        dct["data"] = _sorted(dct["data"])
    for sub in (dct.get("subprocesses") or {}).values():
        _canonical_task_data(sub)


def _canonical_task(task: dict) -> None:
    task["data"] = _sorted(task.get("data") or {})
    delta = task.get("delta")
    if delta:
        delta["updates"] = _sorted(delta.get("updates") or {})
        delta["deletions"] = sorted(delta.get("deletions") or [])


def dump(workflow: BpmnWorkflow) -> str:
    """The order of tasks is kept, not sorted: SpiffWorkflow restores each task's data as a
    delta against its parent, so parents must come before children. The order is
    deterministic for a given history; the keys inside task data are sorted (see above).
    Every task is serialized afresh: replay and verification use this form."""
    token = _fragments.set(None)
    try:
        dct = _serializer.to_dict(workflow)
    finally:
        _fragments.reset(token)
    _canonical_task_data(dct)
    # orjson: the same compact UTF-8 JSON as json.dumps(separators=(",", ":")), about ten
    # times faster; snapshots are written on every command.
    return orjson.dumps(dct).decode()


def dump_incremental(workflow: BpmnWorkflow) -> str:
    """The same text as dump(workflow), byte for byte, made from the finished tasks' JSON
    kept with this workflow object since its last dump: a command re-serializes only the
    tasks that can still change, not the case's whole history (tests/test_snapshot_fragments.py
    holds it to dump's bytes)."""
    fragments = workflow.__dict__.setdefault("_snapshot_fragments", {})
    token = _fragments.set((fragments, {}))
    try:
        dct = _serializer.to_dict(workflow)
    finally:
        _fragments.reset(token)
    _canonical_task_data(dct)
    text = orjson.dumps(dct).decode()
    if CHECK_FRAGMENTS and text != dump(workflow):
        raise SnapshotMismatch("the snapshot assembled from cached task fragments differs from a full dump")
    return text


class SnapshotMismatch(AssertionError):
    pass


# The tests set this: every incremental dump is then compared with a full one.
CHECK_FRAGMENTS = False


def load(snapshot: str, spec, subprocess_specs: dict) -> BpmnWorkflow:
    dct = json.loads(snapshot)
    workflow = _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    _rewire_triggered(workflow)
    return workflow


def _rewire_triggered(workflow: BpmnWorkflow) -> None:
    """Redo the links SpiffWorkflow adds to a spec while a workflow runs. An event
    subprocess (or a collaboration's participant) started by an event is connected to its
    process's start and end the moment it fires (`BpmnStartTask.trigger_wf`). SpiffWorkflow's
    own serializer keeps that in the spec it stores with each workflow; our snapshots keep
    the spec out, so the workflow's fresh spec gets the links of what has fired back here."""
    for wf in (workflow, *workflow.subprocesses.values()):
        start = wf.spec.start
        triggered = {wf.spec.task_specs.get(name) for name in getattr(start, "trigger_specs", [])}
        for child in wf.task_tree.children:
            spec = child.task_spec
            if spec in triggered and start not in spec.inputs:
                start.connect(spec)
                spec.connect(wf.spec.end)


def spec_to_bytes(spec, subprocess_specs: dict) -> bytes:
    """A process spec and its subprocess specs in SpiffWorkflow's serialized form."""
    registry = _serializer.registry
    return orjson.dumps(
        {"spec": registry.convert(spec), "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()}}
    )


def spec_from_bytes(frozen: bytes) -> tuple[object, dict]:
    """New spec objects from `spec_to_bytes`' form (the restore consumes its dict, so each
    call decodes the bytes again)."""
    registry = _serializer.registry
    dct = orjson.loads(frozen)
    subprocess_specs = {k: registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return registry.restore(dct["spec"]), subprocess_specs
