"""Task completions per second and p50/p99 latency over HTTP through gunicorn, with a bounded
number of concurrent clients on loopback, on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m bench.http_completions [tasks] [clients] [web_processes] [threads]
    make bench-http     # starts a throwaway PostgreSQL, runs this, stops it

Each client completes distinct open tasks (the intake task of the 8-step benchmark
process) with POST /api/tasks/<id>/complete: every request is one command, one transaction.
A plain GET /healthz run the same way is the baseline of the HTTP stack alone.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PORT = int(os.environ.get("BENCH_PORT", "56200"))


def _prepare(url: str, tasks: int) -> tuple[str, list[str]]:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.accounts import create_user, issue_token
    from webapp.engine import clock, definitions, runtime
    from webapp.extensions import db
    from webapp.models import InboxTask
    from workers import registry

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    registry.override("test/echo", lambda session, params: {"echo": params})
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
    return token, list(ids)


_connections = threading.local()


def _request(method: str, path: str, token: str, body: dict | None = None) -> tuple[int, float]:
    """One request on this client thread's kept-alive connection (a new one if the server
    closed it, as gunicorn's sync workers do after every response)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for attempt in (1, 2):
        connection = getattr(_connections, "http", None)
        if connection is None:
            connection = _connections.http = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            response.read()
        except (http.client.HTTPException, ConnectionError):
            connection.close()
            _connections.http = None
            if attempt == 2:
                raise
            continue
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            _connections.http = None
        return response.status, (time.perf_counter() - started) * 1000
    raise AssertionError("unreachable")


def _load(clients: int, work: list, call) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(work)

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            status, ms = call(item)
            assert status == 200, status
            with lock:
                latencies.append(ms)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, sorted(latencies)


def _row(name: str, count: int, elapsed: float, latencies: list[float]) -> str:
    p99 = latencies[max(0, int(round(0.99 * len(latencies))) - 1)]
    return f"{name:<40}{count / elapsed:>10.1f}{statistics.median(latencies):>9.1f}{p99:>9.1f}"


def main() -> None:
    url = os.environ["DATABASE_URL"]
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    web = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    # threads > 1: gunicorn's gthread workers, which keep connections alive between requests
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else int(os.environ.get("BENCH_THREADS", "4"))
    token, ids = _prepare(url, tasks)
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": os.urandom(32).hex()}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(web), "--bind", f"127.0.0.1:{PORT}",
         *(["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "5"] if threads > 1 else []),
         "webapp:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                _request("GET", "/healthz", token)
                break
            except (OSError, http.client.HTTPException):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        health = _load(clients, range(tasks), lambda _: _request("GET", "/healthz", token))
        def complete(task_id):
            return _request("POST", f"/api/tasks/{task_id}/complete", token, {"data": {"amount": 500}})

        alone, together = ids[: len(ids) // 5], ids[len(ids) // 5:]
        single = _load(1, alone, complete)  # latency of one request with the server otherwise idle
        completions = _load(clients, together, complete)
    finally:
        server.terminate()
        server.wait(timeout=30)
    kind = f"gthread x{threads}, keep-alive" if threads > 1 else "sync"
    print(f"gunicorn with {web} processes ({kind}) on 127.0.0.1, {clients} concurrent clients, PostgreSQL; "
          f"{tasks} requests each; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'request':<40}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print(_row("GET /healthz (baseline: HTTP stack)", tasks, *health))
    print(_row("POST /api/tasks/<id>/complete, 1 client", len(alone), *single))
    print(_row(f"POST /api/tasks/<id>/complete, {clients} clients", len(together), *completions))


if __name__ == "__main__":
    main()
