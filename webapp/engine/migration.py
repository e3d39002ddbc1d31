"""Moving running instances of one version of a process to a newer one.

SpiffWorkflow 3.2 aligns the task specs of two versions (`SpecDiff`: by BPMN id, then by
structure) and re-points a workflow's tasks at the new specs (`migrate_workflow`), resetting
its READY and WAITING tasks so that what lies ahead is predicted again from the new version.
We refuse where that would rewrite the past: a task whose spec changed (or went away) has
already run, is running, or a changed timer/message event is already waiting. Waiting
timers whose spec did not change keep their due time (the library's reset would restart
them at the moment of migration).

A migration is a command like any other (one transaction, one history event
`instance_migrated` with {from, to} definition versions); `steps.apply` calls
`migrate_in_place` for that event, so replay switches to the new spec at the same point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from ..extensions import db
from ..models import InboxTask, Instance
from . import clock, definitions, runtime, serialization, snapshots
from .determinism import engine_moment
from .errors import Conflict, EngineError, NotFound

# Called in the migration's transaction (the caller's audit log, for one).
OnMigrated = Callable[[Instance, dict], None]

EVENT_TYPE = "instance_migrated"
_RAN = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
_REACHED = _RAN | TaskState.READY | TaskState.WAITING


class MigrationRefused(Conflict):
    """The instance cannot move to the new version; `errors` says which element and why."""


@dataclass
class Plan:
    instance_id: int
    business_key: str
    from_version: int
    to_version: int
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def possible(self) -> bool:
        return not self.reasons


def _registry():
    return serialization._serializer.registry


def _name(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


def _label(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_name", None) or _name(task)


def _refusals_of(diff, tasks) -> dict[str, str]:
    reasons: dict[str, str] = {}
    changed = {task.id for task in diff.changed}
    removed = {task.id for task in diff.removed}
    for task in tasks:
        state = TaskState.get_name(task.state)
        if task.id in removed and task.state & _REACHED:
            reasons[_name(task)] = f"{_label(task)} is not in the new version, but this case has reached it ({state})"
        elif task.id in changed and task.state & _RAN:
            what = "is running" if task.state == TaskState.STARTED else "has already run"
            reasons[_name(task)] = f"{_label(task)} changed in the new version and {what} in this case ({state})"
        elif task.id in changed and task.state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None):
            reasons[_name(task)] = f"{_label(task)} changed in the new version and is already waiting in this case"
    return reasons


def refusals(workflow, spec, subprocess_specs: dict) -> dict[str, str]:
    """Why this workflow cannot move to `spec` (element id -> reason); empty when it can."""
    top, sub_diffs = diff_workflow(_registry(), workflow, spec, subprocess_specs)
    reasons = _refusals_of(top, workflow.get_tasks(skip_subprocesses=True))
    for sub_id, diff in sub_diffs.items():
        subprocess = workflow.subprocesses[sub_id]
        if diff is None:
            reasons[subprocess.spec.name] = f"subprocess {subprocess.spec.name} is running but not in the new version"
        else:
            reasons.update(_refusals_of(diff, subprocess.get_tasks(skip_subprocesses=True)))
    return reasons


def migrate_in_place(workflow, spec, subprocess_specs: dict) -> None:
    """Point the workflow at the new spec (the caller runs engine steps afterwards)."""
    if reasons := refusals(workflow, spec, subprocess_specs):
        raise MigrationRefused("; ".join(reasons.values()), reasons)
    top, sub_diffs = diff_workflow(_registry(), workflow, spec, subprocess_specs)
    changed = {task.id for task in top.changed}
    for diff in sub_diffs.values():
        changed |= {task.id for task in diff.changed} if diff is not None else set()
    # Waiting events that did not change keep what they counted so far (a timer's due time).
    kept = {
        task.id: dict(task.internal_data)
        for task in workflow.get_tasks(state=TaskState.WAITING)
        if task.id not in changed and task.internal_data
    }
    migrate_workflow(top, workflow, spec)
    for sub_id, diff in sub_diffs.items():
        subprocess = workflow.subprocesses[sub_id]
        migrate_workflow(diff, subprocess, subprocess_specs[subprocess.spec.name])
    workflow.subprocess_specs = subprocess_specs
    # Tasks now carry the new version's specs (and below, restored internal data): what the
    # snapshot dumps kept of them is made again.
    serialization.forget(workflow)
    for task_id, internal_data in kept.items():
        task = workflow.get_task_from_id(task_id)
        if task is not None and task.state == TaskState.WAITING:
            task.internal_data = internal_data
    _check_every_task_is_in(workflow, spec, subprocess_specs)


def _check_every_task_is_in(workflow, spec, subprocess_specs: dict) -> None:
    stray = [
        task
        for task in workflow.get_tasks(skip_subprocesses=True)
        if spec.task_specs.get(task.task_spec.name) is not task.task_spec
    ]
    for subprocess in workflow.subprocesses.values():
        sub_spec = subprocess_specs.get(subprocess.spec.name)
        stray += [
            task for task in subprocess.get_tasks(skip_subprocesses=True)
            if sub_spec is None or sub_spec.task_specs.get(task.task_spec.name) is not task.task_spec
        ]
    if stray:
        reasons = {_name(task): f"{_label(task)} could not be placed in the new version" for task in stray}
        raise MigrationRefused("; ".join(reasons.values()), reasons)


def _version_of(info: definitions.DefinitionInfo) -> dict:
    return {"id": info.id, "key": info.key, "version": info.version, "content_hash": info.content_hash,
            "meta_hash": info.meta_hash}


def _target(instance: Instance, target_id: int) -> definitions.DefinitionInfo:
    target = definitions.info(target_id)
    if target.key != instance.process_key:
        reason = f"version {target.version} belongs to {target.key}, not {instance.process_key}"
        raise Conflict(reason, {"target": "other process"})
    if target.id == instance.definition_id:
        raise Conflict(f"the case already runs on version {target.version}", {"target": "same version"})
    return target


def plan(instance: Instance, target_id: int) -> Plan:
    """What migrating would do, without doing it: a trial run on a copy of the workflow."""
    source = definitions.info(instance.definition_id)
    target = _target(instance, target_id)
    result = Plan(instance.id, instance.business_key, source.version, target.version)
    if instance.status != "running":
        result.reasons[instance.process_key] = f"the case is {instance.status}"
        return result
    spec, subprocess_specs = definitions.spec_for(source)
    workflow = serialization.load(snapshots.text_of(instance), spec, subprocess_specs)
    workflow.script_engine = runtime._script_engine
    new_spec, new_subs = definitions.spec_for(target)
    result.reasons = refusals(workflow, new_spec, new_subs)
    if result.possible:
        try:
            with engine_moment(clock.now(), instance.id, instance.id_counter):
                migrate_in_place(workflow, new_spec, new_subs)
                serialization.load(serialization.dump(workflow), new_spec, new_subs)
        except MigrationRefused as err:
            result.reasons = dict(err.errors)
        except Exception as err:  # the library may fail in ways we cannot foresee: then we do not migrate
            result.reasons = {instance.process_key: f"SpiffWorkflow cannot move this case: {type(err).__name__}: {err}"}
    return result


def migrate_instance(
    instance_id: int, target_id: int, *, actor: str, commit: bool = True, on_migrated: OnMigrated | None = None
) -> Instance:
    """One command: the instance moves to the target version, recorded as an event."""
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    trial = plan(instance, target_id)
    if not trial.possible:
        raise MigrationRefused("; ".join(trial.reasons.values()), trial.reasons)
    source = definitions.info(instance.definition_id)
    target = definitions.info(target_id)
    workflow = runtime.load_workflow(instance)
    payload = {"from": _version_of(source), "to": _version_of(target)}
    instance.definition_id = target.id  # the projection reads lanes and forms of the new version
    runtime._execute(instance, workflow, [runtime.Input(EVENT_TYPE, payload)], actor=actor, now=clock.now())
    _refresh_open_tasks(instance, target)
    if on_migrated is not None:
        on_migrated(instance, payload)
    return runtime._finish(instance, commit)


def _refresh_open_tasks(instance: Instance, target: definitions.DefinitionInfo) -> None:
    """Open inbox rows whose task changed (name, lane, form) show the new version's."""
    tasks = target.meta.get("tasks") or {}
    rows = db.session.scalars(db.select(InboxTask).where(InboxTask.instance_id == instance.id, InboxTask.state == "open"))
    for row in rows:
        meta = tasks.get(row.bpmn_id)
        if meta is None:
            continue
        form = meta.get("form") or {}
        row.name = meta.get("name") or row.bpmn_id
        row.role = meta.get("role")
        row.lane_name = meta.get("lane_name")
        row.form_schema = form.get("schema")
        row.form_ui_schema = form.get("ui_schema")


def migrate_many(
    instance_ids: list[int], target_id: int, *, actor: str, on_migrated: OnMigrated | None = None
) -> dict[int, dict]:
    """Each instance in its own transaction; returns {id: {"migrated": bool, "reasons": {...}}}."""
    results: dict[int, dict] = {}
    for instance_id in instance_ids:
        try:
            migrate_instance(instance_id, target_id, actor=actor, on_migrated=on_migrated)
            results[instance_id] = {"migrated": True, "reasons": {}}
        except EngineError as err:
            db.session.rollback()
            results[instance_id] = {"migrated": False, "reasons": dict(err.errors) or {"instance": err.message}}
    return results
