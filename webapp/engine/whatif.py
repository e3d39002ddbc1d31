"""Try a draft before deploying it: replay recent real cases through the draft's diagram.

Each case's recorded inputs (start data, task completions with their data, service
results, timer checks at their clock, messages, cancels) are given, in order, to two
fresh workflows: the case's own version (as verify replays it) and the draft. Both run
with the case's own clock and deterministic task ids, and their diagram code runs in the
sandbox as in normal execution. After every input the elements each has reached are
compared; the first difference decides the case:

- `same_path`: every input found its element in the draft and both reached the same elements;
- `stuck`: the draft waits at an element for an input this case's history never gave
  (a task that did not exist, a message that never came): `element` names it;
- `other_path`: the draft went elsewhere (`from` names the last element both shared
  before the split, typically a gateway), or an input's element is not open in the draft;
- `failed`: the draft's own code failed on the case's data (`element`, `error`).

Nothing is written: the cases, their history and the definitions are only read, and
the session is rolled back at the end (tests/test_whatif.py checks counts and hashes).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from ..extensions import db
from ..models import Definition, HistoryEvent, Instance
from . import clock, definitions, history, serialization, steps
from .determinism import engine_moment
from .errors import DefinitionInvalid, EngineError, NotFound
from .parser import AftersalesBpmnParser, DeferredServiceTask, collaboration_of, is_bpmn_file, load_spec, parse_definition
from .replay import started_definition_id
from .runtime import new_workflow
from .sandbox import RestrictedScriptEngine
from .xml_safety import parse_xml

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
OUTCOMES = ("same_path", "other_path", "stuck", "failed")

# The draft's diagram code runs through the same sandboxed engine as every command.
_script_engine = RestrictedScriptEngine()

# Tasks that count as "reached": done or waiting; predicted (FUTURE, LIKELY, MAYBE) and
# cancelled branches (the boundary timer of a finished task) do not.
_REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_TASK_INPUTS = ("task_completed", "service_completed")


@dataclass
class Draft:
    """A draft parsed and checked like a deploy, kept as serialized spec bytes so that every
    case gets a spec of its own (specs change as workflows run; see definitions.spec_for)."""

    process_id: str
    frozen: bytes
    names: dict[str, str]
    files: list[str]

    def workflow(self) -> BpmnWorkflow:
        spec, subprocess_specs = serialization.spec_from_bytes(self.frozen)
        return BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine)


def executable_processes(uploads: dict[str, bytes]) -> list[str]:
    """Executable process ids of the uploaded BPMN files, in file order."""
    return [process for processes in _processes_by_file(uploads).values() for process in processes]


def _processes_by_file(uploads: dict[str, bytes]) -> dict[str, list[str]]:
    found = {}
    for name, content in uploads.items():
        if is_bpmn_file(name):
            root = parse_xml(content, name).getroot()
            found[name] = [p.get("id") for p in root.iter() if _is_process(p)]
    return found


def _is_process(node) -> bool:
    return (
        isinstance(node.tag, str) and node.tag.endswith("}process")
        and (node.get("isExecutable", "true") or "true").lower() == "true"
    )


def prepare_draft(
    uploads: dict[str, bytes],
    *,
    main_process: str | None,
    known_operators: set[str] | None = None,
    lane_roles: dict[str, str] | None = None,
) -> Draft:
    """Check the draft as a deploy would (XSD, parse, sandbox, forms, operators) and build the
    spec of `main_process`. Raises DefinitionInvalid naming the element or field."""
    uploads = {Path(name).name: content for name, content in uploads.items()}
    bpmn = {n: c for n, c in uploads.items() if is_bpmn_file(n)}
    dmn = {n: c for n, c in uploads.items() if n.lower().endswith(".dmn")}
    forms = {}
    for name, content in uploads.items():
        if name.lower().endswith(".json"):
            try:
                forms[name] = json.loads(content)
            except (ValueError, UnicodeDecodeError, RecursionError) as err:
                raise DefinitionInvalid(f"{name}: not valid JSON", {name: f"not valid JSON: {err}"}) from None
        elif name not in bpmn and name not in dmn:
            raise DefinitionInvalid(f"{name}: not a draft file", {name: "only .bpmn (.bpmn20.xml), .dmn and .json files"})
    if not bpmn:
        raise DefinitionInvalid("no .bpmn file in the draft", {"files": "at least one .bpmn file is required"})
    by_file = _processes_by_file(bpmn)
    processes = [process for ids in by_file.values() for process in ids]
    if main_process is None:
        if len(processes) != 1:
            raise DefinitionInvalid(
                "the draft has several executable processes: choose the main one",
                {"main_process": "one of " + ", ".join(processes) if processes else "no executable process"},
            )
        main_process = processes[0]
    elif main_process not in processes:
        raise DefinitionInvalid(
            f"no executable process {main_process} in the draft",
            {"main_process": "not in the draft; one of " + ", ".join(processes)},
        )
    # The deploy's own checks, with the main process's file first so that its meta is the one checked.
    main_file = next(name for name, ids in by_file.items() if main_process in ids)
    ordered = {main_file: bpmn[main_file], **{n: c for n, c in bpmn.items() if n != main_file}}
    parse_definition(ordered, dmn, forms, known_operators, lane_roles=lane_roles)
    parser = AftersalesBpmnParser()
    for name, content in dmn.items():
        parser.add_dmn_xml(parse_xml(content, name).getroot(), filename=name)
    for name, content in ordered.items():
        parser.add_bpmn_xml(parse_xml(content, name).getroot(), filename=name)
    try:
        collaboration = collaboration_of(parse_xml(bpmn[main_file], main_file).getroot())
        spec, subprocess_specs = load_spec(parser, main_process, collaboration)
    except Exception as err:  # SpiffWorkflow's parse errors name the element
        element = getattr(err, "id", "") or main_process
        raise DefinitionInvalid(f"{element}: {err}", {element: str(err)}) from None
    frozen = serialization.spec_to_bytes(spec, subprocess_specs)
    return Draft(main_process, frozen, _names(spec, subprocess_specs), sorted(uploads))


def _names(spec, subprocess_specs: dict) -> dict[str, str]:
    names = {}
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id:
                names[bpmn_id] = getattr(task_spec, "bpmn_name", None) or ""
    return names


def running_version(key: str) -> Definition:
    row = db.session.scalar(db.select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1))
    if row is None:
        raise NotFound(f"no process deployed under key {key!r}", {"key": "unknown process"})
    return row


def recent_cases(
    definition: Definition, *, limit: int | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[Instance]:
    """The cases of that version, newest first: the last `limit`, or those started in [start, end)."""
    query = db.select(Instance).where(Instance.definition_id == definition.id)
    if start is not None:
        query = query.where(Instance.started_at >= start)
    if end is not None:
        query = query.where(Instance.started_at < end)
    query = query.order_by(Instance.started_at.desc(), Instance.id.desc())
    return list(db.session.scalars(query.limit(min(limit or (MAX_LIMIT if start or end else DEFAULT_LIMIT), MAX_LIMIT))))


# ---------------------------------------------------------------- one case


@dataclass
class CaseResult:
    instance_id: int
    business_key: str
    status: str
    started_at: str
    outcome: str = "same_path"
    element: str | None = None
    from_element: str | None = None
    error: str | None = None
    at_seq: int | None = None
    events: int = 0
    waiting: list[str] = field(default_factory=list)
    only_in_draft: list[str] = field(default_factory=list)
    only_in_case: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)

    def as_json(self) -> dict:
        return {
            "instance_id": self.instance_id, "business_key": self.business_key, "status": self.status,
            "started_at": self.started_at, "outcome": self.outcome, "element": self.element,
            "from": self.from_element, "error": self.error, "at_seq": self.at_seq, "events": self.events,
            "waiting": self.waiting, "only_in_draft": self.only_in_draft, "only_in_case": self.only_in_case,
        }


def _reached(workflow: BpmnWorkflow) -> dict[str, object]:
    """bpmn_id -> one task of it that is done or waiting (the first in tree order)."""
    found: dict[str, object] = {}
    for task in workflow.get_tasks(state=_REACHED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and bpmn_id not in found:
            found[bpmn_id] = task
    return found


def _open_for(workflow: BpmnWorkflow, bpmn_id: str, type: str) -> list:
    state = TaskState.READY if type == "task_completed" else TaskState.STARTED
    return [t for t in workflow.get_tasks(state=state) if getattr(t.task_spec, "bpmn_id", None) == bpmn_id]


def _waits(task) -> bool:
    """Whether an open task waits for an input from outside (timers do not: time passes anyway)."""
    spec = task.task_spec
    if task.state == TaskState.READY and spec.manual:
        return True
    if task.state == TaskState.STARTED:
        return isinstance(spec, DeferredServiceTask)  # a worker's result; a started subprocess waits inside
    return task.state == TaskState.WAITING and isinstance(spec, CatchingEvent) and not _is_timer(spec.event_definition)


def _is_timer(definition) -> bool:
    inner = getattr(definition, "event_definitions", None) or [definition]
    return all("Timer" in type(d).__name__ or "Cycle" in type(d).__name__ for d in inner)


def _waiting_for(workflow: BpmnWorkflow, message: str) -> bool:
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        inner = getattr(definition, "event_definitions", None) or [definition]
        if any(getattr(d, "name", None) == message for d in inner):
            return True
    return False


def _split_point(task, shared: set[str]) -> str | None:
    """The nearest ancestor of `task` that both runs reached: where the paths parted."""
    parent = task.parent
    while parent is not None:
        bpmn_id = getattr(parent.task_spec, "bpmn_id", None)
        if bpmn_id and bpmn_id in shared:
            return bpmn_id
        parent = parent.parent
    return None


def _diverged(result: CaseResult, case_reached: dict, draft_reached: dict, draft: BpmnWorkflow, known: set[str]) -> None:
    """Classify the first difference between the two runs. Stuck: the draft waits at an
    element the case's version does not have, so its history cannot hold that input."""
    only_draft = [b for b in draft_reached if b not in case_reached]
    only_case = [b for b in case_reached if b not in draft_reached]
    shared = set(case_reached) & set(draft_reached)
    result.only_in_draft, result.only_in_case = only_draft, only_case
    open_draft = [t for t in draft.get_tasks(state=_OPEN) if getattr(t.task_spec, "bpmn_id", None) in only_draft]
    result.waiting = sorted({t.task_spec.bpmn_id for t in open_draft})
    new_waits = [t for t in open_draft if t.task_spec.bpmn_id not in known and _waits(t)]
    if new_waits:
        result.outcome = "stuck"
        result.element = new_waits[0].task_spec.bpmn_id
        result.from_element = _split_point(new_waits[0], shared)
        return
    result.outcome = "other_path"
    first = draft_reached[only_draft[0]] if only_draft else case_reached[only_case[0]]
    result.from_element = result.element = _split_point(first, shared)


