"""Rebuild an instance from its definition version and its events; verify the record.

Verification recomputes the hash chain, re-runs every event on a fresh workflow with the
clock and task ids controlled, compares the state after each event with the state hash the
event recorded, and finally compares the result with the stored snapshot. It names the
first event that does not hold.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from ..extensions import db
from ..models import Definition, Instance
from ..snapshot_reads import begin_one_snapshot
from . import attachments, clock, definitions, history, plain_sql, runtime, serialization, snapshots, start_trees, steps
from .determinism import EngineMoment, engine_moment, instance_namespace
from .determinism import _moment as _moment_var
from .errors import EngineError, NotFound
from .projection import case_data
from .runtime import new_workflow


@dataclass
class ReplayState:
    upto: int
    workflow: object
    snapshot: str
    id_counter: int
    events: list = field(default_factory=list)
    state_hash_form: int = 1  # the instance's (serialization.state_hash_of)


_INSTANCES = Instance.__table__
_CASE_COLUMNS = (_INSTANCES.c.id, _INSTANCES.c.definition_id, _INSTANCES.c.started_at, _INSTANCES.c.last_seq,
                 _INSTANCES.c.last_hash, _INSTANCES.c.state_hash_form, _INSTANCES.c.snapshot_pieces)
_CASE_QUERY = db.select(*_CASE_COLUMNS).where(_INSTANCES.c.id == db.bindparam("id"))
_CASE = plain_sql.Statement(_CASE_QUERY)
_CASE_WITH_SNAPSHOT = plain_sql.Statement(_CASE_QUERY.add_columns(_INSTANCES.c.snapshot))
CaseRow = namedtuple("CaseRow", [column.key for column in _CASE_COLUMNS] + ["snapshot"], defaults=[None])


def _instance(instance_id: int, *, snapshot: bool = False) -> CaseRow:
    """The instance's columns replay reads, as a plain row (one query on the session's
    driver cursor, plain_sql: replay and verify run for thousands of cases a second, and the
    ORM object, or SQLAlchemy's own execution, cost more than the work on it)."""
    db.session.flush()  # what the session holds is what is verified
    row = plain_sql.fetch_one(db.session, _CASE_WITH_SNAPSHOT if snapshot else _CASE, {"id": instance_id})
    if row is None:
        raise NotFound(f"no instance {instance_id}")
    return CaseRow._make(row) if snapshot else CaseRow(*row)


def started_definition_id(instance, events: list) -> int:
    """The version the instance started on, as its first event recorded it (an instance
    migrated later names its new version on the row, its old one here)."""
    if events and events[0].type == "instance_started":
        recorded = json.loads(events[0].payload).get("definition") or {}
        if "id" in recorded:
            return int(recorded["id"])
    return instance.definition_id


def _fresh(instance, events: list, *, shared: bool = False):
    """The workflow as it was created, before the first event; returns (workflow, id_counter).
    `shared`: on this thread's shared spec of the version where that is safe (_shared_specs)."""
    at = clock.from_iso(events[0].at) if events else instance.started_at
    definition = definitions.info(started_definition_id(instance, events))
    specs = _shared_specs(definition) if shared else None
    if specs is None:
        with engine_moment(at, instance.id, 0) as moment:
            workflow = new_workflow(definition)
        return workflow, moment.id_counter
    tree = _start_tree(definition, specs)
    if tree is None or start_trees.CHECK:
        with engine_moment(at, instance.id, 0) as moment:
            workflow = BpmnWorkflow(*specs, script_engine=runtime._script_engine)
        counter = moment.id_counter
    if tree is not None:
        copied, copied_counter = start_trees.copy_of(tree, at, instance.id)
        if start_trees.CHECK:
            start_trees.check(copied, copied_counter, workflow, counter)
        workflow, counter = copied, copied_counter
    workflow.__dict__[_ON_SHARED] = True
    return workflow, counter


