"""Workflow state <-> JSON, with the process spec kept out of every instance's snapshot."""

from __future__ import annotations

import json

import orjson
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter

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


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[DeferredServiceTask] = ServiceTaskConverter
    config[PayloadMessageEventDefinition] = MessageEventDefinitionConverter
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


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
    for task in (dct.get("tasks") or {}).values():
        task["data"] = _sorted(task.get("data") or {})
        delta = task.get("delta")
        if delta:
            delta["updates"] = _sorted(delta.get("updates") or {})
            delta["deletions"] = sorted(delta.get("deletions") or [])
    for sub in (dct.get("subprocesses") or {}).values():
        _canonical_task_data(sub)


def dump(workflow: BpmnWorkflow) -> str:
    """The order of tasks is kept, not sorted: SpiffWorkflow restores each task's data as a
    delta against its parent, so parents must come before children. The order is
    deterministic for a given history; the keys inside task data are sorted (see above)."""
    dct = _serializer.to_dict(workflow)
    _canonical_task_data(dct)
    # orjson: the same compact UTF-8 JSON as json.dumps(separators=(",", ":")), about ten
    # times faster; snapshots are written on every command.
    return orjson.dumps(dct).decode()


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