def _no_element_for(result: CaseResult, recorded: BpmnWorkflow, draft: BpmnWorkflow, event: HistoryEvent) -> None:
    """The recorded input's element is not open in the draft: the draft waits elsewhere."""
    result.at_seq = event.seq
    known = set(_names(recorded.spec, recorded.subprocess_specs))
    case_reached, draft_reached = _reached(recorded), _reached(draft)
    if set(draft_reached) != set(case_reached):
        _diverged(result, case_reached, draft_reached, draft, known)
        return
    waiting = [t for t in draft.get_tasks(state=_OPEN) if getattr(t.task_spec, "bpmn_id", None)]
    result.waiting = sorted({t.task_spec.bpmn_id for t in waiting})
    result.outcome, result.element = "other_path", event.bpmn_id or event.type


def replay_case(instance: Instance, draft: Draft) -> CaseResult:
    """Give the case's recorded inputs to its own version and to the draft, side by side."""
    events = history.event_rows(instance.id)
    result = CaseResult(instance.id, instance.business_key, instance.status, clock.to_iso(instance.started_at))
    at = clock.from_iso(events[0].at) if events else instance.started_at
    with engine_moment(at, instance.id, 0) as moment:
        recorded = new_workflow(definitions.info(started_definition_id(instance, events)))
        case_counter = moment.id_counter
    with engine_moment(at, instance.id, 0) as moment:
        trial = draft.workflow()
        trial_counter = moment.id_counter
    for event in events:
        if event.type in steps.PASSIVE_EVENTS:
            continue
        payload = json.loads(event.payload)
        task_id = None
        if event.type in _TASK_INPUTS:
            own = steps.find_task(recorded, event.task_id)
            peers = _open_for(recorded, own.task_spec.bpmn_id, event.type)
            candidates = _open_for(trial, own.task_spec.bpmn_id, event.type)
            if not candidates:
                _no_element_for(result, recorded, trial, event)
                break
            # the n-th open task of that element in one run is the n-th in the other
            index = next((i for i, t in enumerate(peers) if t is own), 0)
            task_id = str(candidates[min(index, len(candidates) - 1)].id)
        elif event.type == "message_received" and not _waiting_for(trial, payload.get("name")):
            _no_element_for(result, recorded, trial, event)
            break
        now = clock.from_iso(event.at)
        with engine_moment(now, instance.id, case_counter) as moment:
            steps.apply(recorded, event.type, event.task_id, payload)
        case_counter = moment.id_counter
        result.events += 1
        if event.type == "instance_migrated":
            continue  # a move between deployed versions; the draft stands in for all of them
        try:
            with engine_moment(now, instance.id, trial_counter) as moment:
                steps.apply(trial, event.type, task_id, payload)
            trial_counter = moment.id_counter
        except steps.WorkflowError as err:
            result.outcome, result.element, result.error, result.at_seq = "failed", err.element, err.message, event.seq
            break
        except EngineError as err:
            result.outcome, result.element, result.error, result.at_seq = "failed", event.bpmn_id, err.message, event.seq
            break
        case_reached, trial_reached = _reached(recorded), _reached(trial)
        if set(case_reached) != set(trial_reached):
            result.at_seq = event.seq
            _diverged(result, case_reached, trial_reached, trial, set(_names(recorded.spec, recorded.subprocess_specs)))
            break
    result.reached = set(_reached(trial))
    return result


