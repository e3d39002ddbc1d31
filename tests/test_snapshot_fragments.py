"""Issue 17: a command re-serializes only the tasks that can still change; the snapshot
assembled from the finished tasks' cached JSON is the same text, byte for byte, as a full
dump (the suite checks that on every command: tests/conftest.py sets CHECK_FRAGMENTS)."""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState

from tests.growth_case import complete_next, start_growth
from webapp.engine import definitions, replay, runtime, serialization, snapshots, workflow_cache
from webapp.extensions import db
from webapp.models import Instance


def test_a_long_case_keeps_its_fragments_and_its_snapshot_equals_a_full_dump(app, users):
    instance_id = start_growth(30)
    for _ in range(12):
        complete_next(instance_id)
    workflow = workflow_cache.take(definitions.database_scope(), instance_id, db.session.get(Instance, instance_id).version)
    assert workflow is not None
    kept = [task for task in workflow.tasks.values() if task in workflow.__dict__[serialization._ENTRIES]]
    assert len(kept) >= 12  # the finished steps' JSON is kept, not made again
    # ... with the workflow, not on SpiffWorkflow's Task objects (an attribute of ours there
    # slows SpiffWorkflow's own walks over the tree)
    own = {"id", "workflow", "_parent", "_children", "_state", "triggered", "task_spec", "thread_id", "data",
           "internal_data", "last_state_change"}
    assert all(set(task.__dict__) <= own for task in workflow.tasks.values())
    stored = snapshots.text_of(db.session.get(Instance, instance_id))
    assert stored == serialization.dump(workflow) == serialization.dump_incremental(workflow)
    db.session.rollback()
    for _ in range(18):
        complete_next(instance_id, {"note": "完成"})
    assert db.session.get(Instance, instance_id).status == "completed"
    assert replay.verify(instance_id)["verified"]


def test_a_changed_finished_task_that_the_cache_would_miss_is_caught(app, users):
    """What the comparison is for: were a finished task's data changed in place, the cached
    fragment would be stale, and the check says so instead of storing a wrong snapshot."""
    instance_id = start_growth(5)
    complete_next(instance_id)
    complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    workflow = workflow_cache.take(definitions.database_scope(), instance_id, instance.version)
    done = TaskState.COMPLETED
    finished = [t for t in workflow.get_tasks() if t.state == done and t.parent is not None]
    under_finished = next(t for t in finished if t.parent.state == done)
    under_running = next(t for t in finished if t.parent.state != done)  # a step of the multi-instance task
    for finished in (under_finished, under_running):
        serialization.dump_incremental(workflow)
        finished.data["changed_behind_the_cache"] = True
        with pytest.raises(serialization.SnapshotMismatch):
            serialization.dump_incremental(workflow)
        del finished.data["changed_behind_the_cache"]
    assert serialization.dump_incremental(workflow) == snapshots.text_of(instance)
    db.session.rollback()


def test_a_step_of_a_long_case_makes_only_the_changed_tasks_entries_again(app, users, monkeypatch):
    """After a workflow's first dump, a command looks only at the tasks SpiffWorkflow changed
    or added (and the unfinished ones), not at every finished step of the case."""
    instance_id = start_growth(60)
    for _ in range(40):
        complete_next(instance_id)
    looked_at, made = [], []
    entry_of, task_dict = serialization._entry_of, serialization._task_dict
    monkeypatch.setattr(serialization, "_entry_of", lambda task, *rest: looked_at.append(task) or entry_of(task, *rest))
    monkeypatch.setattr(serialization, "_task_dict", lambda task: made.append(task) or task_dict(task))
    complete_next(instance_id)
    workflow = workflow_cache.take(definitions.database_scope(), instance_id, db.session.get(Instance, instance_id).version)
    assert len(workflow.tasks) > 40
    assert 0 < len(made) <= len(looked_at) <= 8, [task.task_spec.name for task in looked_at]
    assert snapshots.text_of(db.session.get(Instance, instance_id)) == serialization.dump(workflow)
    db.session.rollback()


