"""What a workflow waits for, read from SpiffWorkflow's own event definitions: timer due
times and message names, for every kind of wait SpiffWorkflow has.

A wait may be one event definition or a `MultipleEventDefinition` holding several (an
event-based gateway, a start event with several triggers); those are looked into. Only
timer definitions carry times: other definitions' values (an error or escalation code, a
signal's name, a condition) are never read as one. Event subprocesses and the processes of
a collaboration wait for their start messages without a task in the tree: SpiffWorkflow
keeps them as "trigger specs" of the start task, and so are they listed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from . import clock


def definitions_of(event_definition) -> Iterator:
    """The plain event definitions inside one (itself, or the parts of a multiple one)."""
    if isinstance(event_definition, MultipleEventDefinition):
        for part in event_definition.event_definitions:
            yield from definitions_of(part)
    elif event_definition is not None:
        yield event_definition


def waiting_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """Tasks waiting for an event, in this workflow and its subprocesses."""
    return list(workflow.event_manager.tasks.values())


def timer_due(task: Task) -> datetime | None:
    """When the timer this task waits for is due (None: it waits for no timer, or its time
    is not known yet). The value is the one SpiffWorkflow fixed when the wait started."""
    if not any(isinstance(d, TimerEventDefinition) for d in definitions_of(task.task_spec.event_definition)):
        return None
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # a cycle: {'cycles', 'next', 'duration'}
        value = value.get("next") if value.get("cycles") != 0 else None
    if not isinstance(value, str):
        return None
    try:
        moment = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # the library raises bare Exception on a value it cannot read
        return None
    if not isinstance(moment, datetime):
        return None
    return clock.from_iso(moment.isoformat())


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    dues = [due for task in waiting_tasks(workflow) if (due := timer_due(task)) is not None]
    return min(dues) if dues else None


def is_cycle(task: Task) -> bool:
    return any(isinstance(d, CycleTimerEventDefinition) for d in definitions_of(task.task_spec.event_definition))


def message_waits(workflow: BpmnWorkflow) -> dict[str, list[str]]:
    """Messages some part of the workflow would catch now: name -> the correlation
    properties its definition declares (empty: a message without correlation keys)."""
    found: dict[str, set[str]] = {}

    def add(definition) -> None:
        if isinstance(definition, MessageEventDefinition):
            props = {p.name for p in definition.correlation_properties or []}
            found.setdefault(definition.name, set()).update(props)

    for task in waiting_tasks(workflow):
        for definition in definitions_of(task.task_spec.event_definition):
            add(definition)
    start = workflow.spec.start
    for spec_name in getattr(start, "trigger_specs", []):
        sub_spec = workflow.subprocess_specs.get(spec_name)
        for start_event in getattr(sub_spec, "bpmn_start_events", []) if sub_spec is not None else []:
            for definition in definitions_of(start_event.event_definition):
                add(definition)
    return {name: sorted(props) for name, props in found.items()}


def message_names(workflow: BpmnWorkflow) -> set[str]:
    return set(message_waits(workflow))


def thrown_messages(workflow: BpmnWorkflow) -> list[dict]:
    """Take the messages the workflow threw that nothing inside it caught (SpiffWorkflow
    keeps them in `bpmn_events` for the application): [{name, correlation, payload}], the
    correlation flattened from SpiffWorkflow's {key: {property: value}}. Other events that
    left the workflow uncaught (a signal nobody waits for) are dropped, so they do not pile
    up in the snapshot."""
    messages = []
    for event in workflow.get_events():
        definition = event.event_definition
        if not isinstance(definition, MessageEventDefinition):
            continue
        correlation: dict = {}
        for props in (event.correlations or {}).values():
            if isinstance(props, dict):
                correlation.update(props)
        messages.append({"name": definition.name, "correlation": correlation, "payload": event.payload})
    return messages