# ---------------------------------------------------------------- many cases


def run(draft: Draft, instances: list[Instance]) -> dict:
    """The report: one entry per case, the outcome counts, and per element how many cases
    the draft brought there (reached), parted there (diverged), got stuck or failed there."""
    began = time.perf_counter()
    cases, elements = [], {}
    totals = dict.fromkeys(OUTCOMES, 0)
    try:
        for instance in instances:
            try:
                result = replay_case(instance, draft)
            except EngineError as err:  # the recorded case itself does not replay (verify names why)
                result = CaseResult(instance.id, instance.business_key, instance.status, clock.to_iso(instance.started_at))
                result.outcome, result.error = "failed", f"the recorded case does not replay: {err.message}"
            totals[result.outcome] += 1
            for bpmn_id in result.reached:
                _count(elements, draft, bpmn_id)["reached"] += 1
            where = {"other_path": result.from_element, "stuck": result.element, "failed": result.element}
            if result.outcome != "same_path" and where[result.outcome]:
                column = "diverged" if result.outcome == "other_path" else result.outcome
                _count(elements, draft, where[result.outcome])[column] += 1
            cases.append(result.as_json())
    finally:
        db.session.rollback()  # only reads happened; nothing of a trial may reach the database
    return {
        "process_id": draft.process_id,
        "summary": {"cases": len(cases), **totals, "seconds": round(time.perf_counter() - began, 3)},
        "elements": elements,
        "cases": cases,
    }


