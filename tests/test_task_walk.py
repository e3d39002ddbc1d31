"""engine/task_walk.py walks a task tree as SpiffWorkflow's own iterators do: every
conformance diagram run with the fast walk and with SpiffWorkflow's, the same inputs, ends
in the same state after every step, and the walks over each step's tree list the same tasks."""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskIterator, TaskState

from tests.conformance import harness, test_data, test_events, test_loops, test_messages, test_more_events
from tests.conformance.bpmn import definitions, end, flows, gateway, process, script, start, user
from tests.conftest import START
from webapp.engine import serialization, task_walk
from webapp.engine.determinism import engine_moment

_ENGINE_STEPS = harness._engine_steps


def _parallel_in_a_loop(name: str, branches: list[str], steps: list) -> harness.Case:
    """A fork and a join inside a loop made of exclusive gateways: the join's threshold
    check (task_walk's fast one in commands) then meets its own earlier iterations, ancestors
    of the task being checked, and later ones, descendants (the branches the conformance
    diagrams leave out)."""
    body = [start(), gateway("exclusive", "merge"), gateway("parallel", "fork"),
            *(user(b) if b.startswith("u") else script(b, f"{b}_seen = n") for b in branches),
            gateway("parallel", "join"), script("count", "n = n + 1"), gateway("exclusive", "again", default="f_again_end"),
            end()]
    links = flows("start", "merge", "fork") + flows("join", "count", "again", "end")
    links += flows("again", "merge", cond={"again>merge": "n < 3"})
    for branch in branches:
        links += flows("fork", branch, "join")
    xml = definitions(process(name, *body, links))
    return harness.Case(name, "parallel gateway in a loop", {f"{name}.bpmn": xml}, name, steps, {"n": 0})


T = "task"
LOOPED_JOINS = [
    _parallel_in_a_loop("par_loop_two_users", ["u_a", "u_b"],
                        [(T, "u_a"), (T, "u_b"), (T, "u_b"), (T, "u_a"), (T, "u_a"), (T, "u_b")]),
    _parallel_in_a_loop("par_loop_user_and_script", ["u_a", "s_b"], [(T, "u_a"), (T, "u_a"), (T, "u_a")]),
    _parallel_in_a_loop("par_loop_three", ["u_a", "s_b", "u_c"],
                        [(T, "u_c"), (T, "u_a"), (T, "u_a"), (T, "u_c"), (T, "u_c"), (T, "u_a")]),
]
CASES = [*test_data.CASES, *test_events.CASES, *test_loops.CASES, *test_messages.CASES, *test_more_events.CASES,
         *LOOPED_JOINS]

# walks the engine and SpiffWorkflow make: by state (with and without `manual`), and the
# filters the fast walk hands to SpiffWorkflow's own matching (spec name, end at a spec)
WALKS = [
    {},
    {"state": TaskState.READY},
    {"state": TaskState.READY, "manual": True},
    {"state": TaskState.WAITING},
    {"state": TaskState.NOT_FINISHED_MASK},
    {"state": TaskState.COMPLETED},
    {"state": TaskState.PREDICTED_MASK},
    {"state": TaskState.READY, "manual": False},
    {"state": TaskState.NOT_FINISHED_MASK, "manual": True},
    {"state": TaskState.DEFINITE_MASK},
    {"state": TaskState.FINISHED_MASK},
    {"state": TaskState.STARTED | TaskState.MAYBE},
    {"updated_ts": START.timestamp()},
    {"skip_subprocesses": True},
    {"max_depth": 3},
    {"max_depth": 5, "state": TaskState.NOT_FINISHED_MASK},
]


def _walks(workflow) -> list:
    seen = []
    with engine_moment(START, 0, 10_000):
        for kwargs in WALKS:
            seen.append([str(task.id) for task in workflow.get_tasks(**kwargs)])
        ends = {task.task_spec.name for task in workflow.get_tasks()}
        for name in sorted(ends):
            seen.append([str(t.id) for t in TaskIterator(workflow.task_tree, end_at_spec=name)])
            seen.append([str(t.id) for t in workflow.get_tasks(spec_name=name)])
            seen.append([str(t.id) for t in workflow.get_tasks(spec_name=name, state=TaskState.NOT_FINISHED_MASK)])
            # one finished task of a spec under an unfinished parent (a multi-instance step):
            # a list of one that the walk does not reach
            seen.append([str(t.id) for t in workflow.get_tasks(spec_name=name, state=TaskState.COMPLETED)])
        # from inside the tree (a gateway's branch) and in each subprocess (a walk from there)
        for wf in (workflow, *workflow.subprocesses.values()):
            for first in list(wf.tasks.values())[1:4]:
                seen.append([str(t.id) for t in wf.get_tasks(first, state=TaskState.ANY_MASK)])
                seen.append([str(t.id) for t in wf.get_tasks(first_task=first, state=TaskState.READY)])
            seen.append([str(t.id) for t in wf.get_tasks(state=TaskState.READY)])
    return seen


