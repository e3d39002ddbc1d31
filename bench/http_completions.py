"""Over HTTP, through gunicorn on 127.0.0.1: whole instances of the 8-step benchmark process
against plain SpiffWorkflow in memory (interleaved in this process, several rounds), and task
completions per second with their latency.

    .venv/bin/python -m bench.http_completions [--database pg|sqlite|both] [--instances N]
        [--rounds R] [--clients C] [--web W] [--threads T] [--tasks N] [--short] [--alone N]
    make bench-http     # PostgreSQL (a throwaway server from scripts/pg_temp.sh) and SQLite

`--alone N` runs only the "one client alone (latency)" phase (after the same warm-up), with N
whole instances, and prints its p50/p95/p99 and the web processes' and the worker's CPU per
completion-bearing instance: the quick A/B measure of a completion's latency (nothing else
about what is measured changes).

Whole instances: each client starts an instance with POST /api/process-instances, lists its
open tasks with GET /api/tasks?instance_id=, completes each with POST /api/tasks/<id>/complete
until none is left, then takes the next instance; the service task is run by a real worker
process (`flask worker`, the loop `make run` starts, with the benchmark's echo operator
registered). A round ends when the last of its instances is completed (the worker included).
The same round runs the same number of instances in plain SpiffWorkflow in memory
(bench.engine_throughput.plain_spiff) just before, so each round has its own ratio.

Completions alone (PostgreSQL, as before): distinct intake tasks of started instances
completed by the clients, and a plain GET /healthz run the same way as the baseline of the
HTTP stack. Every request is one command, one transaction.

The rate limiter stays on (its cost is part of every request) with an allowance the bench
cannot reach (RATELIMIT_API), and the worker polls every WORKER_POLL_SECONDS (0.05 s here;
1 s in `make run`, where it only adds to each case's wall time, not to throughput).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
WORKER_POLL_SECONDS = "0.05"
BASELINE_INSTANCES = 100  # plain SpiffWorkflow instances run before and after the one-client phase
# Issue 17 set "p50 < 3 ms" on a machine where plain SpiffWorkflow in memory ran this process
# at 489-813 instances/s (the issue's own table): 3 ms was 1.47-2.44 of its instances. Pure
# Python runs about half as fast on the machine of the later stops (242-487/s), so the
# absolute figure alone says more about the machine than about the code.
GOAL_IN_BASELINE_INSTANCES = (0.003 * 489, 0.003 * 813)
RATELIMIT_API = "1000000 per minute"


def _echo(session, params):
    return {"echo": params}


def worker_app():
    """The app of the benchmark's worker process: `flask --app 'bench.http_completions:worker_app()' worker`."""
    from webapp import create_app
    from workers import registry

    registry.override("test/echo", _echo)
    return create_app()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(url: str, tasks: int) -> tuple[str, list[str]]:
    """A fresh database with the 8-step process deployed, a bench admin and its token, and
    `tasks` started instances (their intake tasks open)."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.accounts import create_user, issue_token
    from webapp.engine import clock, definitions, runtime
    from webapp.extensions import db
    from webapp.models import InboxTask
    from workers import registry

    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    registry.override("test/echo", _echo)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = create_user("bench", "bench", ["admin"])
        db.session.commit()
        token = issue_token(user)
        uploads = {p.name: p.read_bytes() for p in (FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json")}
        definitions.deploy(uploads, actor="bench", now=clock.now(), known_operators=registry.names())
        db.session.commit()
        for n in range(tasks):
            runtime.start_instance("eight_steps", {}, actor="bench", commit=n % 100 == 99)
        db.session.commit()
        ids = db.session.scalars(select(InboxTask.id).where(InboxTask.state == "open")).all()
        db.session.remove()
        db.engine.dispose()
    return token, list(ids)


class Client:
    """One kept-alive connection per client thread (a new one when the server closed it, as
    gunicorn's sync workers do after every response)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self._local = threading.local()

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, float, bytes, http.client.HTTPResponse]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):
            connection = getattr(self._local, "http", None)
            if connection is None:
                connection = self._local.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._local.http = None
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                self._local.http = None
            return response.status, (time.perf_counter() - started) * 1000, payload, response
        raise AssertionError("unreachable")


