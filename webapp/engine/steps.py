"""How each kind of history event changes a workflow. The runtime and replay both use this,
so what is recorded is exactly what is re-run."""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from . import task_walk, tree, waits  # noqa: F401  (task_walk: installs the fast walk)
from .errors import Conflict, EngineError
from .parser import DeferredServiceTask

# Events that record something about the case but give the workflow no input.
PASSIVE_EVENTS = {
    "service_failed",
    "incident_raised",
    "incident_retried",
    "incident_skipped",
    "task_claimed",
    "task_released",
    "comment_added",
    "task_assigned",
}


class WorkflowError(EngineError):
    """The diagram itself failed while running (a script, a condition, a loop too deep...).
    `element` names the diagram element, `task_id` the task, where known."""

    status = 400

    def __init__(
        self, message: str, errors: dict | None = None, *, element: str = "workflow", task_id: str | None = None
    ) -> None:
        super().__init__(message, errors)
        self.element, self.task_id = element, task_id


# SpiffWorkflow's TaskIterator stops at this depth: tasks below it are invisible to
# get_tasks() and is_completed(), so an exclusive-gateway loop "completes" at iteration 333
# with a task still READY. A workflow that reaches it is stopped with an error instead.
MAX_TASK_DEPTH = 1000


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TypeError):
        task = None
    if task is None:
        raise Conflict(f"task {task_id} is not part of this instance's state")
    return task


def run_engine(workflow: BpmnWorkflow) -> None:
    """Run until every path waits. Timers are refreshed after the steps, so a timer that is
    already due (a zero duration, a late check) fires in the second pass. The second pass
    is skipped only where it provably does nothing (it would walk the whole tree to find
    that out): no timer waits, no subprocess is running and no engine task is ready."""
    workflow.do_engine_steps()
    workflow.refresh_timers()
    if _second_pass_needed(workflow):
        workflow.do_engine_steps()
    elif tree.CHECK:
        from .serialization import dump

        before = dump(workflow)
        workflow.do_engine_steps()
        if dump(workflow) != before:
            raise tree.ShortcutMismatch("the skipped second engine pass would have changed the workflow")


def _second_pass_needed(workflow: BpmnWorkflow) -> bool:
    """With no timer waiting (nothing for refresh_timers to change), no subprocess running
    (whose parent task a pass would update) and no engine task ready (the refresh that ends
    do_engine_steps may have fired a timer), a second call would run nothing. One flat pass
    over the task tables, stopped at the first ready engine task."""
    if workflow.get_active_subprocesses():
        return True
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, (TimerEventDefinition, MultipleEventDefinition)):
            return True  # what refresh_timers looks at
    ready = TaskState.READY
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            if task._state == ready and not task.task_spec.manual:
                return True
    return False


def apply(workflow: BpmnWorkflow, type: str, task_id: str | None, payload: dict) -> list[dict]:
    """Give the workflow the input that one event records, then run engine steps. Returns
    the messages the workflow threw that nothing inside it caught (the runtime sends them
    on; replay drops them: where they went is in the receivers' own histories). Any failure
    inside SpiffWorkflow becomes a WorkflowError naming the element, never a half-run case."""
    if type in PASSIVE_EVENTS:
        return []
    try:
        _APPLIERS[type](workflow, task_id, payload)
        run_engine(workflow)
    except EngineError:
        raise
    except SpiffWorkflowException as err:
        task = getattr(err, "task", None)
        spec = getattr(task, "task_spec", None) or getattr(err, "task_spec", None)
        where = getattr(spec, "bpmn_id", None) or "workflow"
        raise WorkflowError(f"{where}: {err}", {where: str(err)}, element=where, task_id=_task_id(task)) from None
    except Exception as err:
        # SpiffWorkflow fails on some diagrams it parsed with a plain Python error (an ad hoc
        # subprocess's KeyError, a TypeError in a data merge), or a run hits RecursionError or
        # MemoryError: a 400 (or an incident) about the diagram, never a 500.
        where = _running_element(workflow)
        detail = f"{err.__class__.__name__}: {err}"[:2000]  # `type` is the event type here
        raise WorkflowError(f"{where}: {detail}", {where: detail}, element=where) from None
    check_sound(workflow)
    return waits.thrown_messages(workflow)