def test_a_restored_workflow_refers_to_its_tasks_by_the_table_s_own_ids(app, users):
    """Another process restores the case from its snapshot: parent and child references are
    the very UUID objects that key the task table (SpiffWorkflow's lookups then need no
    Python-level comparison), and the restored state dumps to the stored text."""
    instance_id = start_growth(12)
    for _ in range(5):
        complete_next(instance_id)
    workflow_cache.clear()
    instance = db.session.get(Instance, instance_id)
    workflow = runtime.load_workflow(instance)
    keys = {id(key) for key in workflow.tasks}
    for task in workflow.tasks.values():
        assert id(task.id) in keys
        assert task._parent is None or id(task._parent) in keys
        assert all(id(child) in keys for child in task._children)
    assert serialization.dump_incremental(workflow) == serialization.dump(workflow) == snapshots.text_of(instance)
    db.session.rollback()
    complete_next(instance_id)


def _eight_steps_workflow():
    from pathlib import Path

    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(Path(__file__).parent / "fixtures" / "eight_steps.bpmn"))
    return BpmnWorkflow(parser.get_spec("eight_steps"), parser.get_subprocess_specs("eight_steps"))


def test_state_changes_in_a_command_skip_the_log_extras_only_while_the_logger_is_off(caplog):
    """Issue 17: inside an engine moment, with the 'spiff.task' logger off, a state change
    does what SpiffWorkflow's does (state, the moment's time) without building the log
    record's extras; with the logger on, or outside a moment, SpiffWorkflow's own path runs
    and logs as before."""
    import logging
    from datetime import UTC, datetime

    from webapp.engine.determinism import engine_moment

    now = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    workflow = _eight_steps_workflow()
    with caplog.at_level(logging.WARNING, logger="spiff.task"), engine_moment(now, 1, 0):
        workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ready and not [r for r in caplog.records if r.name == "spiff.task"]
    assert {task.last_state_change for task in ready} == {now.timestamp()}
    with caplog.at_level(logging.INFO, logger="spiff.task"), engine_moment(now, 1, 100):
        ready[0].run()
    changed = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed")]
    assert changed and changed[0].task_spec == ready[0].task_spec.name
    caplog.clear()
    plain = _eight_steps_workflow()
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        plain.do_engine_steps()
    assert [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed")]


def test_an_ended_case_leaves_the_workflow_cache_and_still_verifies(app, users):
    """Issue 17: a running case's live workflow is kept for its next command; once the case
    ended no command runs on it, so it is not kept (kept, the cached workflows of ended cases
    only lengthened the cycle collector's full walks)."""
    instance_id = start_growth(2)
    complete_next(instance_id)
    scope = definitions.database_scope()
    version = db.session.get(Instance, instance_id).version
    assert workflow_cache.take(scope, instance_id, version) is not None
    complete_next(instance_id)
    instance = db.session.get(Instance, instance_id)
    assert instance.status == "completed"
    assert workflow_cache.take(scope, instance_id, instance.version) is None
    assert replay.verify(instance_id)["verified"]


def test_a_task_s_entry_is_what_spiffworkflow_s_converter_makes_of_it():
    """_task_dict writes out the converter's delta (DeepMerge's updated and deleted keys):
    changed, new, deleted, nested and unequal-to-itself values give the same entry."""
    import json
    from pathlib import Path

    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(Path(__file__).parent / "fixtures" / "eight_steps.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("eight_steps"), parser.get_subprocess_specs("eight_steps"))
    nan = float("nan")
    tasks = list(workflow.tasks.values())
    assert len(tasks) > 4
    tasks[0].data = {"b": {"y": [1, {"z": 2}], "x": 1}, "a": nan, "gone": 1, "same": "s"}
    for task in tasks[1:]:
        task.data = {"same": "s", "a": nan, "b": {"x": 1, "y": [1, {"z": 3}]}, "new": {"k": [nan]}}
    tasks[2].data = dict(tasks[0].data)  # equal to its parent's except for what its parent holds
    tasks[3].data = {}
    registry = serialization._serializer.registry
    for task in tasks:
        made = serialization._task_dict(task)
        expected = registry.convert(task)
        assert json.dumps(made, sort_keys=False) == json.dumps(expected, sort_keys=False)
        assert serialization._rendered(task) == b'"' + str(task.id).encode() + b'":' + serialization.orjson.dumps(expected)