def _load(clients: int, work: list, call) -> tuple[float, list[float]]:
    """Run `call(item)` for every item on `clients` threads; each call returns the latencies
    (ms) it wants counted. Returns the wall time and the sorted latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(work)
    failures: list[BaseException] = []

    def client() -> None:
        while True:
            with lock:
                if not queue or failures:
                    return
                item = queue.pop()
            try:
                measured = call(item)
            except BaseException as err:  # noqa: BLE001  (reported after the join)
                with lock:
                    failures.append(err)
                return
            with lock:
                latencies.extend(measured)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started, sorted(latencies)


def _pct(latencies: list[float], p: float) -> float:
    return latencies[max(0, int(round(p * len(latencies))) - 1)]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")

    def own(p: int) -> tuple[float, int]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0, -1
        return (int(fields[11]) + int(fields[12])) / tick, int(fields[1])

    total = own(pid)[0]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            cpu, parent = own(int(entry))
            if parent == pid:
                total += cpu
    return total


@contextmanager
def _servers(url: str, web: int, threads: int, worker: bool):
    """gunicorn (and optionally the worker process) on a free port; yields the port and a
    function answering the CPU seconds used so far by the web processes and by the worker."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": os.urandom(32).hex(),
           "RATELIMIT_API": RATELIMIT_API, "WORKER_POLL_SECONDS": WORKER_POLL_SECONDS}
    gthread = (["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "5"] if threads > 1
               else ["--worker-class", "sync"])  # explicit: gunicorn.conf.py (read from ROOT) says gthread
    processes = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(web), "--bind", f"127.0.0.1:{port}", *gthread,
         "webapp:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    if worker:
        processes.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "flask"), "--app", "bench.http_completions:worker_app()", "worker"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.time() + 60
        probe = Client(port, "")
        while True:
            try:
                probe.request("GET", "/healthz")
                break
            except (OSError, http.client.HTTPException):
                if time.time() > deadline or processes[0].poll() is not None:
                    raise
                time.sleep(0.2)
        def cpu() -> tuple[float, float]:
            return _cpu_seconds(processes[0].pid), (_cpu_seconds(processes[1].pid) if worker else 0.0)

        yield port, cpu
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _one_instance(client: Client) -> list[float]:
    """Start an instance and complete its user tasks over the API; the completions' latencies."""
    status, _, body, _ = client.request("POST", "/api/process-instances", {"process_key": "eight_steps", "data": {}})
    assert status == 201, (status, body)
    instance_id = json.loads(body)["id"]
    latencies = []
    while True:
        status, _, body, _ = client.request("GET", f"/api/tasks?instance_id={instance_id}")
        assert status == 200, (status, body)
        tasks = json.loads(body)
        if not tasks:
            return latencies
        for task in tasks:
            data = {"amount": 500} if task["bpmn_id"] == "intake" else {}
            status, ms, body, _ = client.request("POST", f"/api/tasks/{task['id']}/complete", {"data": data})
            assert status == 200, (status, body)
            latencies.append(ms)


def _running(client: Client) -> int:
    status, _, body, response = client.request("GET", "/api/process-instances?process_key=eight_steps&status=running&limit=1")
    assert status == 200, (status, body)
    return int(response.getheader("X-Total-Count"))


def _instances_round(client: Client, n: int, clients: int) -> tuple[float, list[float]]:
    """n whole instances on `clients` threads; the wall time runs until the worker has
    completed the last one."""
    started = time.perf_counter()
    _, latencies = _load(clients, range(n), lambda _: _one_instance(client))
    deadline = time.time() + 120
    while _running(client):
        assert time.time() < deadline, "the worker did not finish the instances"
        time.sleep(0.01)
    return time.perf_counter() - started, latencies


def _span(values: list[float], fmt: str) -> str:
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"


