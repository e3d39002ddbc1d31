"""Replay a case once, event by event, and keep what an auditor asks of every step.

The replay is the engine's own (webapp.engine.replay: a fresh workflow of the version the
case ran on, each event applied with the clock and task ids it recorded). After each event
we read the workflow: the elements completed and active, the case data, and every task's
state changes (when a task became active, when it ended and how, and a timer's due time).
Nothing comes from another log: the steps, the diagram marks and the deadline facts are all
computed from the history events.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from ..engine import definitions, history, replay
from ..engine.errors import NotFound
from ..engine.projection import case_data
from ..engine.serialization import canonical_json
from ..engine.steps import PASSIVE_EVENTS
from ..extensions import db
from ..models import HistoryEvent, Instance

_ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_ACTIVE_STATES = {TaskState.READY, TaskState.STARTED, TaskState.WAITING}


@dataclass
class Step:
    seq: int
    at: str
    actor: str
    type: str
    bpmn_id: str | None
    task_id: str | None
    payload: dict
    hash: str
    completed: list[str]
    active: list[str]
    data: dict  # key -> canonical JSON text of the value, after the event
    changed: list[str] = field(default_factory=list)  # keys added or changed by the event
    removed: list[str] = field(default_factory=list)
    error: str = ""  # the event could not be replayed (a tampered or broken history)
    definition_id: int | None = None  # the process version in force after the event (migrations change it)


@dataclass
class Run:
    """One SpiffWorkflow task of an element: when it became active and when it ended."""

    task_id: str
    bpmn_id: str
    timer: bool = False
    started_seq: int | None = None
    started_at: str | None = None
    ended_seq: int | None = None
    ended_at: str | None = None
    end_state: str | None = None  # COMPLETED | CANCELLED
    due: str | None = None  # a timer's due time (ISO), as SpiffWorkflow computed it
    fired: bool = False


@dataclass
class Walk:
    instance_id: int
    definition_id: int
    last_hash: str
    steps: list[Step]
    runs: dict[str, Run]
    failed_seq: int | None = None

    @property
    def definition_ids(self) -> list[int]:
        """Every process version the case ran on, in order."""
        seen: list[int] = []
        for step in self.steps:
            if step.definition_id is not None and step.definition_id not in seen:
                seen.append(step.definition_id)
        return seen or [self.definition_id]

    def runs_of(self, bpmn_id: str) -> list[Run]:
        return [r for r in self.runs.values() if r.bpmn_id == bpmn_id]


def _observe(workflow, step_seq: int, at: str, runs: dict[str, Run]) -> tuple[list[str], list[str], dict]:
    completed, active = set(), set()
    for task in workflow.get_tasks():
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        state = task.state
        key = str(task.id)
        run = runs.get(key)
        if state in _ACTIVE_STATES or state in (TaskState.COMPLETED, TaskState.CANCELLED, TaskState.ERROR):
            if run is None:
                is_timer = isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)
                run = runs[key] = Run(key, bpmn_id, timer=is_timer)
            if run.started_seq is None:
                run.started_seq, run.started_at = step_seq, at
            if run.timer and run.due is None:
                value = task.internal_data.get("event_value")
                if isinstance(value, str):
                    run.due = value
            if state in (TaskState.COMPLETED, TaskState.CANCELLED) and run.ended_seq is None:
                run.ended_seq, run.ended_at = step_seq, at
                run.end_state = TaskState.get_name(state)
                run.fired = run.timer and state == TaskState.COMPLETED
        if state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif state in _ACTIVE_STATES:
            active.add(bpmn_id)
    data = {k: canonical_json(v) for k, v in case_data(workflow).items()}
    return sorted(completed - active), sorted(active), data


def walk(instance_id: int, events: list[HistoryEvent] | None = None) -> Walk:
    """Replay every event of the case and observe the workflow after each."""
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    if events is None:
        events = history.event_rows(instance.id)
    runs: dict[str, Run] = {}
    steps: list[Step] = []
    failed = None
    workflow, counter = replay._fresh(instance, events)
    completed, active, data = [], [], {}
    definition_id = replay.started_definition_id(instance, events)
    for event in events:
        payload = _payload(event)
        if event.type == "instance_migrated" and isinstance(payload.get("to"), dict) and "id" in payload["to"]:
            definition_id = int(payload["to"]["id"])
        error = ""
        if failed is None:
            try:
                if event.type not in PASSIVE_EVENTS or not steps:
                    counter = replay._apply_event(instance, workflow, event, counter)
                    new_completed, new_active, new_data = _observe(workflow, event.seq, event.at, runs)
                else:
                    new_completed, new_active, new_data = completed, active, data
            except Exception as err:  # a tampered event may break the workflow in any way
                failed = event.seq
                error = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
                new_completed, new_active, new_data = completed, active, data
        else:
            error = "not replayed: an earlier event failed"
            new_completed, new_active, new_data = completed, active, data
        changed = sorted(k for k, v in new_data.items() if data.get(k) != v)
        removed = sorted(k for k in data if k not in new_data)
        steps.append(Step(event.seq, event.at, event.actor, event.type, event.bpmn_id, event.task_id, payload, event.hash,
                          new_completed, new_active, new_data, changed, removed, error, definition_id))
        completed, active, data = new_completed, new_active, new_data
    return Walk(instance.id, instance.definition_id, instance.last_hash, steps, runs, failed)


def _payload(event: HistoryEvent) -> dict:
    try:
        value = json.loads(event.payload)
    except ValueError:
        return {"unreadable": event.payload}
    return value if isinstance(value, dict) else {"value": value}


# ---------------------------------------------------------------- a small cache

_cache: OrderedDict[tuple[str, int, str], Walk] = OrderedDict()
_cache_lock = Lock()
CACHE_SIZE = 64


def fingerprint(events: list[HistoryEvent]) -> str:
    """One hash over every stored column of every event: equal fingerprints, equal walks."""
    digest = hashlib.sha256()
    for e in events:
        digest.update(canonical_json([e.id, e.instance_id, e.seq, e.at, e.actor, e.type, e.bpmn_id, e.task_id, e.payload,
                                      e.state_hash, e.prev_hash, e.hash]).encode())
    return digest.hexdigest()


def cached_walk(instance_id: int) -> Walk:
    """The walk of the case as its events are now. The events are read every time (cheap) and
    only the replay is skipped when exactly the same events were walked before."""
    events = history.event_rows(instance_id)
    key = (definitions.database_scope(), instance_id, fingerprint(events))
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    result = walk(instance_id, events)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result
