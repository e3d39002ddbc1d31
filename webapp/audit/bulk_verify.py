"""Verify many instances in one run: `flask audit verify` over the whole database.

Each instance is verified fully (engine/replay.verify: chain, replay with every event's
state hash, the stored snapshot, the definition hashes); what a run shares between cases is
only what cannot differ between them: one DefinitionChecks (each stored version read and
re-hashed once per run and process) and one read transaction per batch of cases instead of
one per case.

Replay is CPU work in Python, so one process verifies at most one core's worth. With
`processes` > 1 the ids are split into chunks and verified by a pool of processes. Where the
platform can fork, the pool is forked from this process: its imports, its application and
its parsed specs come along (spawn spent about 9 s of a 32 s run importing and creating
the application again in each process). What must not be shared is dropped in the child:
the database engine's pooled connections (disposed without closing the parent's), the
sandbox pool's pipes (engine/sandbox_pool forgets them at fork), and the parent's app
context and session (each process pushes its own). Elsewhere the pool is spawned and each
process opens its own application from the same settings. The report says
both what the run achieved as a whole (events over wall time, start-up included) and what
each process did while it was busy, so neither figure stands in for the other.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..snapshot_reads import begin_one_snapshot

BATCH = 100  # cases verified in one read transaction
CHUNK = 200  # ids a pool process takes at a time


@dataclass
class BulkResult:
    instances: int = 0
    events: int = 0
    failures: list[tuple[int, dict]] = field(default_factory=list)
    processes: int = 1
    seconds: float = 0.0  # wall time of the whole run, pool start-up included
    busy: dict[int, float] = field(default_factory=dict)  # process id -> seconds spent verifying
    events_by_process: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Events verified per second of the run's wall time."""
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def per_process_rates(self) -> list[float]:
        return [self.events_by_process[pid] / busy for pid, busy in sorted(self.busy.items()) if busy]

    def summary(self) -> str:
        rates = self.per_process_rates
        per = ", ".join(f"{r:,.0f}" for r in rates) or "-"
        return (f"{self.events:,} events in {self.seconds:.1f} s: {self.rate:,.0f} events/s over the run with "
                f"{self.processes} process(es); per process while verifying: {per} events/s")


def _verify_chunk(ids: list[int], checks=None) -> tuple[int, int, list[tuple[int, dict]], int, float]:
    """Verify ids in this process's app context: (pid, ids done, failures, events verified,
    busy seconds). `checks` is the run's; a pool process keeps one for its lifetime (its run)."""
    from ..engine import replay
    from ..extensions import db

    global _checks
    if _start_error:
        raise RuntimeError(_start_error)
    if checks is None:
        if _checks is None:
            _checks = replay.DefinitionChecks()
        checks = _checks
    started = time.perf_counter()
    failures, events = [], 0
    db.session.rollback()
    try:
        for n, instance_id in enumerate(ids):
            if n % BATCH == 0:
                # one snapshot per batch (PostgreSQL: REPEATABLE READ, so a command committing
                # meanwhile is not half seen); on SQLite a reading transaction, not the BEGIN
                # IMMEDIATE of commands (the pool's processes and the writers would take turns)
                begin_one_snapshot(db.session)
            result = replay.verify(instance_id, checks)
            if result["verified"]:
                events += result["events"]
            else:
                failures.append((instance_id, result))
    finally:
        db.session.rollback()
    return os.getpid(), len(ids), failures, events, time.perf_counter() - started


_checks = None  # a pool process's DefinitionChecks


def _start_worker(settings: dict) -> None:
    """A pool process: its own application on the same database, kept for its lifetime."""
    from .. import create_app

    global _app_context, _checks, _start_error
    try:
        app = create_app(settings)
        _app_context = app.app_context()
        _app_context.push()
    except Exception as err:  # noqa: BLE001 - reported by the first chunk: a pool restarts a failed initializer forever
        _start_error = f"a verifying process could not start: {type(err).__name__}: {err}"
    _checks = None


_app_context = None
_start_error: str | None = None
_forked_app = None  # the parent's application, set just before forking the pool


def _start_forked_worker() -> None:
    """A forked pool process: the parent's application, with its own connections and context."""
    import multiprocessing.util

    from ..engine import sandbox_pool
    from ..extensions import db

    global _app_context, _checks, _start_error
    try:
        _app_context = _forked_app.app_context()
        _app_context.push()
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        # a forked process leaves by os._exit (no atexit): stop the sandboxes it started
        multiprocessing.util.Finalize(None, sandbox_pool.shutdown, exitpriority=10)
    except Exception as err:  # noqa: BLE001 - reported by the first chunk, as in _start_worker
        _start_error = f"a verifying process could not start: {type(err).__name__}: {err}"
    _checks = None


def _settings(app) -> dict:
    """The parent's settings a worker needs to open the same database the same way (only
    values that cross a process boundary)."""
    settings = {}
    for key, value in app.config.items():
        if not key.isupper():
            continue
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - a value that cannot be sent is one the worker's Config provides
            continue
        settings[key] = value
    return settings


def pool_possible(app) -> bool:
    """A database only this process can see (SQLite in memory) cannot be verified elsewhere."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return not (uri.startswith("sqlite") and (uri in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in uri))


def verify_ids(app, ids: Iterable[int], processes: int = 1,
               progress: Callable[[int], None] | None = None) -> BulkResult:
    """Verify every id; failures come back in id order."""
    ids = list(ids)
    # chunks small enough that every process gets several (the last ones finish together)
    size = max(1, min(CHUNK, -(-len(ids) // (processes * 4))))
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    pooled = processes > 1 and bool(ids) and pool_possible(app)
    result = BulkResult(instances=len(ids), processes=min(processes, len(chunks)) if pooled else 1)
    started = time.perf_counter()
    if not pooled:
        from ..engine.replay import DefinitionChecks

        checks = DefinitionChecks()
        chunks = [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
        _collect(result, (_verify_chunk(chunk, checks) for chunk in chunks), progress)
    else:
        from ..extensions import db

        global _forked_app
        db.session.rollback()  # nothing of ours held open while the pool reads
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            _forked_app = app
            initializer, initargs = _start_forked_worker, ()
        else:
            context = multiprocessing.get_context("spawn")
            initializer, initargs = _start_worker, (_settings(app),)
        with context.Pool(result.processes, initializer=initializer, initargs=initargs) as pool:
            try:
                _collect(result, pool.imap_unordered(_verify_chunk, chunks), progress)
                pool.close()  # let the processes end normally (their sandboxes are shut down at exit)
                pool.join()
            finally:
                _forked_app = None
    result.seconds = time.perf_counter() - started
    result.failures.sort(key=lambda item: item[0])
    return result


def _collect(result: BulkResult, outcomes, progress) -> None:
    for pid, done, failures, events, busy in outcomes:
        result.failures.extend(failures)
        result.events += events
        result.busy[pid] = result.busy.get(pid, 0.0) + busy
        result.events_by_process[pid] = result.events_by_process.get(pid, 0) + events
        if progress is not None:
            progress(done)
