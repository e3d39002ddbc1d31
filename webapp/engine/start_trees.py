"""The workflow a case starts from, copied from one kept per shared spec instead of built again.

Replay and verify build, for every case, the workflow as it was created before its first
event: SpiffWorkflow's constructor predicts the tree (9 task objects for the 8-step process,
each drawing an id: ~120 µs, about a twentieth of a verification). That tree is the same for
every case of a version except for two things the engine moment supplies: the task ids
(uuid5 of the instance's namespace and a counter, drawn in the same order) and the state
change time (the first event's time); the constructor reads no case data. So the
tree is built once per shared spec (replay._shared_specs: one per thread and version, keyed
by the version's id and content hash, and dropped with it) and each case gets a copy with
its own ids and time, every container new (no task, dict or list of the copy is another
case's).

A template is kept only where every attribute the constructor set is one this module knows
how to copy (the workflow's, each task's, the event manager's); anything else, any task data,
a task that changed state at another time, or an id drawn for no task, and the version is
built as before. With CHECK (the tests) every copy is compared with a workflow built the old
way: the full dump, the id counter, and the attribute names of the workflow and every task.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.event import Event

from .determinism import engine_moment

CHECK = False


class StartTreeMismatch(AssertionError):
    pass


_WORKFLOW_ATTRS = frozenset({
    "spec", "subprocess_specs", "subprocesses", "bpmn_events", "correlations", "event_manager", "data", "locks",
    "last_task", "success", "tasks", "completed", "completed_event", "task_removed_event", "task_tree",
    "_BpmnWorkflow__script_engine",
})
_TASK_ATTRS = frozenset({
    "id", "workflow", "_parent", "_children", "_state", "triggered", "task_spec", "thread_id", "data",
    "internal_data", "last_state_change",
})
_EVENT_ATTRS = {"lock": None, "weak_subscribers": None, "hard_subscribers": None}  # a new Event(), unconnected
_TEMPLATE_INSTANCE = 0  # the namespace the template's ids are drawn from (no instance has id 0)
_TEMPLATE_AT = datetime(2000, 1, 1, tzinfo=UTC)


class StartTree:
    """One version's tree as its constructor made it, in the form copies are made from:
    each task as (counter number of its id, its parent's, its children's, spec, state,
    triggered), in the task table's order. (Every task of a new tree has the thread id
    SpiffWorkflow's class-wide counter had when it was made: a copy takes the counter's
    value then, as a build would.)"""

    __slots__ = ("spec", "subprocess_specs", "script_engine", "data", "tasks", "root", "waiting", "id_counter")

    def __init__(self, workflow: BpmnWorkflow, numbers: dict, id_counter: int) -> None:
        self.spec, self.subprocess_specs = workflow.spec, workflow.subprocess_specs
        self.script_engine = workflow.script_engine
        self.data = copy.deepcopy(workflow.data)
        self.tasks = [
            (numbers[task.id], numbers.get(task._parent), [numbers[child] for child in task._children], task.task_spec,
             task._state, task.triggered)
            for task in workflow.tasks.values()
        ]
        self.root = numbers[workflow.task_tree.id]
        self.waiting = [numbers[task_id] for task_id in workflow.event_manager.tasks]
        self.id_counter = id_counter


def template(spec, subprocess_specs: dict, script_engine) -> StartTree | None:
    """The start tree of a version on this spec, None where a copy could not be exact."""
    with engine_moment(_TEMPLATE_AT, _TEMPLATE_INSTANCE, 0) as moment:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        stamp = moment.stamp
    with engine_moment(_TEMPLATE_AT, _TEMPLATE_INSTANCE, 0) as drawing:
        numbers = {drawing.next_id(): n for n in range(1, moment.id_counter + 1)}
    if set(workflow.__dict__) != _WORKFLOW_ATTRS or len(numbers) != len(workflow.tasks):
        return None
    if workflow.subprocesses or workflow.bpmn_events or workflow.correlations or workflow.locks:
        return None
    if workflow.last_task is not None or workflow.completed or workflow.success is not True:
        return None
    objects = workflow.data.get("data_objects", {})
    if set(workflow.data) - {"data_objects"} or type(objects) is not dict or any(v is not None for v in objects.values()):
        return None  # the constructor writes only the data objects' names (nothing that could depend on the case)
    if any(vars(event) != _EVENT_ATTRS for event in (workflow.completed_event, workflow.task_removed_event)):
        return None
    if set(vars(workflow.event_manager)) != {"workflow", "tasks"} or workflow.event_manager.workflow is not workflow:
        return None
    for task in workflow.tasks.values():
        if (
            set(task.__dict__) != _TASK_ATTRS
            or type(task) is not Task
            or task.id not in numbers
            or task.workflow is not workflow
            or task.data != {}
            or task.internal_data != {}
            or task.last_state_change != stamp
            or task.thread_id != Task.thread_id_pool
            or any(child not in numbers for child in task._children)
            or (task._parent is not None and task._parent not in numbers)
        ):
            return None
    if any(task_id not in workflow.tasks for task_id in workflow.event_manager.tasks):
        return None
    return StartTree(workflow, numbers, moment.id_counter)


def copy_of(tree: StartTree, at: datetime, instance_id: int) -> tuple[BpmnWorkflow, int]:
    """A new workflow as BpmnWorkflow(spec, ...) makes it inside engine_moment(at,
    instance_id, 0); returns (workflow, id_counter) as replay._fresh does."""
    with engine_moment(at, instance_id, 0) as moment:
        ids = [None] + [moment.next_id() for _ in range(tree.id_counter)]
        stamp = moment.stamp
    # Attributes set one by one in the constructors' order, never through __dict__: that
    # keeps the objects' attribute tables shared per class as the constructors' are (a task
    # whose __dict__ was filled otherwise makes every SpiffWorkflow walk over it slower).
    workflow = object.__new__(BpmnWorkflow)
    workflow.subprocess_specs = tree.subprocess_specs
    workflow.subprocesses = {}
    workflow.bpmn_events = []
    workflow.correlations = {}
    manager = workflow.event_manager = EventManager(workflow)
    workflow.spec = tree.spec
    workflow.data = copy.deepcopy(tree.data)
    workflow.locks = {}
    workflow.last_task = None
    workflow.success = True
    tasks = workflow.tasks = {}
    workflow.completed = False
    workflow.completed_event = Event()
    workflow.task_removed_event = Event()
    new_task = object.__new__
    thread_id = Task.thread_id_pool
    for number, parent, children, task_spec, task_state, triggered in tree.tasks:
        task = new_task(Task)
        task.id = task_id = ids[number]
        tasks[task_id] = task
        task.workflow = workflow
        task._parent = ids[parent] if parent is not None else None
        task._children = [ids[child] for child in children]
        task._state = task_state
        task.triggered = triggered
        task.task_spec = task_spec
        task.thread_id = thread_id
        task.data = {}
        task.internal_data = {}
        task.last_state_change = stamp
    workflow.task_tree = tasks[ids[tree.root]]
    workflow.script_engine = tree.script_engine
    for number in tree.waiting:
        manager.tasks[ids[number]] = tasks[ids[number]]
    return workflow, tree.id_counter


def check(copied: BpmnWorkflow, counter: int, built: BpmnWorkflow, built_counter: int) -> None:
    """Tests: the copy is what the constructor made (CHECK)."""
    from . import serialization

    if counter != built_counter or set(copied.__dict__) != set(built.__dict__):
        raise StartTreeMismatch("a copied start tree differs from a built one (id counter or attributes)")
    if list(copied.tasks) != list(built.tasks) or any(
        set(a.__dict__) != set(b.__dict__) for a, b in zip(copied.tasks.values(), built.tasks.values(), strict=True)
    ):
        raise StartTreeMismatch("a copied start tree's tasks differ from a built one's")
    if [t.thread_id for t in copied.tasks.values()] != [t.thread_id for t in built.tasks.values()]:
        raise StartTreeMismatch("a copied start tree's tasks have other thread ids than a built one's")
    if list(copied.event_manager.tasks) != list(built.event_manager.tasks):
        raise StartTreeMismatch("a copied start tree waits for other events than a built one")
    if serialization.dump(copied) != serialization.dump(built):
        raise StartTreeMismatch("a copied start tree dumps differently from a built one")
