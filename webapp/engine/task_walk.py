"""SpiffWorkflow's depth-first task walk (TaskIterator, BpmnTaskIterator), the same walk in
fewer Python calls, for our own workflows.

SpiffWorkflow walks a workflow's task tree many times per step (the ready tasks of each engine
pass, the waiting tasks after each completion, a parallel gateway's threshold): over a third
of a replay's CPU was in the iterator's own frames (`__next__`, `_next`, the filter's
`matches`, `has_state`, the `parent`/`children`/`state` properties, the depth bookkeeping),
not in the work it finds. The classes below do exactly what SpiffWorkflow 3.2's code does,
step for step and in the same order, at the same moments (the walk stays lazy: a task the
caller changes between two steps is seen as SpiffWorkflow would see it), with those calls
inlined. tests/test_task_walk.py runs diagrams both ways and compares every step's tasks.

Also here: a workflow's log extras without the walk over all its tasks while nothing would
log them (collect_log_extras below).

Only iterators made inside one of our commands (an engine moment is set: runtime, replay,
verify, what-if) switch to them: plain SpiffWorkflow in the same process, the benchmarks'
in-memory baseline, runs SpiffWorkflow's own code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from .determinism import _moment

_FINISHED_MASK = TaskState.FINISHED_MASK
_workflow_logger = logging.getLogger("spiff.workflow")  # SpiffWorkflow.workflow's module logger


def _simple_filter(task_filter) -> bool:
    """A filter on state, update time and `manual` only (what the fast walk tests inline)."""
    kind = type(task_filter)
    if kind is BpmnTaskFilter:
        if task_filter.catches_event is not None or task_filter.lane is not None:
            return False
    elif kind is not TaskFilter:
        return False
    return task_filter.spec_name is None and task_filter.spec_class is None


class FastTaskIterator(TaskIterator):
    """TaskIterator.__next__ + _next + _update_depth + _handle_leaf_depth (depth first)."""

    _simple = False

    def __next__(self):
        task_filter = self.task_filter
        simple = self._simple
        while True:
            task_list = self.task_list
            if not task_list:
                raise StopIteration()
            task = task_list.pop(0)
            children = task._children
            if (
                children
                and task._state >= self.min_state
                and self.depth < self.max_depth
                and task.task_spec.name != self.end_at_spec
            ):
                get = task.workflow.tasks.get
                self.task_list = [get(child) for child in children] + task_list
                self.depth += 1
            elif task_list:
                _leaf_depth(self, task, task_list)
            if simple:
                if (
                    task._state & task_filter.state
                    and task.last_state_change >= task_filter.updated_ts
                    and (task_filter.manual is None or task.task_spec.manual == task_filter.manual)
                ):
                    return task
            elif task_filter.matches(task):
                return task


class FastBpmnTaskIterator(BpmnTaskIterator):
    """BpmnTaskIterator's walk (it also descends into a task's running subprocess)."""

    _simple = False

    def __next__(self):
        task_filter = self.task_filter
        simple = self._simple
        while True:
            task_list = self.task_list
            if not task_list:
                raise StopIteration()
            task = task_list.pop(0)
            workflow = task.workflow
            subprocesses = workflow.top_workflow.subprocesses
            subprocess = subprocesses.get(task.id) if subprocesses else None
            children = task._children
            state = task._state
            if (
                (children or subprocess is not None)
                and (state >= self.min_state or subprocess is not None)
                and self.depth < self.max_depth
                and task.task_spec.name != self.end_at_spec
            ):
                get = workflow.tasks.get
                if (
                    subprocess is None
                    or self.skip_subprocesses
                    or (state >= _FINISHED_MASK and task_filter.state <= _FINISHED_MASK)
                ):
                    self.task_list = [get(child) for child in children] + task_list
                else:
                    self.task_list = [subprocess.task_tree] + [get(child) for child in children] + task_list
                self.depth += 1
            elif task_list:
                _leaf_depth(self, task, task_list)
            if simple:
                if (
                    task._state & task_filter.state
                    and task.last_state_change >= task_filter.updated_ts
                    and (task_filter.manual is None or task.task_spec.manual == task_filter.manual)
                ):
                    return task
            elif task_filter.matches(task):
                return task


def _leaf_depth(iterator, task, task_list: list) -> None:
    """TaskIterator._handle_leaf_depth, with Task.parent inlined (Task has no __eq__: `!=`
    there is identity)."""
    first = task_list[0]
    ancestor = first.workflow.tasks.get(first._parent)
    current = task.workflow.tasks.get(task._parent)
    while current is not None and current is not ancestor:
        current = current.workflow.tasks.get(current._parent)
        iterator.depth -= 1


_MAYBE, _FUTURE, _COMPLETED, _WAITING = TaskState.MAYBE, TaskState.FUTURE, TaskState.COMPLETED, TaskState.WAITING
_PREDICTED_MASK, _DEFINITE_MASK, _ANY_MASK = TaskState.PREDICTED_MASK, TaskState.DEFINITE_MASK, TaskState.ANY_MASK
_LIST_FILTERS = frozenset(("state", "manual", "spec_name", "updated_ts", "max_depth"))
_PLAIN_ITERATOR = BpmnBaseWorkflow.get_tasks_iterator


def bpmn_task_list(first, state=_ANY_MASK, updated_ts=0, manual=None, spec_name=None, max_depth=1000) -> list:
    """list(BpmnTaskIterator(first, ...)) (see _exact_list), by its shortcut where that holds."""
    found = _list_without_depths(first, state, updated_ts, manual, spec_name, max_depth)
    if found is None:
        found = _exact_list(first, state, updated_ts, manual, spec_name, max_depth)
    return found


def _list_without_depths(first, state, updated_ts, manual, spec_name, max_depth) -> list | None:
    """_exact_list's walk for a workflow without subprocesses, without its depth bookkeeping.
    The iterator's depth goes up by one at each task it descends into and down at some leaves;
    it only ever decides `depth < max_depth`. Here only the descents are counted: the depth is
    never above that count, so while the count is below max_depth every descent the iterator
    makes is made here too, and the leaves' ancestor walks (a task table lookup per level) can
    be left out. Once the count reaches max_depth (a tree that deep) it gives up: None, and
    the caller makes the list the exact way (nothing has been changed: the walk only reads)."""
    workflow = first.workflow
    if workflow.top_workflow.subprocesses:
        return None
    if state & _PREDICTED_MASK:
        min_state = _MAYBE
    elif state & _DEFINITE_MASK:
        min_state = _FUTURE
    else:
        min_state = _COMPLETED
    # The walk reaches `first` and tasks of this workflow's table only (no subprocesses): when
    # none of them passes the filter (each engine pass's last look for ready tasks), the list
    # is empty, found by one flat pass instead of the walk. When one of them passes (most
    # engine passes: the one ready task) and the walk reaches it, the list is that task; when
    # a few pass (two parallel branches' ready tasks, a join's tasks) and the walk reaches
    # each, the list is those in the walk's order (_path).
    get = workflow.tasks.get
    matches = []
    for task in (first, *workflow.tasks.values()) if get(first.id) is not first else workflow.tasks.values():
        spec = task.task_spec
        if (
            task._state & state
            and task.last_state_change >= updated_ts
            and (manual is None or spec.manual == manual)
            and (spec_name is None or spec.name == spec_name)
        ):
            if len(matches) == _FEW:
                break
            matches.append(task)
    else:
        if not matches:
            return []
        if max_depth >= _MAX_WALK:
            paths = [_path(match, first, min_state, get) for match in matches]
            if None not in paths:
                if len(matches) == 1:  # most engine passes: the one ready task
                    return matches
                return [matches[n] for n in sorted(range(len(matches)), key=paths.__getitem__)]
    found = []
    stack = [first]
    pop, extend = stack.pop, stack.extend
    descents = 0
    while stack:
        task = pop()
        children = task._children
        spec = task.task_spec
        if children and task._state >= min_state and spec.name is not None:
            if descents >= max_depth:
                return None
            extend(map(get, reversed(children)))
            descents += 1
        if (
            task._state & state
            and task.last_state_change >= updated_ts
            and (manual is None or spec.manual == manual)
            and (spec_name is None or spec.name == spec_name)
        ):
            found.append(task)
    return found


_FEW = 4  # matches put in the walk's order without the walk (_list_without_depths)


def _path(task, first, min_state: int, get) -> list[int] | None:
    """Where the walk from `first` meets `task` (a task of the same table, no subprocesses):
    the index of each ancestor's child on the way down from `first`. None where the walk does
    not reach it: reaching it needs every ancestor up to `first` to be one the walk descends
    into (its state at least min_state, a named spec) and to list it among its children, in
    fewer than _MAX_WALK levels, so neither the descent count nor the iterator's depth (below
    max_depth, which the caller holds at _MAX_WALK or more) can stop the walk above it. The
    walk lists a task before its descendants and a task's children in their order, so the
    tasks it reaches come in the order of these lists (a prefix first)."""
    path = []
    for _ in range(_MAX_WALK):
        if task is first:
            path.reverse()
            return path
        parent = get(task._parent)
        if parent is None or parent._state < min_state or parent.task_spec.name is None:
            return None
        try:
            path.append(parent._children.index(task.id))
        except ValueError:  # not among its parent's children
            return None
        task = parent
    return None


def _exact_list(first, state=_ANY_MASK, updated_ts=0, manual=None, spec_name=None, max_depth=1000) -> list:
    """list(BpmnTaskIterator(first, state=..., updated_ts=..., manual=..., spec_name=...,
    max_depth=...)) with its other arguments at their defaults (no end spec, depth first, into
    subprocesses): FastBpmnTaskIterator's loop, run to its end in one call. The whole list is
    made before the caller sees any of it (what `get_tasks` does with the iterator), so there
    is no caller between two steps; the filter only reads. The list SpiffWorkflow walks from
    its front (popped at 0, children put before the rest) is kept here reversed, as a stack
    (popped at its end, children pushed after it): the same order, without moving the rest."""
    if state & _PREDICTED_MASK:  # TaskIterator.__init__'s min_state
        min_state = _MAYBE
    elif state & _DEFINITE_MASK:
        min_state = _FUTURE
    else:
        min_state = _COMPLETED
    into_finished = state <= _FINISHED_MASK
    found = []
    stack = [first]
    depth = 0
    while stack:
        task = stack.pop()
        workflow = task.workflow
        subprocesses = workflow.top_workflow.subprocesses
        subprocess = subprocesses.get(task.id) if subprocesses else None
        children = task._children
        task_state = task._state
        spec = task.task_spec
        if (
            (children or subprocess is not None)
            and (task_state >= min_state or subprocess is not None)
            and depth < max_depth
            and spec.name is not None  # `!= end_at_spec` (None); names are strings
        ):
            get = workflow.tasks.get
            stack.extend([get(child) for child in reversed(children)])
            if subprocess is not None and not (task_state >= _FINISHED_MASK and into_finished):
                stack.append(subprocess.task_tree)
            depth += 1
        elif stack:
            # TaskIterator._handle_leaf_depth (as _leaf_depth), the next task at the top
            following = stack[-1]
            ancestor = following.workflow.tasks.get(following._parent)
            current = workflow.tasks.get(task._parent)
            while current is not None and current is not ancestor:
                current = current.workflow.tasks.get(current._parent)
                depth -= 1
        if (
            task._state & state
            and task.last_state_change >= updated_ts
            and (manual is None or spec.manual == manual)
            and (spec_name is None or spec.name == spec_name)
        ):
            found.append(task)
    return found


_FAST = {TaskIterator: FastTaskIterator, BpmnTaskIterator: FastBpmnTaskIterator, "lists": True}
_OFF: dict = {}
_switch = _FAST


@contextmanager
def plain_walks() -> Iterator[None]:
    """SpiffWorkflow's own iterators everywhere meanwhile (tests compare the two walks)."""
    global _switch
    previous, _switch = _switch, _OFF
    try:
        yield
    finally:
        _switch = previous


