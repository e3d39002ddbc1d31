"""Workflow state <-> JSON, with the process spec kept out of every instance's snapshot."""

from __future__ import annotations

import hashlib
import json
import logging
from contextvars import ContextVar
from functools import partial
from itertools import islice

import orjson
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnSubWorkflowConverter, BpmnWorkflowConverter
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from .determinism import current_moment
from .parser import DeferredServiceTask, PayloadMessageEventDefinition

_task_logger = logging.getLogger("spiff.task")  # SpiffWorkflow.task's module logger
_INFO, _DEBUG = logging.INFO, logging.DEBUG


def _workflow_dict(converter, workflow) -> dict:
    """SpiffWorkflow's WorkflowConverter.to_dict, field for field, except that during an
    incremental dump the tasks come ready-made as JSON (see _tasks_json)."""
    registry = converter.registry
    token = _assembling.get()
    if token is None:
        tasks = converter.mapping_to_dict(workflow.tasks)
    elif workflow is token.top:
        token.entries = _task_entries(workflow, token)
        tasks = _MARKER  # where the pieces are cut (see dump_pieces)
    else:
        tasks = orjson.Fragment(b"{" + b",".join(_task_entries(workflow, token)) + b"}")
    texts = _table(workflow, _ID_TEXTS)  # str() of task ids, kept (see _id_text)
    last_task = workflow.last_task
    return {
        "data": _data_of(registry, workflow.data, token),
        "correlations": workflow.correlations,
        "last_task": (texts.get(last_task.id) or _id_text(texts, last_task.id)) if last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": tasks,
        "root": texts.get(workflow.task_tree.id) or _id_text(texts, workflow.task_tree.id),
    }


