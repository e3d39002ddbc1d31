"""Instances per second of an 8-step process (user tasks, an exclusive and a parallel
gateway, a script and a service task): through our engine with persistence on SQLite
(every input one transaction with snapshot, inbox, job and hash-chained history), and the
same process in plain SpiffWorkflow in memory, in the same run.

    .venv/bin/python -m bench.engine_throughput [N]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DIAGRAM = FIXTURES / "eight_steps.bpmn"
FORM = FIXTURES / "eight-intake-schema.json"


class InlineServices(PythonScriptEngine):
    def call_service(self, task, operation_name, operation_params):
        return json.dumps({"echo": {k: v["value"] for k, v in operation_params.items()}})


def plain_spiff(n: int) -> float:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    spec, subs = parser.get_spec("eight_steps"), parser.get_subprocess_specs("eight_steps")
    engine = InlineServices()
    started = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.do_engine_steps()
        while not wf.is_completed():
            for task in wf.get_tasks(state=TaskState.READY, manual=True):
                if task.task_spec.bpmn_id == "intake":
                    task.data.update({"amount": 500})
                task.run()
                wf.do_engine_steps()
        assert wf.data["recorded"]["echo"]["total"] == 1000
    return n / (time.perf_counter() - started)


def persisted(n: int, database_url: str) -> tuple[float, int]:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.accounts import create_user
    from webapp.engine import clock, definitions, runtime
    from webapp.extensions import db
    from webapp.models import HistoryEvent, InboxTask
    from workers import registry
    from workers.loop import WorkerSettings, fetch_job, run_job

    registry.override("test/echo", lambda session, params: {"echo": params})

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": os.urandom(32).hex()})
    settings = WorkerSettings()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        create_user("bench", "bench", ["admin"])
        definitions.deploy(
            {DIAGRAM.name: DIAGRAM.read_bytes(), FORM.name: FORM.read_bytes()},
            actor="bench",
            now=clock.now(),
            known_operators=registry.names(),
        )
        db.session.commit()
        roles = {"admin"}
        started = time.perf_counter()
        for _ in range(n):
            instance = runtime.start_instance("eight_steps", {}, actor="bench")
            instance_id = instance.id
            while True:
                tasks = db.session.execute(
                    db.select(InboxTask.id, InboxTask.bpmn_id).where(
                        InboxTask.instance_id == instance_id, InboxTask.state == "open"
                    )
                ).all()
                if not tasks:
                    break
                for task_id, bpmn_id in tasks:
                    data = {"amount": 500} if bpmn_id == "intake" else {}
                    runtime.complete_user_task(task_id, data, actor="bench", roles=roles)
            job = fetch_job("bench", settings)
            assert run_job(job.id, "bench", settings) == "done"
            assert db.session.get(type(instance), instance_id).status == "completed"
        elapsed = time.perf_counter() - started
        events = db.session.scalar(db.select(db.func.count(HistoryEvent.id)))
    return n / elapsed, events


def sandbox_cost(calls: int = 2000) -> tuple[float, float, float]:
    """Microseconds per script: in this process under RestrictedPython alone, through a
    sandbox process (engine/sandbox_pool.py: JSON both ways, a pipe round trip), and the
    sandbox's first start."""
    from webapp.engine import restricted, sandbox_pool
    from webapp.engine.sandbox import RestrictedEnvironment

    script, data = "total = amount * 2", {"amount": 500, "customer": "张三", "items": list(range(20))}
    started = time.perf_counter()
    for _ in range(calls):
        restricted.execute(script, dict(data))
    inline = (time.perf_counter() - started) / calls * 1e6
    sandbox_pool.shutdown()
    started = time.perf_counter()
    sandbox_pool.pool().call("ping", "", {})
    first_start = (time.perf_counter() - started) * 1e6
    environment = RestrictedEnvironment()
    started = time.perf_counter()
    for _ in range(calls):
        environment.execute(script, dict(data))
    pooled = (time.perf_counter() - started) / calls * 1e6
    return inline, pooled, first_start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    inline_us, pooled_us, start_us = sandbox_cost()
    with tempfile.TemporaryDirectory() as tmp:
        memory_rate = plain_spiff(n)
        persisted_rate, events = persisted(n, f"sqlite:///{tmp}/bench.db")
    ratio = persisted_rate / memory_rate
    print(f"8-step process, {n} instances each, one process, same run")
    print(f"{'path':<48}{'instances/s':>14}{'ratio':>8}")
    print(f"{'plain SpiffWorkflow, in memory (baseline)':<48}{memory_rate:>14.1f}{1.0:>8.2f}")
    print(f"{'our engine, SQLite, every input persisted':<48}{persisted_rate:>14.1f}{ratio:>8.2f}")
    print(f"history events written: {events} ({events / n:.0f} per instance); target ratio >= 0.30")
    print(
        f"sandbox pool, per script: {pooled_us:.0f} us in a sandbox process vs {inline_us:.0f} us in-process "
        f"(+{pooled_us - inline_us:.0f} us round trip); first start of a sandbox process {start_us / 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