def install() -> None:
    if getattr(TaskIterator, "_fast_walk_installed", False):
        return
    plain_init = TaskIterator.__init__

    def __init__(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        fast = _switch.get(type(self))
        if fast is not None and self.depth_first and _moment.get() is not None:
            self.__class__ = fast
            self._simple = _simple_filter(self.task_filter)

    TaskIterator.__init__ = __init__
    TaskIterator._fast_walk_installed = True

    plain_get_tasks = Workflow.get_tasks  # BpmnBaseWorkflow's too (it also is called as Workflow.get_tasks)

    def get_tasks(self, first_task=None, **kwargs):
        # Workflow.get_tasks is list(self.get_tasks_iterator(first_task, **kwargs)): in our
        # commands, for the filters the engine passes (a state, `manual`, a spec name: each
        # engine pass's ready tasks, a parallel gateway's siblings), the same list in one loop
        # without an iterator object and a call per task (bpmn_task_list).
        if (
            _moment.get() is not None
            and "lists" in _switch
            and _LIST_FILTERS.issuperset(kwargs)
            and type(self).get_tasks_iterator is _PLAIN_ITERATOR
        ):
            return bpmn_task_list(first_task or self.task_tree, **kwargs)
        return plain_get_tasks(self, first_task, **kwargs)

    Workflow.get_tasks = get_tasks

    plain_update_waiting = Workflow.update_waiting_tasks

    def update_waiting_tasks(self):
        # After every task completion SpiffWorkflow walks the workflow's tree for WAITING
        # tasks (a TaskIterator, lazily: each one's _update may change the tree). When no
        # task of the workflow is WAITING that walk matches nothing and changes nothing (it
        # only reaches tasks of this workflow's table): in our commands one flat pass over
        # the table finds that out first.
        if _moment.get() is not None and "lists" in _switch:
            for task in self.tasks.values():
                if task._state & _WAITING:
                    break
            else:
                return
        plain_update_waiting(self)

    Workflow.update_waiting_tasks = update_waiting_tasks

    plain_extras = Workflow.collect_log_extras

    def collect_log_extras(self, dct=None):
        # SpiffWorkflow builds these extras for its INFO records 'Initialized workflow',
        # 'Workflow completed' and 'Workflow cancelled' (their only users), and adds a list
        # of every task id, a whole walk of the tree, whenever its logger's own level is
        # unset (`logger.level < 20`), even with the record never written. In our commands,
        # with that logger off for INFO, the walk is left out; the rest is as SpiffWorkflow's.
        if _moment.get() is None or _workflow_logger.isEnabledFor(logging.INFO):
            return plain_extras(self, dct)
        extra = dct or {}
        extra.update({
            "workflow_spec": self.spec.name,
            "success": self.success,
            "completed": self.completed,
            "root": self.task_tree.id,
        })
        return extra

    Workflow.collect_log_extras = collect_log_extras

    plain_threshold = ParallelGateway._check_threshold_unstructured

    def _check_threshold_unstructured(self, my_task):
        # A parallel gateway's join asks, for each task of its spec, whether that task lies
        # under my_task and whether my_task lies under it: SpiffWorkflow's is_descendant_of
        # recurses to the root through the `parent` property (a task-table lookup with
        # uuid hashing, two or three per level), twice per task, on every update of the
        # join (~0.15 ms a bench case). In our commands: my_task's ancestors collected once,
        # each other task's walked up by its table ids, the same answers in the same order.
        if _moment.get() is None or "lists" not in _switch:
            return plain_threshold(self, my_task)
        return _threshold_reached(self, my_task, plain_threshold)

    ParallelGateway._check_threshold_unstructured = _check_threshold_unstructured


# Deeper than this, SpiffWorkflow's recursive is_descendant_of may end in a RecursionError: the
# fast check then hands the case to SpiffWorkflow's own code, which behaves as it always did.
_MAX_WALK = 200


def _ancestors(task) -> list | None:
    """task.parent, its parent, ... up to the root (as Task.is_descendant_of follows them),
    or None past _MAX_WALK levels."""
    found = []
    while True:
        parent = task.workflow.tasks.get(task._parent)
        if parent is None:
            return found
        found.append(parent)
        if len(found) > _MAX_WALK:
            return None
        task = parent


def _is_descendant(task, ancestor) -> bool | None:
    """task.is_descendant_of(ancestor) (None: deeper than _MAX_WALK)."""
    for _ in range(_MAX_WALK + 1):
        parent = task.workflow.tasks.get(task._parent)
        if parent is None:
            return False
        if parent is ancestor:  # Task has no __eq__: SpiffWorkflow's == is identity
            return True
        task = parent
    return None


def _threshold_reached(spec, my_task, plain_threshold) -> bool:
    """ParallelGateway._check_threshold_unstructured (SpiffWorkflow 3.2), step for step."""
    tasks = my_task.workflow.get_tasks(spec_name=spec.name)
    mine = _ancestors(my_task)
    if mine is None:
        return plain_threshold(spec, my_task)
    under = set(mine)  # Task objects hash by identity
    waiting_inputs = set(spec.inputs)
    for task in tasks:
        below = _is_descendant(task, my_task)
        if below is None:
            return plain_threshold(spec, my_task)  # (it only reads: starting over is exact)
        if below:
            # remove_ancestor: the first of task, its parent, ... whose spec is still awaited
            current = task
            while current is not None:
                if current.task_spec in waiting_inputs:
                    waiting_inputs.remove(current.task_spec)
                    break
                current = current.parent
        elif task in under:
            continue
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


install()