def _running_element(workflow: BpmnWorkflow) -> str:
    try:
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.STARTED):
            if getattr(task.task_spec, "bpmn_id", None):
                return task.task_spec.bpmn_id
    except Exception:  # the tree itself may be what broke
        pass
    return "workflow"


def _task_id(task) -> str | None:
    return str(task.id) if task is not None and getattr(task, "id", None) else None


def check_sound(workflow: BpmnWorkflow) -> None:
    """Refuse a state SpiffWorkflow would misreport: a task deeper than its iterator goes
    (an endless loop), or "completed" while a task has not finished. Only the tasks added
    since the last check are looked at (a task's depth never changes: tree.depth keeps it),
    and all tasks once the workflow says it is completed."""
    limit = MAX_TASK_DEPTH - 1
    workflows = (workflow, *workflow.subprocesses.values())
    for wf in workflows:
        for task in tree.added_since_last_look(wf):
            if tree.depth(task) < limit:
                continue
            where = getattr(task.task_spec, "bpmn_id", None) or "workflow"
            message = (
                f"a loop ran more than {MAX_TASK_DEPTH} steps deep at {where}; SpiffWorkflow cannot follow "
                "it further (use a standard loop or multi-instance for long repetitions)"
            )
            raise WorkflowError(f"{where}: {message}", {where: message}, element=where, task_id=str(task.id))
    for wf in workflows:
        tree.mark_seen(wf)
    if not tree.is_completed(workflow):
        return
    for wf in workflows:
        for task in wf.tasks.values():
            if not task._state & TaskState.FINISHED_MASK:
                where = getattr(task.task_spec, "bpmn_id", None) or "workflow"
                message = f"the workflow reports itself completed while {where} is {TaskState.get_name(task.state)}"
                raise WorkflowError(f"{where}: {message}", {where: message}, element=where, task_id=str(task.id))


def _started(workflow, task_id, payload):
    workflow.task_tree.data.update(payload["data"])


def _task_completed(workflow, task_id, payload):
    task = find_task(workflow, task_id)
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict("task is not open any more / 任务已处理")
    variable = getattr(task.task_spec, "variable", None)
    if variable:
        # SpiffArena's variableName: the form's data belongs under that one name
        task.data[variable] = payload["data"]
    else:
        task.data.update(payload["data"])
    task.run()


def _service_completed(workflow, task_id, payload):
    task = find_task(workflow, task_id)
    if task.state != TaskState.STARTED or not isinstance(task.task_spec, DeferredServiceTask):
        raise Conflict("service task is not waiting any more")
    task.internal_data.pop("service_params", None)
    task.data[task.task_spec.result_variable] = payload["result"]
    task.complete()


def _timer_checked(workflow, task_id, payload):
    workflow.refresh_timers()


def _message_received(workflow, task_id, payload):
    event = BpmnEvent(
        MessageEventDefinition(payload["name"]),
        payload.get("payload") or {},
        dict(workflow.correlations),
    )
    workflow.send_event(event)


def _cancelled(workflow, task_id, payload):
    workflow.cancel()


def _migrated(workflow, task_id, payload):
    """The instance moved to another version of its process (engine/migration.py): from
    here on the workflow runs on that version's spec, in replay as it did live."""
    from .definitions import info, spec_for
    from .migration import migrate_in_place

    spec, subprocess_specs = spec_for(info(int(payload["to"]["id"])))
    migrate_in_place(workflow, spec, subprocess_specs)


_APPLIERS = {
    "instance_started": _started,
    "task_completed": _task_completed,
    "service_completed": _service_completed,
    "timer_fired": _timer_checked,
    "message_received": _message_received,
    "instance_cancelled": _cancelled,
    "instance_migrated": _migrated,
}