def _run(case: harness.Case, monkeypatch) -> list:
    """What plain_run makes of the case: the dump and the walks after every engine pass."""
    record = []
    engine_steps = _ENGINE_STEPS

    def recording(workflow):
        engine_steps(workflow)
        record.append((serialization.dump(workflow), _walks(workflow)))

    monkeypatch.setattr(harness, "_engine_steps", recording)
    try:
        record.append(harness.plain_run(case, START).as_dict())
    except Exception as err:  # a case may stop SpiffWorkflow: it must stop both walks alike
        record.append(f"{type(err).__name__}: {err}")
    return record


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fast_walk_is_spiffworkflows_walk(case, monkeypatch):
    fast = _run(case, monkeypatch)
    with task_walk.plain_walks():
        plain = _run(case, monkeypatch)
    assert len(fast) == len(plain) > 1
    for n, (mine, theirs) in enumerate(zip(fast, plain, strict=True)):
        assert mine == theirs, f"{case.name}: differs after engine pass {n}"


def test_fast_walk_only_inside_a_command():
    """Plain SpiffWorkflow (no engine moment: the benchmarks' baseline) keeps its own classes."""
    from tests.conformance.test_loops import CASES as loops

    case = loops[0]
    workflow = harness.BpmnWorkflow(*_spec(case))
    assert type(workflow.get_tasks_iterator()) is not task_walk.FastBpmnTaskIterator
    with engine_moment(START, 0, 0):
        assert type(workflow.get_tasks_iterator()) is task_walk.FastBpmnTaskIterator
        assert type(TaskIterator(workflow.task_tree)) is task_walk.FastTaskIterator
        with task_walk.plain_walks():
            assert type(TaskIterator(workflow.task_tree)) is TaskIterator


def test_task_lists_in_a_command_are_the_fast_list(monkeypatch):
    """get_tasks in a command makes its list in one loop (task_walk.bpmn_task_list) for the
    filters the engine passes, and hands anything else to SpiffWorkflow's iterator."""
    from tests.conformance.test_loops import CASES as loops

    workflow = harness.BpmnWorkflow(*_spec(loops[0]))
    made = []
    plain = task_walk.bpmn_task_list
    monkeypatch.setattr(task_walk, "bpmn_task_list", lambda *a, **k: made.append(k) or plain(*a, **k))
    workflow.get_tasks(state=TaskState.READY)
    assert made == []  # plain SpiffWorkflow: no moment
    with engine_moment(START, 0, 0):
        workflow.get_tasks(state=TaskState.READY)
        workflow.get_tasks(spec_name="x", manual=True)
        workflow.get_tasks(lane="x")
        workflow.get_tasks(skip_subprocesses=True)
        with task_walk.plain_walks():
            workflow.get_tasks(state=TaskState.READY)
    assert made == [{"state": TaskState.READY}, {"spec_name": "x", "manual": True}]


def _spec(case: harness.Case):
    from lxml import etree
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    for filename, xml in case.files.items():
        parser.add_bpmn_xml(etree.fromstring(xml.encode()), filename=filename)
    return parser.get_spec(case.process), parser.get_subprocess_specs(case.process)


def test_workflow_log_extras_walk_only_when_logged(caplog):
    """SpiffWorkflow lists every task in a workflow's log extras; inside our commands that
    walk is left out while its 'spiff.workflow' INFO records are not written, and done again
    as soon as they are."""
    from tests.conformance.test_loops import CASES as loops

    workflow = harness.BpmnWorkflow(*_spec(loops[0]))
    with engine_moment(START, 0, 0):
        extras = workflow.collect_log_extras()
        assert "tasks" not in extras
        assert extras["workflow_spec"] == workflow.spec.name and extras["root"] == workflow.task_tree.id
        with caplog.at_level("DEBUG", logger="spiff.workflow"):
            assert len(workflow.collect_log_extras()["tasks"]) == len(workflow.get_tasks())
    assert "tasks" in workflow.collect_log_extras()  # plain SpiffWorkflow, as it was