def _start_tree(definition, specs: tuple) -> start_trees.StartTree | None:
    """This thread's start tree of the version on its shared spec (engine/start_trees.py),
    made with the spec: a spec made again (the version redeployed, its cache dropped) gets
    a tree of its own."""
    cache = _shared.__dict__.setdefault("trees", {})
    key = (definition.id, definition.content_hash)
    found = cache.get(key)
    if found is not None and found[0] is specs[0]:
        return found[1]
    if len(cache) >= 64:
        cache.clear()
    tree = start_trees.template(*specs, runtime._script_engine)
    cache[key] = (specs[0], tree)
    return tree


# A replay's own copy of the spec cost a third of setting up a case (unpickling 6 KB of spec
# objects for the 8-step process: ~0.4 ms against ~1.2 ms for its five events). SpiffWorkflow
# 3.2 writes a spec while it runs only to connect what was left unconnected (found by reading
# its spec methods that write the spec, then by the check below over the whole suite): an event
# subprocess or a collaboration's participant when it fires (BpmnStartTask.trigger_wf; a
# restored spec keeps them as task specs without inputs), an ad hoc process's conditional path
# (BpmnProcessSpec.add_path), a loop or multi-instance task's merge callback. A version with
# none of those (_shareable) is not written by running it, so replay and verify run every case
# of it on one spec per thread (not across threads: a gunicorn worker may verify on several).
# With CHECK_SHARED_SPECS (the tests) every case that ran on a shared spec checks that it still
# pickles as a fresh copy does; and a verification that fails on a shared spec is done again
# on a copy of its own before anything is reported, so sharing can never name a bad event.
_shared = threading.local()
_ON_SHARED = "_replay_on_shared_spec"  # on a workflow made on a shared spec
CHECK_SHARED_SPECS = False


class SharedSpecChanged(AssertionError):
    pass


def _shared_specs(definition) -> tuple | None:
    """This thread's (spec, subprocess_specs) of the version, None where it is not shareable."""
    cache = _shared.__dict__.setdefault("specs", {})
    key = (definition.id, definition.content_hash)
    frozen = definitions._spec_cache.get(key)
    found = cache.get(key)
    if found is not None and frozen is not None and found[0] is frozen:
        return found[1]
    specs = definitions.spec_for(definition)  # a copy of our own (parsed first if it was not)
    if len(cache) >= 64:
        cache.clear()
    cache[key] = (definitions._spec_cache.get(key), specs if _shareable(*specs) else None)
    return cache[key][1]


def _shareable(spec, subprocess_specs: dict) -> bool:
    """No part of the version that running it may connect: an unconnected task spec (an
    event subprocess waits so until it fires; a restored start task no longer lists it in
    trigger_specs), an ad hoc process's conditional paths, a loop or multi-instance task."""
    for process in (spec, *subprocess_specs.values()):
        if getattr(process.start, "trigger_specs", None) or getattr(process, "conditional_paths", None):
            return False
        for task_spec in process.task_specs.values():
            if hasattr(task_spec, "merge_child") or (not task_spec._inputs and task_spec is not process.start):
                return False
    return True


def _may_share(events: list) -> bool:
    """A case that moved to another version runs on that version's spec from then on
    (steps._migrated): it keeps copies of its own."""
    return not any(event.type == "instance_migrated" for event in events)


def _check_shared(instance, events: list, workflow) -> None:
    """Tests: the shared spec a case ran on is still what it was made from (pickled again, as a
    copy just unpickled from those bytes pickles: a pickle of restored objects is not byte for
    byte the pickle of their copy)."""
    if not workflow.__dict__.get(_ON_SHARED):
        return
    definition = definitions.info(started_definition_id(instance, events))
    frozen = definitions._spec_cache.get((definition.id, definition.content_hash))
    if frozen is None:
        return
    as_made = pickle.dumps(pickle.loads(frozen), protocol=pickle.HIGHEST_PROTOCOL)  # noqa: S301 - our own bytes
    if pickle.dumps((workflow.spec, workflow.subprocess_specs), protocol=pickle.HIGHEST_PROTOCOL) != as_made:
        raise SharedSpecChanged(f"running a case changed the shared spec of definition {definition.id}")