def _data_of(registry, data, token):
    """The workflow's data as the converter gives it (registry.clean, then convert; a dump
    sorts its keys after). In an incremental dump, data of plain JSON values (_plain: which
    both calls leave as they are) goes in as its sorted JSON text at once, without the
    registry's walk over it and _canonical_task_data's copy (orjson sorts str keys in
    code point order as sorted() does); the full dump keeps the converter's way."""
    if token is not None and type(data) is dict:
        if _plain(data) is data:
            try:
                return orjson.Fragment(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
            except TypeError:  # an int out of orjson's range, say: the converter's way
                pass
    return registry.convert(registry.clean(data))



class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """The spec is stored once per definition version, not in each snapshot."""

    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
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


class _SubWorkflowConverter(BpmnSubWorkflowConverter):
    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct


class _Assembly:
    """One incremental dump: its top workflow and that workflow's task entries (JSON); a
    parent's data JSON is made once per dump and tagged with this object."""

    __slots__ = ("top", "entries", "data_json")

    def __init__(self, top) -> None:
        self.top, self.entries, self.data_json = top, [], {}


_assembling: ContextVar[_Assembly | None] = ContextVar("snapshot_assembling", default=None)
# orjson writes a Fragment as it is; JSON text never holds a raw NUL byte elsewhere (strings
# escape it), so the one NUL in a dump is where the top-level task table goes.
_MARKER = orjson.Fragment(b"\x00")
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
# What a dump keeps between commands lives in tables on the live workflow object, keyed by
# Task object, never as attributes of the tasks: an attribute added to some Task objects
# ends the key sharing of their __dict__s and slows every SpiffWorkflow walk over the tree
# by about a quarter (0.45 ms a step at 1,000 tasks, measured: docs/benchmarks.md growth).
_ENTRIES = "_snapshot_entries"  # task -> its finished JSON entry and what it was made from
_CHILD_TEXTS = "_snapshot_child_texts"  # task -> str() of its children ids (a long list)
_ID_TEXTS = "_snapshot_id_texts"  # task id (UUID) -> str() of it


def _table(workflow, name: str) -> dict:
    table = workflow.__dict__.get(name)
    if table is None:
        table = workflow.__dict__[name] = {}
    return table


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[DeferredServiceTask] = ServiceTaskConverter
    config[PayloadMessageEventDefinition] = MessageEventDefinitionConverter
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    config[BpmnSubWorkflow] = _SubWorkflowConverter
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    registry = serializer.registry
    typename = registry.typenames[Task]
    registry.convert_to_dict[typename] = partial(_task_to_dict, registry.convert_to_dict[typename])
    return serializer


def _task_to_dict(convert, task: Task) -> dict:
    """SpiffWorkflow's task conversion with the task's data in canonical key order."""
    dct = convert(task)
    _canonical_task(dct)
    return dct


def _data_json(task: Task, token: _Assembly) -> bytes | None:
    """The task's data as sorted JSON, made once per dump (None: not JSON data)."""
    made = token.data_json
    if task in made:
        return made[task]
    try:
        value = orjson.dumps(task.data, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        value = None
    made[task] = value
    return value


_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


def _plain(value):
    """registry.convert(value) where that is value itself (scalars, and lists and dicts of
    them: a multi-instance task's `merged` list grows by one id per step); anything else
    goes through the registry."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        if _SCALAR_TYPES.issuperset(map(type, value)):  # one C-level pass over a long list
            return value
        return _serializer.registry.convert(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and _plain(item) is not item):
                return _serializer.registry.convert(value)
        return value
    return _serializer.registry.convert(value)


def _id_text(texts: dict, task_id) -> str:
    """str() of a task id, kept in `texts` (the workflow's _ID_TEXTS): uuid.UUID.__str__ is
    Python code that formats the number again on every call, and a dump names each task,
    its parent and its children (about a twentieth of a replay's verification)."""
    text = texts[task_id] = str(task_id)
    return text


def id_text(task: Task) -> str:
    """str(task.id), kept in its workflow's _ID_TEXTS (the projection's scans key the ready
    user tasks by it twice a step; uuid.UUID.__str__ formats the number again each call)."""
    texts = _table(task.workflow, _ID_TEXTS)
    return texts.get(task.id) or _id_text(texts, task.id)


def _child_ids(task: Task) -> list[str]:
    """str() of the task's children ids, kept on the task while its children only grow
    (a multi-instance task gains one child per step)."""
    children = task._children
    if len(children) <= 8:
        texts = _table(task.workflow, _ID_TEXTS)
        return [texts.get(child) or _id_text(texts, child) for child in children]
    table = _table(task.workflow, _CHILD_TEXTS)
    kept = table.get(task)
    if kept is not None:
        ids, texts = kept
        if len(ids) <= len(children) and children[: len(ids)] == ids:
            if len(ids) < len(children):
                texts = texts + [str(child) for child in children[len(ids):]]
                table[task] = (list(children), texts)
            return texts
    texts = [str(child) for child in children]
    table[task] = (list(children), texts)
    return texts


def _task_dict(task: Task) -> dict:
    """What the registry's Task conversion (SpiffWorkflow's TaskConverter.to_dict, then
    _canonical_task, then its typename) makes of the task, key for key, built without the
    registry's per-value dispatch (tests compare every command's result with the full dump).
    The parent is looked up as Task.parent does, the delta's two lists are DeepMerge's
    get_updated_keys / get_deleted_keys written out (this runs for every task a dump renders)."""
    workflow = task.workflow
    texts = workflow.__dict__.get(_ID_TEXTS)
    if texts is None:
        texts = _table(workflow, _ID_TEXTS)
    parent_id = task._parent
    parent = workflow.tasks.get(parent_id)
    own = task.data
    if parent is None:
        data = _sorted(own or {})
        delta = {}
    else:
        data = {}
        theirs = parent.data
        updates = {key: own[key] for key in own if key not in theirs or own[key] != theirs[key]}
        deletions = [key for key in theirs if key not in own]
        delta = {
            "updates": _sorted(updates) if updates else {},
            "deletions": sorted(deletions) if deletions else [],
        }
    task_id = task.id
    children = task._children
    return {
        "id": texts.get(task_id) or _id_text(texts, task_id),
        "parent": (texts.get(parent_id) or _id_text(texts, parent_id)) if parent is not None else None,
        "children": [texts.get(child) or _id_text(texts, child) for child in children] if len(children) <= 8
        else _child_ids(task),
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": _plain(task.internal_data),
        "data": data,
        "delta": delta,
        "typename": _TASK_TYPENAME,
    }


def _task_entries(workflow, token: _Assembly) -> list[bytes]:
    """The entries `"id":{...}` of `workflow.tasks` as mapping_to_dict + orjson would write
    them, in the table's order. After the workflow's first dump only what may have changed
    is looked at (_changed_entries); the first dump, and one after a task was removed,
    passes over every task (_all_entries)."""
    layout = workflow.__dict__.get(_LAYOUT)
    if layout is not None and not layout.reshaped and workflow.spec is layout.spec:
        entries = _changed_entries(workflow, token, layout)
        if entries is not None:
            return entries
    return _all_entries(workflow, token)


class _Layout:
    """The last incremental dump of one workflow's task table: its tasks in order, their
    entries, which tasks are rendered again on every dump (`live`: not finished, or their
    entry depends on data that may still change), the unfinished-at-the-time parents whose
    data a kept entry's delta was taken against (`watched`: parent -> that data's JSON),
    and the tasks SpiffWorkflow changed since (`noted`, filled by the hooks below)."""

    __slots__ = ("spec", "order", "position", "entries", "live", "watched", "noted", "reshaped", "changed")

    def __init__(self, workflow) -> None:
        self.spec = workflow.spec
        self.order: list[Task] = []
        self.position: dict[Task, int] = {}
        self.entries: list[bytes] = []
        self.live: set[Task] = set()
        self.watched: dict[Task, bytes] = {}
        self.noted: set[Task] = set()
        self.reshaped = False
        self.changed: set[int] | None = None  # positions whose entry changed at the last dump (None: all)


_LAYOUT = "_snapshot_layout"


def _entry_of(task: Task, token: _Assembly, kept_entries: dict, layout: _Layout) -> bytes:
    """One task's entry: the kept one while it is still what SpiffWorkflow's converter makes
    (a COMPLETED or CANCELLED task no longer changes its state or data: diagram scripts run
    in sandbox processes and hand back new objects, so nothing mutates a finished task's
    data in place; it may still gain children, an event subprocess that fires hangs under
    the process's finished start task, and its delta is taken against its parent's data,
    which an unfinished parent, a multi-instance or loop task collecting results, may
    change: all of that is compared), else a new one."""
    state = task._state
    if state & _FINISHED:
        kept = kept_entries.get(task)
        if (
            kept is not None
            and kept[0] == state
            and kept[1] == task.last_state_change
            and kept[2] == task.triggered
            and kept[3] == task._children
        ):
            parent = kept[4]
            if parent is None:
                layout.live.discard(task)
                return kept[6]
            parent_json = _data_json(parent, token)
            if kept[5] == parent_json:
                layout.live.discard(task)
                layout.watched[parent] = parent_json
                return kept[6]
        entry = _rendered(task)
        parent = task.parent
        if parent is None or parent._state & _FINISHED:
            kept_entries[task] = (state, task.last_state_change, task.triggered, list(task._children), None, None, entry)
            layout.live.discard(task)
        elif (parent_json := _data_json(parent, token)) is not None:
            kept_entries[task] = (state, task.last_state_change, task.triggered, list(task._children), parent,
                                  parent_json, entry)
            layout.live.discard(task)
            layout.watched[parent] = parent_json
        else:
            layout.live.add(task)
        return entry
    layout.live.add(task)
    return _rendered(task)


def _rendered(task: Task) -> bytes:
    """The task's entry `"id":{...}` in the task table's JSON."""
    dct = _task_dict(task)
    return b'"' + dct["id"].encode() + b'":' + orjson.dumps(dct)


def _all_entries(workflow, token: _Assembly) -> list[bytes]:
    """Every task's entry, one flat pass over the table (no tree walk, no id hashing): kept
    entries where they still hold (_entry_of), and a new layout for the next dumps."""
    kept_entries = _table(workflow, _ENTRIES)
    layout = _Layout(workflow)
    order = list(workflow.tasks.values())
    entries = [_entry_of(task, token, kept_entries, layout) for task in order]
    layout.order, layout.entries = order, entries
    layout.position = {task: n for n, task in enumerate(order)}
    workflow.__dict__[_LAYOUT] = layout
    return entries


def _changed_entries(workflow, token: _Assembly, layout: _Layout) -> list[bytes] | None:
    """The entries after the last dump's, looking only at the tasks that may have changed:
    the ones SpiffWorkflow changed since (their state, their children: the hooks below note
    them), the ones added since (a task enters the table at its end), the live ones, and
    the children of a watched parent whose data changed. None: the table is not as the
    layout has it (then every task is looked at)."""
    tasks = workflow.tasks
    order, position, entries = layout.order, layout.position, layout.entries
    added = len(tasks) - len(order)
    if added < 0:
        return None
    look = layout.noted | layout.live
    layout.noted = set()
    for parent, parent_json in list(layout.watched.items()):
        if _data_json(parent, token) != parent_json:
            look.update(child for child in parent.children if child is not None)
    changed = set()
    if added:
        new = list(islice(reversed(tasks.values()), added))
        new.reverse()
        for task in new:
            if task in position:
                return None
            position[task] = len(order)
            changed.add(len(order))
            order.append(task)
            entries.append(b"")
            look.add(task)
    kept_entries = _table(workflow, _ENTRIES)
    for task in look:
        n = position.get(task)
        if n is None:
            if task.workflow is workflow and task.id in tasks:
                return None  # not where the layout expects it
            continue  # removed meanwhile (that sets reshaped) or another workflow's
        entry = _entry_of(task, token, kept_entries, layout)
        if entry != entries[n]:
            entries[n] = entry
            changed.add(n)
    if CHECK_FRAGMENTS and order != list(tasks.values()):
        raise SnapshotMismatch("the task table is not in the order the snapshot's layout kept")
    layout.changed = changed
    return entries


def _note(task: Task) -> None:
    """SpiffWorkflow changed this task's state or children: its entry is made again at the
    next dump (only workflows that were dumped incrementally keep a layout)."""
    layout = task.workflow.__dict__.get(_LAYOUT)
    if layout is not None:
        layout.noted.add(task)


def _install_change_hooks() -> None:
    """Wrap the few SpiffWorkflow methods through which a task's state, children or parent
    change, and the one that removes tasks, so that a dump knows what changed without
    passing over every task. The suite compares every incremental dump with a full one
    (CHECK_FRAGMENTS), which is what holds these hooks to what SpiffWorkflow does."""
    if getattr(Task, "_snapshot_hooks", False):
        return
    set_state, child_added, remove_task = Task._set_state, Task._child_added_notify, Workflow._remove_task
    moment_of, enabled = current_moment, _task_logger.isEnabledFor

    def _set_state(self, value):
        # Inside one of our commands (an engine moment is set: runtime, replay, what-if,
        # migration) and with the 'spiff.task' logger off for the level SpiffWorkflow would
        # log at, do what Task._set_state does without building its log record's extras
        # (a dict of eight fields and a state name per state change, ~35 a case, thrown
        # away by the disabled logger). Anywhere else, plain SpiffWorkflow runs unchanged.
        moment = moment_of()
        if moment is not None and not enabled(_INFO if value != self._state else _DEBUG):
            if value != self._state:
                self.last_state_change = moment.stamp  # what time.time() reads in a moment
                self._state = value
        else:
            set_state(self, value)
        # _note, inlined: this runs on every state change, the baseline's too
        layout = self.workflow.__dict__.get(_LAYOUT)
        if layout is not None:
            layout.noted.add(self)

    def _child_added_notify(self, child):
        child_added(self, child)
        layout = self.workflow.__dict__.get(_LAYOUT)
        if layout is not None:
            layout.noted.add(self)

    def _remove_task(self, task_id):
        layout = self.__dict__.get(_LAYOUT)
        if layout is not None:
            layout.reshaped = True
        remove_task(self, task_id)

    def _set_children(self, tasks):
        self._children = [child.id for child in tasks]
        _note(self)

    def _set_parent(self, task):
        self._parent = task.id if task is not None else None
        _note(self)

    Task._set_state = _set_state
    Task._child_added_notify = _child_added_notify
    Task.children = Task.children.setter(_set_children)
    Task.parent = Task.parent.setter(_set_parent)
    Workflow._remove_task = _remove_task
    Task._snapshot_hooks = True


_install_change_hooks()


def forget(workflow) -> None:
    """Drop what the dumps kept for this workflow (after a change the hooks do not see: a
    migration to another version's spec)."""
    for wf in (workflow, *workflow.subprocesses.values()):
        for name in (_LAYOUT, _ENTRIES, _CHILD_TEXTS, _ID_TEXTS):
            wf.__dict__.pop(name, None)


_serializer = _build_serializer()
_TASK_TYPENAME = _serializer.registry.typenames[Task]


def canonical_json(value: object) -> str:
    """The one JSON text form used for hashing and for snapshots: json.dumps(value,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False). Values of plain JSON types
    without floats (_orjson_safe) go through orjson, which writes those byte for byte as
    json.dumps does (keys sorted in code point order, the same escapes; tests compare the
    two) in a fraction of the time: every command canonicalizes its input and its history
    event. Anything else (floats, whose text differs, non-str keys, other types, whose
    errors must stay json's, or what orjson refuses: big ints, lone surrogates) takes
    json.dumps itself."""
    if _orjson_safe(value, 0):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an int beyond 64 bits, a lone surrogate: json's way below
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_copy(value: object) -> tuple[str, object]:
    """canonical_json(value) and json.loads of that text (the value as JSON reads it back)."""
    text, read_back, _ = canonical_copy_fixed(value)
    return text, read_back


def canonical_copy_fixed(value: object) -> tuple[str, object, bool]:
    """canonical_copy(value), and whether its text is also canonical_json of the read-back
    (True when orjson wrote it: the read-back holds the same str/int/bool/None in dicts
    with str keys, sorted already, and lists, so it writes the same text again; json's way
    may not: int keys sort as numbers, then come back as strings sorted as strings)."""
    if _orjson_safe(value, 0):
        try:
            text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
        else:
            # plain str/int/bool/None in dicts and lists: orjson reads back what json would
            return text.decode(), orjson.loads(text), True
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, json.loads(text), False


_ORJSON_SCALARS = frozenset((str, int, bool, type(None)))
_ORJSON_DEPTH = 100  # deeper values take json's way (orjson stops at 255 levels)


def _orjson_safe(value: object, depth: int) -> bool:
    """Whether value holds only exact str, int, bool, None, dict with str keys, list and
    tuple, at most _ORJSON_DEPTH levels deep (no float: its text differs between the two)."""
    kind = type(value)
    if kind in _ORJSON_SCALARS:
        return True
    if depth >= _ORJSON_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _ORJSON_SCALARS and not _orjson_safe(item, depth + 1)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in _ORJSON_SCALARS and not _orjson_safe(item, depth + 1):
                return False
        return True
    return False


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
    token = _assembling.set(None)
    try:
        dct = _serializer.to_dict(workflow)
    finally:
        _assembling.reset(token)
    _canonical_task_data(dct)
    # orjson: the same compact UTF-8 JSON as json.dumps(separators=(",", ":")), about ten
    # times faster; snapshots are written on every command.
    return orjson.dumps(dct).decode()


PIECE_TASKS = 16  # task entries per stored piece (and per digest of a form-2 state hash)
_PIECES = "_snapshot_pieces"  # on the live workflow: the pieces of its latest dump
_DIGESTS = "_snapshot_piece_digests"  # ... and their sha256, for the next state hash


def dump_pieces(workflow: BpmnWorkflow) -> list[bytes]:
    """The text of dump(workflow), byte for byte (UTF-8), cut into pieces: up to and
    including the `{` that opens the top-level task table; then the task entries, PIECE_TASKS
    to a piece (a later piece starts with the comma between entries); then from the table's
    closing `}` to the end. Made from the finished tasks' JSON kept with this workflow
    object: a command re-serializes only the tasks that can still change, not the case's
    whole history (tests/test_snapshot_fragments.py holds it to dump's bytes; so does every
    command of the suite, CHECK_FRAGMENTS)."""
    assembly = _Assembly(workflow)
    token = _assembling.set(assembly)
    try:
        dct = _serializer.to_dict(workflow)
    finally:
        _assembling.reset(token)
    _canonical_task_data(dct)
    head, tail = orjson.dumps(dct).split(b"\x00")
    entries = assembly.entries
    # The groups of entries that did not change keep their piece from the last dump (the
    # same bytes object: the state hash and the store pass over it by identity).
    previous = workflow.__dict__.get(_PIECES)
    layout = workflow.__dict__.get(_LAYOUT)
    changed = layout.changed if layout is not None and previous is not None else None
    if changed is not None:
        changed = {n // PIECE_TASKS for n in changed}
        kept_groups = len(previous) - 2
    pieces = [head + b"{"]
    for group, start in enumerate(range(0, len(entries), PIECE_TASKS)):
        if changed is not None and group < kept_groups and group not in changed:
            pieces.append(previous[group + 1])
            continue
        chunk = b",".join(entries[start : start + PIECE_TASKS])
        pieces.append(b"," + chunk if start else chunk)
    pieces.append(b"}" + tail)
    if CHECK_FRAGMENTS and b"".join(pieces).decode() != dump(workflow):
        raise SnapshotMismatch("the snapshot assembled from cached task fragments differs from a full dump")
    workflow.__dict__[_PIECES] = pieces
    return pieces


def dump_incremental(workflow: BpmnWorkflow) -> str:
    """The same text as dump(workflow), assembled as dump_pieces does."""
    return b"".join(dump_pieces(workflow)).decode()


def last_pieces(workflow: BpmnWorkflow) -> list[bytes]:
    """The pieces of the workflow's latest dump_pieces (what a command stores)."""
    return workflow.__dict__[_PIECES]


# The form of the state hash that new instances record with each event (instances keep the
# form they started with: instances.state_hash_form). docs/history.md describes both.
STATE_HASH_FORM = 2


def state_hash_of(workflow: BpmnWorkflow, form: int) -> str:
    """The state hash of the workflow as it stands, in the instance's form (the one function
    behind every event's state_hash, live and in replay). Form 1: sha256 of the whole
    snapshot text. Form 2: sha256 of the pieces' sha256 hex digests, each followed by a
    newline, in order (dump_pieces says where the text is cut): a command hashes the pieces
    that changed, not the case's whole history."""
    pieces = dump_pieces(workflow)
    if form == 1:
        return hashlib.sha256(b"".join(pieces)).hexdigest()
    if form != 2:
        raise ValueError(f"unknown state hash form {form}")
    kept = workflow.__dict__.get(_DIGESTS) or []
    digests = [
        kept[n] if n < len(kept) and (kept[n][0] is piece or kept[n][0] == piece)
        else (piece, hashlib.sha256(piece).hexdigest())
        for n, piece in enumerate(pieces)
    ]
    workflow.__dict__[_DIGESTS] = digests
    return hashlib.sha256("".join(digest + "\n" for _, digest in digests).encode()).hexdigest()


class SnapshotMismatch(AssertionError):
    pass


# The tests set this: every incremental dump is then compared with a full one.
CHECK_FRAGMENTS = False


def load(snapshot: str, spec, subprocess_specs: dict) -> BpmnWorkflow:
    dct = json.loads(snapshot)
    workflow = _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    _rewire_triggered(workflow)
    _share_ids(workflow)
    return workflow


def _share_ids(workflow: BpmnWorkflow) -> None:
    """Make every reference to a task id the one UUID object that keys the task table.
    SpiffWorkflow's converter makes a new UUID for a task's id, its parent's and each child's,
    so each of its lookups `tasks.get(task._parent)` finds an equal but different object
    and compares the two in Python (uuid.UUID.__eq__): a restored case of 1,000 tasks spent
    thousands of such calls in each walk over its tree, a live one none."""
    same = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        same.update((task_id, task_id) for task_id in wf.tasks)
    for wf in (workflow, *workflow.subprocesses.values()):
        for task_id, task in wf.tasks.items():
            task.id = task_id
            if task._parent is not None:
                task._parent = same.get(task._parent, task._parent)
            task._children = [same.get(child, child) for child in task._children]
        owner = getattr(wf, "parent_task_id", None)
        if owner is not None:
            wf.parent_task_id = same.get(owner, owner)


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