def _count(elements: dict, draft: Draft, bpmn_id: str) -> dict:
    return elements.setdefault(
        bpmn_id, {"name": draft.names.get(bpmn_id, ""), "reached": 0, "diverged": 0, "stuck": 0, "failed": 0}
    )



def try_draft(
    key: str,
    uploads: dict[str, bytes],
    *,
    main_process: str | None = None,
    limit: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    known_operators: set[str] | None = None,
    lane_roles: dict[str, str] | None = None,
) -> dict:
    """The whole trial for one key: its running version's recent cases through the draft.
    Without `main_process`, the draft's process with the running version's process id is
    the main one (a draft of one process needs no choice)."""
    running = running_version(key)
    if main_process is None:
        processes = executable_processes({n: c for n, c in uploads.items() if is_bpmn_file(n)})
        own = (running.meta or {}).get("process_id", key)
        main_process = own if own in processes and len(processes) > 1 else None
    draft = prepare_draft(uploads, main_process=main_process, known_operators=known_operators, lane_roles=lane_roles)
    instances = recent_cases(running, limit=limit, start=start, end=end)
    report = run(draft, instances)
    report["key"] = key
    report["running_version"] = {"id": running.id, "version": running.version, "content_hash": running.content_hash}
    report["selection"] = {
        "limit": limit, "from": clock.to_iso(start) if start else None, "to": clock.to_iso(end) if end else None,
    }
    return report