def _apply_event(instance, workflow, event, id_counter: int, payload: dict | None = None) -> int:
    """`payload`: the event's payload parsed for this call alone (the workflow may keep parts of it)."""
    with engine_moment(clock.from_iso(event.at), instance.id, id_counter) as moment:
        steps.apply(workflow, event.type, event.task_id, json.loads(event.payload) if payload is None else payload)
    return moment.id_counter


_UNREAD_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def _case_moment(instance_id: int, id_counter: int) -> EngineMoment:
    """Where a case's ids stand before its next event (see _applied); its time is never read."""
    return EngineMoment(_UNREAD_TIME, instance_namespace(instance_id), id_counter)


def _applied(moment: EngineMoment, workflow, event, payload: dict) -> EngineMoment:
    """_apply_event for a loop over one case's events: the event runs in the case's next
    moment (moment.later: the same ids and clock as engine_moment(event.at, instance,
    counter), without hashing the namespace again or a context manager per event);
    returns that moment, whose id_counter is where the next event draws from."""
    moment = moment.later(clock.from_iso(event.at))
    token = _moment_var.set(moment)
    try:
        steps.apply(workflow, event.type, event.task_id, payload)
    finally:
        _moment_var.reset(token)
    return moment


# Replay and verify read one snapshot of the database (snapshot_reads: a WAL reader's
# transaction on SQLite, without the write lock; REPEATABLE READ, READ ONLY on PostgreSQL).
# The views and the bulk run begin it before them; a caller with no transaction open (a
# script, the bench) gets one here, which they also end, so that nothing can write in it (a
# deferred SQLite transaction that writes after another connection committed fails instead
# of waiting). A caller with a transaction open keeps it as it is.
def _reading(session) -> bool:
    """Begin a snapshot read if the session has no transaction: whether it was begun here."""
    if session.in_transaction():
        return False
    begin_one_snapshot(session)
    return True


def replay(instance_id: int, upto: int | None = None) -> ReplayState:
    """The workflow as it stood after event `upto` (all events when None)."""
    session = db.session()
    own = _reading(session)
    try:
        return _replayed(instance_id, upto)
    finally:
        if own:
            session.rollback()


def _replayed(instance_id: int, upto: int | None) -> ReplayState:
    instance = _instance(instance_id)
    events = history.event_rows(instance.id, upto)
    shared = _may_share(events)
    workflow, counter = _fresh(instance, events, shared=shared)
    moment = _case_moment(instance.id, counter)
    for event in events:
        moment = _applied(moment, workflow, event, json.loads(event.payload))
    if shared and CHECK_SHARED_SPECS:
        _check_shared(instance, events, workflow)
    snapshot = serialization.dump(workflow)
    return ReplayState(events[-1].seq if events else 0, workflow, snapshot, moment.id_counter, events,
                       instance.state_hash_form)


def describe(state: ReplayState) -> dict:
    """A JSON view of a replayed state: status, data and tasks by element."""
    from SpiffWorkflow.util.task import TaskState

    workflow = state.workflow
    tasks = []
    for task in workflow.get_tasks():
        spec = task.task_spec
        if not getattr(spec, "bpmn_id", None):
            continue
        state_name = TaskState.get_name(task.state)
        tasks.append({"id": str(task.id), "bpmn_id": spec.bpmn_id, "name": spec.bpmn_name, "state": state_name})
    return {
        "upto": state.upto,
        "completed": workflow.is_completed(),
        "data": case_data(workflow),
        "tasks": tasks,
        "completed_elements": sorted({t["bpmn_id"] for t in tasks if t["state"] == "COMPLETED"}),
        "active_elements": sorted({t["bpmn_id"] for t in tasks if t["state"] in ("READY", "STARTED", "WAITING")}),
        "state_hash": serialization.state_hash_of(workflow, state.state_hash_form),
    }


