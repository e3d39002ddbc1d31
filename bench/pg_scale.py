"""Scale-out on PostgreSQL: jobs per second and instances per second with 1, 2 and 4
worker processes, ratios against the single process measured in the same run.

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m bench.pg_scale [jobs] [instances] [--rounds R]
    make bench-pg      # starts a throwaway PostgreSQL, runs this, stops it

Each process imports and connects before the clock starts, and the clock stops when the last
process has done its last piece of work: a worker process runs for days, so its start-up
and its exit (~0.6 s of CPU here: the interpreter's final garbage collections) are not part of
its throughput. Each exit's CPU is printed below the table. In the instance rounds each
process also runs one whole instance before the clock starts (a fresh process's first one
costs ~50-90 ms more: the diagram read from the database, statements not yet prepared).
jobs/s: W processes of the real worker loop drain the same number of waiting jobs
(one service task each, the handler writing one row; fetch with SKIP LOCKED and a lease,
handler + completion + next step in one transaction).
instances/s: W processes each run whole instances of the 8-step benchmark process
(start, three user tasks, the service job) through the engine, every input one transaction.
Each instance round has its own in-memory SpiffWorkflow baseline, run in this process just
before and just after it (their mean); 2 processes (the issue's goal) run R rounds (3) and
print ranges.

Where the time goes, per instance (when the server runs on this machine): the benchmark
processes' own CPU (each measures itself between the start signal and its end), the
PostgreSQL server's CPU (the postmaster with every backend, live or exited) and the rest of
the machine's busy time in the same window (script sandboxes, anything else running).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _app(url: str):
    from webapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def _reset(url: str) -> None:
    from flask_migrate import upgrade

    from webapp.accounts import create_user
    from webapp.engine import clock, definitions
    from webapp.extensions import db
    from workers import registry

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    registry.override("test/record", lambda session, params: {"ok": True})
    registry.override("test/echo", lambda session, params: {"echo": params})
    app = _app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        create_user("bench", "bench", ["admin"])
        for files in (["one_service.bpmn"], ["eight_steps.bpmn", "eight-intake-schema.json"]):
            uploads = {name: (FIXTURES / name).read_bytes() for name in files}
            definitions.deploy(uploads, actor="bench", now=clock.now(), known_operators=registry.names())
        db.session.commit()


def _create_jobs(url: str, n: int) -> None:
    from webapp.engine import runtime
    from webapp.extensions import db

    with _app(url).app_context():
        for i in range(n):
            runtime.start_instance("one_service", {}, actor="bench", business_key=f"J{i:06d}", commit=False)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()


def _child(mode: str, url: str, worker_id: str, count: int, gate: str) -> None:
    """One benchmark process: drain jobs until none is left, or run `count` instances.
    It imports and connects first, then waits at the gate, so start-up is not timed."""
    from webapp.api import task_list
    from webapp.engine import runtime
    from webapp.extensions import db
    from workers import registry
    from workers.loop import WorkerSettings, fetch_job, run_job

    registry.override("test/record", lambda session, params: {"ok": True})
    registry.override("test/echo", lambda session, params: {"echo": params})
    settings = WorkerSettings(lease_seconds=60)
    # the client's question "which tasks of this case are open?", read with the task list's
    # own code (GET /api/tasks?instance_id=... as an admin calls it, every field of its
    # answer), as bench/engine_throughput.py does
    roles = {"admin"}

    def run_instances(n: int) -> None:
        for _ in range(n):
            instance_id = runtime.start_instance("eight_steps", {}, actor=worker_id).id
            while tasks := task_list.open_tasks(instance_id=instance_id, me=worker_id, who="all", roles=roles,
                                                limit=None, offset=0)[0]:
                for task_id, bpmn_id in ((task["id"], task["bpmn_id"]) for task in tasks):
                    data = {"amount": 500} if bpmn_id == "intake" else {}
                    runtime.complete_user_task(task_id, data, actor=worker_id, roles={"admin"})
            if (job := fetch_job(worker_id, settings)) is not None:  # any waiting job, maybe another process's
                run_job(job.id, worker_id, settings)

    with _app(url).app_context():
        db.session.execute(select(1))
        db.session.rollback()
        if mode == "instances":
            run_instances(WARM_UP_INSTANCES)
        Path(gate, f"ready-{worker_id}").touch()
        while not Path(gate, "go").exists():
            time.sleep(0.01)
        cpu_start = time.process_time()
        if mode == "instances":
            run_instances(count)
        while (job := fetch_job(worker_id, settings)) is not None:
            run_job(job.id, worker_id, settings)
        cpu_end, ended = time.process_time(), time.monotonic()
        Path(gate, f"cpu-{worker_id}").write_text(f"{cpu_end - cpu_start} {ended} {cpu_end}")
        # the parent reads the machine's and the server's CPU at this moment, then lets us exit
        while not Path(gate, "exit").exists():
            time.sleep(0.01)


WARM_UP_INSTANCES = 1  # per process, before the clock starts
_TICK = os.sysconf("SC_CLK_TCK")


def _postmaster(url: str) -> int | None:
    """The PostgreSQL server's main process, if it runs on this machine (its /proc is readable)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:  # read while the backend lives (it exits with the connection)
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
    finally:
        engine.dispose()