def _load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def whole_instances(url: str, name: str, args) -> list[str]:
    from bench.engine_throughput import plain_spiff

    token, _ = _prepare(url, 0)
    memory, rates, p50, p95, p99 = [], [], [], [], []
    print(f"{name}: before {_load_average()}", flush=True)
    lines = []
    web_ms, worker_ms = [], []
    with _servers(url, args.web, args.threads, worker=True) as (port, cpu):
        client = Client(port, token)
        _instances_round(client, max(4, args.clients), args.clients)  # warm up: specs parsed, connections open
        for round_ in range(args.rounds):
            memory.append(plain_spiff(args.instances))
            web_before, worker_before = cpu()
            elapsed, latencies = _instances_round(client, args.instances, args.clients)
            web_after, worker_after = cpu()
            rates.append(args.instances / elapsed)
            p50.append(statistics.median(latencies))
            p95.append(_pct(latencies, 0.95))
            p99.append(_pct(latencies, 0.99))
            web_ms.append((web_after - web_before) / args.instances * 1000)
            worker_ms.append((worker_after - worker_before) / args.instances * 1000)
            print(f"  round {round_ + 1}: in memory {memory[-1]:.0f}/s, over HTTP {rates[-1]:.1f}/s, "
                  f"ratio {rates[-1] / memory[-1]:.3f}, complete p50 {p50[-1]:.1f} ms; CPU per instance: "
                  f"web {web_ms[-1]:.1f} ms, worker {worker_ms[-1]:.1f} ms", flush=True)
        # one client alone: a completion's latency when the server is not queueing requests
        alone_memory = [plain_spiff(BASELINE_INSTANCES)]
        _, alone = _instances_round(client, max(10, args.instances // 4), 1)
        alone_memory.append(plain_spiff(BASELINE_INSTANCES))
    ratios = [r / m for r, m in zip(rates, memory, strict=True)]
    print(f"{name}: after {_load_average()}", flush=True)
    lines.append(f"{'whole instances over HTTP, ' + name:<52}{_span(rates, '{:.1f}'):>14}{_span(ratios, '{:.3f}'):>14}"
                 f"{_span(p50, '{:.1f}'):>13}{_span(p95, '{:.1f}'):>13}{_span(p99, '{:.1f}'):>14}")
    lines.append(f"{'  one client alone (latency)':<52}{'':>14}{'':>14}{statistics.median(alone):>13.1f}"
                 f"{_pct(alone, 0.95):>13.1f}{_pct(alone, 0.99):>14.1f}")
    lines.append(_in_baseline_instances(statistics.median(alone), alone_memory))
    lines.append(f"{'  plain SpiffWorkflow in memory, same rounds':<52}{_span(memory, '{:.0f}'):>14}{'1':>14}")
    lines.append(f"  server CPU per instance: web processes {_span(web_ms, '{:.1f}')} ms, "
                 f"worker {_span(worker_ms, '{:.1f}')} ms")
    return lines


def alone_only(url: str, name: str, args) -> list[str]:
    """Only the one-client phase of whole_instances (the same warm-up first): its latency and
    the server's CPU per instance (7 requests: a start, 3 lists, 3 completions), and the p50
    against plain SpiffWorkflow in memory run just before and after."""
    from bench.engine_throughput import plain_spiff

    token, _ = _prepare(url, 0)
    before = _load_average()
    with _servers(url, args.web, args.threads, worker=True) as (port, cpu):
        client = Client(port, token)
        _instances_round(client, max(4, args.clients), args.clients)
        memory = [plain_spiff(BASELINE_INSTANCES)]
        web_before, worker_before = cpu()
        _, alone = _instances_round(client, args.alone, 1)
        web_after, worker_after = cpu()
        memory.append(plain_spiff(BASELINE_INSTANCES))
    return [f"{name}: one client alone, {args.alone} instances ({len(alone)} completions): p50 "
            f"{statistics.median(alone):.2f} ms, p95 {_pct(alone, 0.95):.2f}, p99 {_pct(alone, 0.99):.2f}; CPU per "
            f"instance: web {(web_after - web_before) / args.alone * 1000:.2f} ms, worker "
            f"{(worker_after - worker_before) / args.alone * 1000:.2f} ms; before {before}, after {_load_average()}",
            _in_baseline_instances(statistics.median(alone), memory)]


def _in_baseline_instances(p50_ms: float, memory: list[float]) -> str:
    """The p50 in units of the time plain SpiffWorkflow takes for a whole instance in memory,
    measured just before and just after the latencies: a figure that does not move with the
    machine's speed (see GOAL_IN_BASELINE_INSTANCES)."""
    rate = statistics.mean(memory)
    return (f"  p50 = {p50_ms * rate / 1000:.2f} x plain SpiffWorkflow's time for a whole instance in memory "
            f"({_span(memory, '{:.0f}')}/s just before and after); the goal's p50 < 3 ms on the machine it was "
            f"set on was {GOAL_IN_BASELINE_INSTANCES[0]:.2f}-{GOAL_IN_BASELINE_INSTANCES[1]:.2f} x")


def completions(url: str, args) -> list[str]:
    token, ids = _prepare(url, args.tasks)
    with _servers(url, args.web, args.threads, worker=False) as (port, _):
        client = Client(port, token)

        def healthz(_):
            status, ms, _, _ = client.request("GET", "/healthz")
            assert status == 200, status
            return [ms]

        def complete(task_id):
            status, ms, body, _ = client.request("POST", f"/api/tasks/{task_id}/complete", {"data": {"amount": 500}})
            assert status == 200, (status, body)
            return [ms]

        health = _load(args.clients, range(args.tasks), healthz)
        alone, together = ids[: len(ids) // 5], ids[len(ids) // 5:]
        single = _load(1, alone, complete)  # latency of one request with the server otherwise idle
        concurrent = _load(args.clients, together, complete)

    def row(label: str, count: int, elapsed: float, latencies: list[float]) -> str:
        return (f"{label:<44}{count / elapsed:>10.1f}{statistics.median(latencies):>9.1f}"
                f"{_pct(latencies, 0.95):>9.1f}{_pct(latencies, 0.99):>9.1f}")

    return [
        f"completions alone, PostgreSQL: {args.tasks} requests each; {_load_average()}",
        f"{'request':<44}{'per s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
        row("GET /healthz (baseline: HTTP stack)", args.tasks, *health),
        row("POST /api/tasks/<id>/complete, 1 client", len(alone), *single),
        row(f"POST /api/tasks/<id>/complete, {args.clients} clients", len(together), *concurrent),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["pg", "sqlite", "both"], default="both",
                        help="pg needs DATABASE_URL (postgresql+psycopg://...)")
    parser.add_argument("--instances", type=int, default=150, help="whole instances per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1000, help="completions alone (PostgreSQL)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "4")),
                        help="> 1: gunicorn's gthread workers, which keep connections alive")
    parser.add_argument("--no-completions", action="store_true", help="skip the completions-alone rows")
    parser.add_argument("--short", action="store_true", help="40 instances, 2 rounds, 300 completions: for development")
    parser.add_argument("--alone", type=int, default=0, metavar="N",
                        help="only the one-client latency phase, N whole instances (quick A/B runs)")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # migrations and the engine log at INFO: not what is measured
    if args.short:
        args.instances, args.rounds, args.tasks = 40, 2, 300
    pg_url = os.environ.get("DATABASE_URL", "")
    use_pg = args.database in ("pg", "both") and pg_url.startswith("postgresql")
    if args.database == "pg" and not use_pg:
        parser.error("--database pg needs DATABASE_URL=postgresql+psycopg://...")
    kind = f"gthread x{args.threads}, keep-alive" if args.threads > 1 else "sync"
    print(f"gunicorn with {args.web} processes ({kind}) on 127.0.0.1, {args.clients} concurrent clients; "
          f"worker: one `flask worker` process (poll {WORKER_POLL_SECONDS} s)", flush=True)
    lines: list[str] = []
    if args.alone:
        if use_pg:
            lines += alone_only(pg_url, "PostgreSQL", args)
        if args.database in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                lines += alone_only(f"sqlite:///{tmp}/bench.db", "SQLite", args)
        print("\n".join(lines))
        return
    if use_pg:
        lines += whole_instances(pg_url, "PostgreSQL", args)
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            lines += whole_instances(f"sqlite:///{tmp}/bench.db", "SQLite", args)
    print(f"8-step process, {args.instances} instances per path and round, {args.rounds} rounds interleaved")
    print(f"{'path':<52}{'instances/s':>14}{'ratio':>14}{'p50 ms':>13}{'p95 ms':>13}{'p99 ms':>14}")
    print("\n".join(lines))
    print("(p50/p95/p99: POST /api/tasks/<id>/complete within whole instances; goal: ratio >= 0.08, p50 < 3 ms)")
    if use_pg and not args.no_completions:
        print("\n".join(completions(pg_url, args)))


if __name__ == "__main__":
    main()