def recorded_versions(events: list) -> list[dict]:
    """Each process version the history says the instance ran on, as the event recorded it
    ({id, key, version, content_hash[, meta_hash]}): the start event's, then each migration's target."""
    versions = []
    for event in events:
        if event.type not in ("instance_started", "instance_migrated"):
            continue
        try:
            payload = json.loads(event.payload)
        except ValueError:
            continue  # the chain check names this event
        recorded = payload.get("definition") if event.type == "instance_started" else payload.get("to")
        if isinstance(recorded, dict) and "id" in recorded:
            versions.append(recorded)
    return versions


_DEFINITIONS = Definition.__table__
_HEAD_COLUMNS = (_DEFINITIONS.c.id, _DEFINITIONS.c.key, _DEFINITIONS.c.version, _DEFINITIONS.c.content_hash,
                 _DEFINITIONS.c.meta_hash)
_DEFINITION_HEAD = plain_sql.Statement(db.select(*_HEAD_COLUMNS).where(_DEFINITIONS.c.id == db.bindparam("id")))
DefinitionHead = namedtuple("DefinitionHead", [column.key for column in _HEAD_COLUMNS])
_HEAD_WIDTH = len(_HEAD_COLUMNS)
_DEFINITION_CONTENT = db.select(_DEFINITIONS.c.files, _DEFINITIONS.c.forms, _DEFINITIONS.c.meta, _DEFINITIONS.c.content_hash,
                                _DEFINITIONS.c.meta_hash).where(_DEFINITIONS.c.id == db.bindparam("id"))
# The same columns as the database holds them, as text (no JSON parsing): the key of _OWN_VERDICTS.
_DEFINITION_TEXT = plain_sql.Statement(db.select(
    db.cast(_DEFINITIONS.c.files, db.Text), db.cast(_DEFINITIONS.c.forms, db.Text), db.cast(_DEFINITIONS.c.meta, db.Text),
    _DEFINITIONS.c.content_hash, _DEFINITIONS.c.meta_hash).where(_DEFINITIONS.c.id == db.bindparam("id")))
# A version's head and its stored text in one statement: every head read is followed by the
# own-hash check of the same row (definition_problem), so one query serves both.
_DEFINITION_HEAD_AND_TEXT = plain_sql.Statement(db.select(
    *_HEAD_COLUMNS, db.cast(_DEFINITIONS.c.files, db.Text), db.cast(_DEFINITIONS.c.forms, db.Text),
    db.cast(_DEFINITIONS.c.meta, db.Text), _DEFINITIONS.c.content_hash, _DEFINITIONS.c.meta_hash,
).where(_DEFINITIONS.c.id == db.bindparam("id")))
# What a stored version's own hashes said of it, keyed by everything the verdict depends on:
# the row's stored text, its hashes, its key and version. A verdict is a pure function of that
# key, so it holds in any process and for any database; an edited row has another key and is
# re-hashed. (Re-hashing meant parsing and re-serializing every BPMN file: 1.2 ms a case.)
_OWN_VERDICTS: dict[tuple, str | None] = {}
_OWN_VERDICTS_MAX = 256