def _server_cpu(postmaster: int | None) -> float | None:
    """Seconds of CPU of the server: the postmaster's own and its exited children's (reaped
    backends), plus what its live children used so far."""
    if postmaster is None:
        return None
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(v) for v in fields[11:15])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _machine_busy() -> float:
    """Seconds of busy CPU on all cores so far (/proc/stat: everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICK


def _run_processes(mode: str, url: str, processes: int, per_process: int, postmaster: int | None = None) -> tuple:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as gate:
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.pg_scale", "--child", mode, url, f"p{i}", str(per_process), gate], cwd=ROOT, env=env
            )
            for i in range(processes)
        ]
        while len(list(Path(gate).glob("ready-*"))) < processes:
            time.sleep(0.01)
        server, busy = _server_cpu(postmaster), _machine_busy()
        started = time.monotonic()  # system-wide: the children's end times are on the same clock
        Path(gate, "go").touch()
        while len(reports := list(Path(gate).glob("cpu-*"))) < processes:
            if any(child.poll() not in (None, 0) for child in children):
                for child in children:  # the others would wait for "exit" in a folder about to go
                    child.kill()
                raise SystemExit("a benchmark process failed")
            time.sleep(0.005)
        busy = _machine_busy() - busy
        server = None if server is None else _server_cpu(postmaster) - server
        figures = [[float(v) for v in p.read_text().split()] for p in reports]
        Path(gate, "exit").touch()
        whole_lives = 0.0
        for child in children:
            _, child.returncode, usage = os.wait4(child.pid, 0)
            assert child.returncode == 0
            whole_lives += usage.ru_utime + usage.ru_stime
        exit_cpu = (whole_lives - sum(cpu_at_end for _, _, cpu_at_end in figures)) / processes
        elapsed = max(ended for _, ended, _ in figures) - started
        clients = sum(cpu for cpu, _, _ in figures)
        return elapsed, clients, server, busy, exit_cpu


def _count_done(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        jobs = conn.execute(text("SELECT count(*) FROM jobs WHERE status = 'done'")).scalar()
        instances = conn.execute(text("SELECT count(*) FROM instances WHERE status = 'completed'")).scalar()
    engine.dispose()
    return jobs, instances


def _span(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return format(low, fmt) if len(values) == 1 else f"{low:{fmt}}-{high:{fmt}}"


def _instance_round(url: str, processes: int, instances: int, postmaster: int | None) -> tuple[float, float, tuple]:
    """One timed run of whole instances, with plain SpiffWorkflow in memory run just before and
    just after it in this process: (instances/s, the two baselines' mean, CPU per instance).
    The machine's pure-Python speed moves between minutes, so a ratio is only fair against a
    baseline measured next to it."""
    from bench.engine_throughput import plain_spiff

    before = plain_spiff(instances)
    _reset(url)
    per_process = instances // processes
    elapsed, clients, server, busy, exit_cpu = _run_processes("instances", url, processes, per_process, postmaster)
    _, completed = _count_done(url)
    assert completed == (per_process + WARM_UP_INSTANCES) * processes, completed
    timed = per_process * processes
    after = plain_spiff(instances)
    cpu = (clients / timed, None if server is None else server / timed, busy / timed, exit_cpu)
    return timed / elapsed, (before + after) / 2, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description="PostgreSQL scale-out: jobs/s and instances/s with 1, 2 and 4 processes.")
    parser.add_argument("jobs", nargs="?", type=int, default=2000, help="waiting jobs drained per row (default 2000)")
    parser.add_argument("instances", nargs="?", type=int, default=400, help="whole instances per round (default 400)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="instance rounds with 2 processes, each against its own baseline (default 3)")
    args = parser.parse_args()
    if args.jobs < 1 or args.instances < 4 or args.rounds < 1:
        parser.error("jobs >= 1, instances >= 4 (split among 4 processes) and rounds >= 1")
    url = os.environ["DATABASE_URL"]
    jobs, instances = args.jobs, args.instances
    from bench.engine_throughput import _load

    print(f"before: {_load()}")
    rows, cpu_rows = [], []
    postmaster = _postmaster(url)
    for processes in (1, 2, 4):
        _reset(url)
        _create_jobs(url, jobs)
        elapsed, *_ = _run_processes("jobs", url, processes, 0)
        done, _ = _count_done(url)
        assert done == jobs, (done, jobs)
        rounds = [_instance_round(url, processes, instances, postmaster)
                  for _ in range(args.rounds if processes == 2 else 1)]
        rows.append((processes, jobs / elapsed, rounds))
        cpu_rows.extend((processes, cpu) for _, _, cpu in rounds)
    base_jobs, base_instances = rows[0][1], rows[0][2][0][0]
    print(f"PostgreSQL, {jobs} jobs per row and {instances} instances of the 8-step process per round; ratios vs 1")
    print("process and vs plain SpiffWorkflow in memory (run just before and after each round; its instances/s")
    print(f"in the last column); 2 processes: {args.rounds} rounds, ranges")
    print(f"{'processes':>10}{'jobs/s':>12}{'ratio':>8}{'instances/s':>16}{'ratio':>12}{'vs memory':>13}{'memory/s':>14}")
    for processes, job_rate, rounds in rows:
        rates = [rate for rate, _, _ in rounds]
        print(
            f"{processes:>10}{job_rate:>12.1f}{job_rate / base_jobs:>8.2f}{_span(rates, '.1f'):>16}"
            f"{_span([rate / base_instances for rate in rates], '.2f'):>12}"
            f"{_span([rate / memory for rate, memory, _ in rounds], '.3f'):>13}"
            f"{_span([memory for _, memory, _ in rounds], '.1f'):>14}"
        )
    print(f"(machine: {os.cpu_count()} cores; more processes than cores cannot scale further)")
    print("CPU per instance (ms), each round: benchmark processes, PostgreSQL server, rest of the machine's busy time;")
    print("then each process's exit after its last instance (s of CPU, not timed)")
    for processes, (clients, server, busy, exit_cpu) in cpu_rows:
        server_text = "n/a" if server is None else f"{server * 1000:.2f}"
        rest = "n/a" if server is None else f"{(busy - clients - server) * 1000:.2f}"
        print(f"{processes:>10} processes: clients {clients * 1000:.2f}, server {server_text}, rest {rest}; "
              f"exit {exit_cpu:.2f} s")
    print(f"after: {_load()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        main()
