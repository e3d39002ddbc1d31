"""Where a task sits in its workflow's tree, without walking the tree: its depth (kept on
the task object once known: a task never moves) and the order SpiffWorkflow's depth-first
iterator would list a few tasks in. A long case has thousands of finished tasks; a command
looks at the few that are active, so these cost what changed, not the case's length."""

from __future__ import annotations

from functools import cmp_to_key

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# Kept on the workflow object: task -> depth (never on the Task objects: an added attribute
# ends their __dict__s' key sharing and slows SpiffWorkflow's own walks, see serialization).
_DEPTHS = "_tree_depths"
_LAST_SEEN = "_tree_last_seen"  # kept on the workflow object

# The tests set this: the shortcuts here, in projection.active_tasks and in
# steps.run_engine are then checked against SpiffWorkflow's own walks on every command.
CHECK = False


class ShortcutMismatch(AssertionError):
    pass


def depth(task: Task) -> int:
    """The number of ancestors in the task's own workflow (its tree's root: 0)."""
    workflow = task.workflow
    depths = workflow.__dict__.get(_DEPTHS)
    if depths is None:
        depths = workflow.__dict__[_DEPTHS] = {}
    known = depths.get(task)
    if known is not None:
        return known
    tasks = workflow.tasks
    chain = [task]
    parent = tasks.get(task._parent) if task._parent is not None else None
    base = -1
    while parent is not None:
        known = depths.get(parent)
        if known is not None:
            base = known
            break
        chain.append(parent)
        parent = tasks.get(parent._parent) if parent._parent is not None else None
    for offset, item in enumerate(reversed(chain), start=1):
        depths[item] = base + offset
    return base + len(chain)


def added_since_last_look(workflow) -> list[Task]:
    """The tasks of `workflow.tasks` added since the last call for this workflow object (all
    of them the first time). A dict keeps insertion order and a task enters it once, so they
    are the ones after the last task seen then; if that one was removed, all are listed."""
    tasks = workflow.tasks
    if not tasks:
        return []
    seen = workflow.__dict__.get(_LAST_SEEN)
    added = []
    for task in reversed(tasks.values()):
        if task is seen:
            break
        added.append(task)
    return added


def mark_seen(workflow) -> None:
    """What added_since_last_look lists next time starts after the tasks there are now."""
    if workflow.tasks:
        workflow.__dict__[_LAST_SEEN] = next(reversed(workflow.tasks.values()))


def _up(workflow: BpmnWorkflow, task: Task) -> tuple[Task | None, bool]:
    """The task above this one in the walk: its parent, or for a subprocess's root the
    subprocess's task in the enclosing workflow (then True)."""
    if task._parent is not None:
        return task.workflow.tasks.get(task._parent), False
    owner_id = getattr(task.workflow, "parent_task_id", None)
    if owner_id is None:
        return None, False
    return workflow.get_task_from_id(owner_id), True


def _global_depth(workflow: BpmnWorkflow, task: Task) -> int:
    total = depth(task)
    root = task
    while True:
        owner_id = getattr(root.workflow, "parent_task_id", None)
        if owner_id is None:
            return total
        owner = workflow.get_task_from_id(owner_id)
        total += depth(owner) + 1
        root = owner


def dfs_order(workflow: BpmnWorkflow, tasks: list[Task]) -> list[Task]:
    """`tasks` in the order of SpiffWorkflow's BpmnTaskIterator (depth first, a task before
    its descendants, a subprocess's tasks before the task's own children, siblings in
    order). Compares pairs by their common ancestor: cheap for the few active tasks."""
    depths = {id(task): _global_depth(workflow, task) for task in tasks}

    def position(parent: Task, child: Task, from_subprocess: bool) -> int:
        return -1 if from_subprocess else parent._children.index(child.id)

    def compare(a: Task, b: Task) -> int:
        if a is b:
            return 0
        da, db = depths[id(a)], depths[id(b)]
        x, y, sign = (a, b, 1) if da >= db else (b, a, -1)
        for _ in range(abs(da - db)):
            x, _sub = _up(workflow, x)
        if x is y:
            return sign  # the deeper one is below the other: it comes after
        while True:
            px, sx = _up(workflow, x)
            py, sy = _up(workflow, y)
            if px is py:
                return sign if position(px, x, sx) > position(py, y, sy) else -sign
            x, y = px, py

    return sorted(tasks, key=cmp_to_key(compare))


def is_completed(workflow) -> bool:
    """workflow.is_completed(), setting its `completed` flag the same way (the flag is part
    of the snapshot), with one flat pass that stops at the first unfinished task instead of
    SpiffWorkflow's iterator, which lists the children of every task it passes (a
    multi-instance task's thousand steps). The same answer wherever steps.check_sound
    holds (no task deeper than the iterator goes)."""
    if not workflow.completed:
        unfinished = TaskState.NOT_FINISHED_MASK
        for task in workflow.tasks.values():
            if task._state & unfinished:
                if CHECK and workflow.is_completed():
                    raise ShortcutMismatch("is_completed: SpiffWorkflow's walk finds no unfinished task")
                return False
        if CHECK and not workflow.is_completed():
            raise ShortcutMismatch("is_completed: SpiffWorkflow's walk finds an unfinished task")
        workflow.completed = True
    return True