@dataclass
class DefinitionChecks:
    """What one verification run has read of the stored versions: each version's row once,
    and its files, forms and metadata re-hashed once, however many instances ran on it (a
    run over the whole database re-hashed the same version for every case). A run is one
    `verify` call, or one bulk run of `flask audit verify` in one process."""

    heads: dict[int, object] = field(default_factory=dict)
    own_problems: dict[int, str | None] = field(default_factory=dict)
    texts: dict[int, tuple | None] = field(default_factory=dict)  # read with the head, for own_problem

    def head(self, definition_id: int):
        """(id, key, version, content_hash, meta_hash) of the stored version, None if missing."""
        if definition_id not in self.heads:
            row = plain_sql.fetch_one(db.session, _DEFINITION_HEAD_AND_TEXT, {"id": definition_id})
            self.heads[definition_id] = None if row is None else DefinitionHead._make(row[:_HEAD_WIDTH])
            self.texts[definition_id] = None if row is None else tuple(row[_HEAD_WIDTH:])
        return self.heads[definition_id]

    def own_problem(self, head) -> str | None:
        """The stored version against its own content and metadata hashes."""
        if head.id not in self.own_problems:
            stored = self.texts.pop(head.id, None)
            if stored is None:  # a head not read by head() (callers may pass their own)
                stored = plain_sql.fetch_one(db.session, _DEFINITION_TEXT, {"id": head.id})
            verdict_key = (head.key, head.version, *stored) if stored is not None else None
            if verdict_key is not None and verdict_key in _OWN_VERDICTS:
                problem = _OWN_VERDICTS[verdict_key]
            else:
                row = db.session.connection().execute(_DEFINITION_CONTENT, {"id": head.id}).first()
                problem = None
                if definitions.stored_content_hash(row) != row.content_hash:
                    problem = f"definition {head.key} v{head.version} does not match its content hash"
                elif row.meta_hash and definitions.meta_hash(row.meta) != row.meta_hash:
                    problem = f"definition {head.key} v{head.version}: its metadata does not match its meta hash"
                if verdict_key is not None:
                    if len(_OWN_VERDICTS) >= _OWN_VERDICTS_MAX:
                        _OWN_VERDICTS.clear()
                    _OWN_VERDICTS[verdict_key] = problem
            self.own_problems[head.id] = problem
        return self.own_problems[head.id]


# A case verified on its own reads its instance row and the head and stored text of the
# version it names in one statement (an outer join: a missing version reads as NULLs):
# definition_problem reads that row first anyway, in the same snapshot, so it is the same
# row DefinitionChecks.head would read; one query fewer a case (~1 % of a verify). A bulk
# run's checks already hold the versions it read: it keeps the plain instance read.
_CASE_AND_HEAD = plain_sql.Statement(
    _CASE_QUERY.add_columns(_INSTANCES.c.snapshot, *_DEFINITION_HEAD_AND_TEXT.statement.selected_columns)
    .select_from(_INSTANCES.outerjoin(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id))
)
_CASE_WIDTH = len(CaseRow._fields)


def _instance_and_head(instance_id: int, checks: DefinitionChecks) -> CaseRow:
    """_instance(instance_id, snapshot=True), with what checks.head(instance.definition_id)
    would read put into `checks` from the same row."""
    db.session.flush()
    row = plain_sql.fetch_one(db.session, _CASE_AND_HEAD, {"id": instance_id})
    if row is None:
        raise NotFound(f"no instance {instance_id}")
    instance = CaseRow._make(row[:_CASE_WIDTH])
    version = row[_CASE_WIDTH:]
    found = version[0] is not None  # definitions.id, the primary key: NULL only when no row joined
    checks.heads[instance.definition_id] = DefinitionHead._make(version[:_HEAD_WIDTH]) if found else None
    checks.texts[instance.definition_id] = tuple(version[_HEAD_WIDTH:]) if found else None
    return instance


def definition_problem(instance, events: list, checks: DefinitionChecks | None = None) -> str | None:
    """The stored versions against their own hashes and against the hashes the history
    recorded when the instance started on them (or moved to them): editing a version's files
    or metadata and writing a matching new hash on the row is still caught here."""
    checks = checks or DefinitionChecks()
    own = checks.head(instance.definition_id)
    if own is None:
        return f"definition id {instance.definition_id} of the instance is missing"
    heads = {own.id: own}
    for recorded in recorded_versions(events):
        row = checks.head(int(recorded["id"]))
        if row is None:
            return f"definition {recorded.get('key')} v{recorded.get('version')} (id {recorded['id']}) is missing"
        heads[row.id] = row
        if recorded.get("content_hash") and recorded["content_hash"] != row.content_hash:
            return (f"definition {row.key} v{row.version}: content hash {row.content_hash[:12]} differs from "
                    f"{recorded['content_hash'][:12]} recorded in the history (its files or forms were replaced)")
        if recorded.get("meta_hash") and recorded["meta_hash"] != row.meta_hash:
            return (f"definition {row.key} v{row.version}: metadata hash differs from the one recorded in the history "
                    "(its metadata was replaced)")
    for head in heads.values():
        if problem := checks.own_problem(head):
            return problem
    return None


def verify(instance_id: int, checks: DefinitionChecks | None = None) -> dict:
    """The instance's whole record checked: `checks` carries what a bulk run has already
    verified of the stored definitions (see DefinitionChecks)."""
    session = db.session()
    own = _reading(session)
    try:
        if checks is None:
            checks = DefinitionChecks()
            instance = _instance_and_head(instance_id, checks)
        else:
            instance = _instance(instance_id, snapshot=True)
        events = history.event_rows(instance.id)
        if problem := definition_problem(instance, events, checks):
            return _bad(0, problem)
        if not _may_share(events):
            return _verify_events(instance, events, shared=False)
        result = _verify_events(instance, events, shared=True)
        if not result["verified"]:
            # named only if a copy of the spec of its own finds it too: sharing never raises an alarm
            result = _verify_events(instance, events, shared=False)
        return result
    finally:
        if own:
            session.rollback()


def _verify_events(instance, events: list, *, shared: bool) -> dict:
    workflow, counter = _fresh(instance, events, shared=shared)
    try:
        return _verify_on(instance, events, workflow, counter)
    finally:
        if shared and CHECK_SHARED_SPECS:
            _check_shared(instance, events, workflow)


def _verify_on(instance, events: list, workflow, counter: int) -> dict:
    prev_hash = history.GENESIS
    replayed = False
    current_state_hash = None
    moment = _case_moment(instance.id, counter)
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return _bad(expected_seq, f"event {expected_seq} is missing (found {event.seq} in its place)")
        if event.instance_id != instance.id:
            return _bad(event.seq, "event belongs to another instance")
        if event.prev_hash != prev_hash:
            return _bad(event.seq, "prev_hash does not match the previous event's hash")
        payload = json.loads(event.payload)  # for the chain, then the workflow (its only other reader)
        if history.chain_hash(prev_hash, event, payload) != event.hash:
            return _bad(event.seq, "hash does not match the event's content")
        prev_hash = event.hash
        if problem := _attachment_problem(event):
            return _bad(event.seq, problem)
        if event.type in steps.PASSIVE_EVENTS and replayed:
            # A claim or a failed attempt gives the workflow no input: the state is the one
            # the previous event left, so its hash is compared without serializing again.
            if current_state_hash != event.state_hash:
                return _bad(event.seq, "replayed state differs from the state recorded with the event")
            continue
        try:
            moment = _applied(moment, workflow, event, payload)
        except EngineError as err:
            return _bad(event.seq, f"replay failed: {err.message}")
        except Exception as err:  # a tampered payload may break the workflow in any way
            return _bad(event.seq, f"replay failed: {type(err).__name__}: {err}")
        # After each event, the replayed workflow's finished tasks are serialized once and
        # reused (serialization.dump_pieces); the last one is also the end state's text.
        current_state_hash = serialization.state_hash_of(workflow, instance.state_hash_form)
        replayed = True
        if current_state_hash != event.state_hash:
            return _bad(event.seq, "replayed state differs from the state recorded with the event")
    last_seq = events[-1].seq if events else 0
    if instance.last_hash != prev_hash or instance.last_seq != last_seq:
        return _bad(last_seq, "the instance's chain head does not match its last event (events missing)")
    # The last event's dump is the end state's text: dump_pieces gives dump's bytes (the
    # suite holds it to that on every command, CHECK_FRAGMENTS), so it is not dumped again.
    if replayed and b"".join(serialization.last_pieces(workflow)).decode() != snapshots.text_of(instance):
        return _bad(last_seq, "stored snapshot differs from the replayed state")
    return {"verified": True, "events": len(events)}


def _attachment_problem(event) -> str | None:
    """The first file this event attached that is no longer the one whose hash it recorded."""
    if '"attachment"' not in (event.payload or ""):
        return None
    for _field, ref in attachments.references(json.loads(event.payload)):
        if problem := attachments.file_problem(ref):
            return problem
    return None


def _bad(seq: int, reason: str) -> dict:
    return {"verified": False, "first_bad_seq": seq, "reason": reason}
