"""The worker: fetch a job under a lease, run its handler, complete the service task in the
same transaction as the handler's writes; fire due timers. Coordination goes only through
the database, so any number of workers may run."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, or_, select, update

from webapp import webhooks
from webapp.engine import clock, plain_sql, runtime
from webapp.engine.errors import EngineError
from webapp.engine.steps import WorkflowError
from webapp.extensions import db
from webapp.models import Instance, Job
from webapp.webhooks import delivery as webhook_delivery
from webapp.webhooks import outbox

from . import registry

log = logging.getLogger("aftersales.worker")


@dataclass
class WorkerSettings:
    lease_seconds: int = 60
    backoff_base_seconds: int = 30
    poll_seconds: float = 1.0
    checkpoint_minutes: float = 0  # sign a checkpoint this often (0: never from the worker)

    @classmethod
    def from_config(cls, config) -> WorkerSettings:
        return cls(config["JOB_LEASE_SECONDS"], config["JOB_BACKOFF_BASE_SECONDS"], config["WORKER_POLL_SECONDS"],
                   config.get("CHECKPOINT_INTERVAL_MINUTES", 0))


def checkpoint_if_due(settings: WorkerSettings) -> bool:
    """Sign a checkpoint when the last one is older than the interval (its own transaction).
    Two workers at the same moment may both sign one: harmless, each is a true checkpoint."""
    if settings.checkpoint_minutes <= 0:
        return False
    from webapp.audit import checkpoints

    if not checkpoints.due(timedelta(minutes=settings.checkpoint_minutes), clock.now()):
        db.session.rollback()
        return False
    row = checkpoints.create("worker")
    db.session.commit()
    log.info("checkpoint signed", extra={"checkpoint": row.id, "digest": row.digest})
    return True


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# The worker's statement of every job, on the driver (engine/plain_sql.py): the next due job
# (SKIP LOCKED on PostgreSQL, so workers pass each other) leased to this worker, in one
# UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING the job's row, so the
# job's own transaction does not read it again.
_NEXT_JOB = (
    select(Job.id)
    .where(
        Job.status == "ready",
        Job.run_at <= bindparam("now"),
        or_(Job.locked_by.is_(None), Job.lock_expires_at < bindparam("now")),
    )
    .order_by(Job.run_at, Job.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_JOB_ROW = plain_sql.Loader(Job)
_LEASE_NEXT = plain_sql.Statement(
    update(Job).where(Job.id == _NEXT_JOB.scalar_subquery())
    .values(locked_by=bindparam("v_by"), lock_expires_at=bindparam("v_until"), attempts=Job.attempts + 1)
    .returning(*_JOB_ROW.columns)
)
# After the handler: the job row locked (is the lease still ours?) and the instance the
# service task completes on, read in one statement (runtime.load_instance then finds it held).
_INSTANCE_ROW = plain_sql.Loader(Instance)
_LOCKED_BY_AND_INSTANCE = plain_sql.Statement(
    select(Job.locked_by, *_INSTANCE_ROW.columns)
    .select_from(Job.__table__.join(Instance.__table__, Instance.id == Job.instance_id))
    .where(Job.id == bindparam("w_id"))
    .with_for_update(of=Job.__table__)
)
_INSTANCE_END = 1 + len(_INSTANCE_ROW.columns)
# PostgreSQL: the lease check and the job's "done" in one statement, which also reads the
# instance and answers the outbox's question: the job row updated only while the lease is
# still ours (the UPDATE waits for another worker's lock, then looks at the row as that one
# left it, as FOR UPDATE does), and the instance of the row it updated. No row: the lease
# was lost. One statement fewer per job than the lock read and a separate UPDATE at the end
# (the same transaction: a handler or workflow error rolls the "done" back with the rest).
_DONE_IF_OURS = (
    update(Job).where(Job.id == bindparam("w_id"), Job.locked_by == bindparam("w_by"))
    .values(status="done", finished_at=bindparam("v_at"), locked_by=None, lock_expires_at=None)
    .returning(Job.instance_id).cte("done")
)
_DONE_AND_INSTANCE = plain_sql.Statement(
    select(*_INSTANCE_ROW.columns, *outbox.asked_with(Instance.__table__.c.id))
    .select_from(Instance.__table__.join(_DONE_IF_OURS, _DONE_IF_OURS.c.instance_id == Instance.id))
)
_DONE_INSTANCE_END = len(_INSTANCE_ROW.columns)


def fetch_job(worker_id: str, settings: WorkerSettings) -> Job | None:
    """Lock the next due job for this worker (its own short transaction). The job comes
    back holding the row as the lease wrote it (nobody else may change it while the lease
    runs; `run_job` checks the lease again under a row lock before it completes the task)."""
    now = clock.now()
    until = now + timedelta(seconds=settings.lease_seconds)
    # sent unread and read after the commit: on PostgreSQL the UPDATE and its COMMIT travel
    # in one write and one sync (one wait for the server, not two); its error, if any, comes
    # out of the commit
    leased = plain_sql.Later(db.session, _LEASE_NEXT, {"now": now, "v_by": worker_id, "v_until": until}, early=False)
    # commit even when nothing was found: a rollback makes psycopg drop every prepared
    # statement of the connection (DEALLOCATE ALL), and the next commands would prepare
    # them all again; the UPDATE changed nothing, so both end the same
    db.session.commit()
    found = leased.rows()
    if not found:
        return None
    return _JOB_ROW.take(db.session, found[0])  # the session's job (expired by the commit) gets the row


class _Beats:
    """The process's one heartbeat thread: it extends, from a second connection, the lease of
    every job whose handler runs now, each every lease/3 seconds. (A thread started and
    joined per job cost ~0.1 ms of CPU and up to a millisecond of waiting on every job, most
    of whose handlers end long before their first beat.)"""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._leases: dict[int, list] = {}  # job id -> [worker id, settings, engine, next beat (monotonic)]
        self._beating: set[int] = set()  # jobs whose UPDATE is running now
        self._thread: threading.Thread | None = None
        self._pid = 0
        # when the sleeping thread wakes by itself (monotonic); -inf while it is awake: it looks
        # at every lease before it sleeps again
        self._wake_at = float("-inf")
        self._idle = 1.0  # how long the thread sleeps with no lease (the last lease's interval)

    def add(self, job_id: int, worker_id: str, settings: WorkerSettings, engine) -> None:
        with self._cond:
            interval = self._interval(settings)
            first_beat = time.monotonic() + interval
            self._leases[job_id] = [worker_id, settings, engine, first_beat]
            self._idle = interval
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked child has no thread of its parent's
                self._wake_at = float("-inf")
                self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
                self._thread.start()
            elif first_beat < self._wake_at:
                # the thread would sleep past this job's first beat. Otherwise it is not woken:
                # waking it for every job (most end long before their first beat) cost ~3 % of
                # a bench-pg instance's client CPU (thread switches, the GIL handed back and forth)
                self._cond.notify()

    def remove(self, job_id: int) -> None:
        """No beat of this job after this returns (one running now is waited for): the job's
        transaction goes on to lock its row."""
        with self._cond:
            self._leases.pop(job_id, None)
            while job_id in self._beating:
                self._cond.wait()

    @staticmethod
    def _interval(settings: WorkerSettings) -> float:
        return max(settings.lease_seconds / 3, 0.2)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._wake_at = float("-inf")
                now = time.monotonic()
                due = [(job_id, entry[:3]) for job_id, entry in self._leases.items() if entry[3] <= now]
                if not due:
                    # with no lease, wake after an interval anyway: a job added meanwhile has its
                    # first beat later than that, so adding it need not wake the thread
                    wake = min((entry[3] for entry in self._leases.values()), default=now + self._idle)
                    self._wake_at = wake
                    self._cond.wait(wake - now)
                    continue
                for job_id, entry in due:
                    self._leases[job_id][3] = now + self._interval(entry[1])
                    self._beating.add(job_id)
            for job_id, (worker_id, settings, engine) in due:
                try:
                    self._beat(job_id, worker_id, settings, engine)
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one; the lease check decides
                    log.warning("lease heartbeat failed", extra={"job": job_id}, exc_info=True)
                finally:
                    with self._cond:
                        self._beating.discard(job_id)
                        self._cond.notify_all()

    @staticmethod
    def _beat(job_id: int, worker_id: str, settings: WorkerSettings, engine) -> None:
        now = clock.now()
        with engine.begin() as conn:
            conn.execute(
                update(Job)
                .where(Job.id == job_id, Job.locked_by == worker_id)
                .values(lock_expires_at=now + timedelta(seconds=settings.lease_seconds), heartbeat_at=now)
            )


_BEATS = _Beats()


class Heartbeat:
    """Extends the lease of a long job from a second connection while its handler runs (the
    process's one heartbeat thread, `_Beats`).

    Only on PostgreSQL: SQLite has one writer, and the job's own transaction holds it.
    """

    def __init__(self, job_id: int, worker_id: str, settings: WorkerSettings) -> None:
        self.job_id, self.worker_id, self.settings = job_id, worker_id, settings
        self._added = False

    def __enter__(self) -> Heartbeat:
        if db.engine.dialect.name != "sqlite":
            _BEATS.add(self.job_id, self.worker_id, self.settings, db.engine)
            self._added = True
        return self

    def __exit__(self, *exc) -> None:
        if self._added:
            _BEATS.remove(self.job_id)


def run_job(job_id: int, worker_id: str, settings: WorkerSettings) -> str:
    """Run one locked job. Returns done | failed | incident | lost | released | cancelled."""
    job = _JOB_ROW.get(db.session, job_id)
    if job is None or job.locked_by != worker_id:
        db.session.rollback()
        return "lost"
    actor = f"worker:{worker_id}"
    context = {"job": job_id, "instance": job.instance_id, "task": job.task_id, "operator": job.operator}
    if job.operator == webhooks.OPERATOR:  # a webhook POST: no service task to complete
        return webhook_delivery.run(job_id, worker_id)
    try:
        if job.operator in runtime.ENGINE_OPERATORS:
            # committed by the command itself: a stale case found by the commit is its 409
            runtime.run_engine_job(job, actor=actor)
            log.info("engine job done", extra=context)
            return "done"
        handler = registry.get(job.operator)
        with Heartbeat(job_id, worker_id, settings):
            result = handler(db.session, dict(job.parameters))
        # Lock the job row: if our lease ran out and another worker took the job, its
        # result wins and everything this handler wrote is rolled back.
        marked_done = plain_sql.dialect_of(db.session).name == "postgresql"
        if marked_done:
            now = clock.now()
            ours = plain_sql.fetch_one(db.session, _DONE_AND_INSTANCE, {"w_id": job_id, "w_by": worker_id, "v_at": now})
            if ours is None:
                return _lost(context)
            # held here: the session's identity map keeps only what something refers to
            instance = _INSTANCE_ROW.take(db.session, ours[:_DONE_INSTANCE_END])
            outbox.answered(db.session, instance.id, *ours[_DONE_INSTANCE_END:])
            runtime.job_row_done(job, now)
        else:
            still_ours = plain_sql.fetch_one(db.session, _LOCKED_BY_AND_INSTANCE, {"w_id": job_id})
            if still_ours is None or still_ours[0] != worker_id:
                return _lost(context)
            instance = _INSTANCE_ROW.take(db.session, still_ours[1:_INSTANCE_END])
        # committed by the command: on PostgreSQL the COMMIT then travels with its writes and
        # a case changed meanwhile is found there (a 409, as when found before the commit)
        runtime.complete_service_task(job, result, actor=actor, marked_done=marked_done)
        log.info("job done", extra=context)
        return "done"
    except WorkflowError as err:
        # The handler is fine but the diagram's code after it failed or was stopped: running
        # the handler again would not help, so this is an incident at once.
        db.session.rollback()
        return _fail(job_id, f"{type(err).__name__}: {err.message}", actor, settings, final=True)
    except EngineError as err:
        db.session.rollback()
        if err.status == 409:
            return _release_or_cancel(job_id, worker_id)
        return _fail(job_id, f"{type(err).__name__}: {err.message}", actor, settings)
    except Exception as err:  # a handler may fail in any way; the job records it
        db.session.rollback()
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        return _fail(job_id, detail, actor, settings)


def _lost(context: dict) -> str:
    db.session.rollback()
    log.warning("lease lost", extra=context)
    return "lost"


def _fail(job_id: int, error: str, actor: str, settings: WorkerSettings, *, final: bool = False) -> str:
    job = db.session.get(Job, job_id)
    if final:
        job.attempts = max(job.attempts, job.max_attempts)
    runtime.record_service_failure(job, error, actor=actor, backoff_base_seconds=settings.backoff_base_seconds)
    log.warning("job failed", extra={"job": job_id, "instance": job.instance_id, "error": error})
    return "incident" if job.status == "incident" else "failed"


def _release_or_cancel(job_id: int, worker_id: str) -> str:
    """The instance moved on meanwhile; run the job again unless its task is gone."""
    job = db.session.get(Job, job_id)
    instance = db.session.get(Instance, job.instance_id)
    if instance.status != "running":
        job.status = "cancelled"
        outcome = "cancelled"
    else:
        job.locked_by, job.lock_expires_at, job.run_at = None, None, clock.now()
        job.attempts = max(job.attempts - 1, 0)
        outcome = "released"
    db.session.commit()
    return outcome


def fire_due_timers(limit: int = 100) -> int:
    """Run a timer check on running instances whose next timer is due. Each instance is
    locked (SKIP LOCKED on PostgreSQL), so whichever worker gets there first fires it once."""
    fired = 0
    for _ in range(limit):
        now = clock.now()
        instance_id = db.session.scalar(
            select(Instance.id)
            # strictly before now: SpiffWorkflow fires a timer only once its time has passed
            .where(Instance.status == "running", Instance.next_timer_due < now)
            .order_by(Instance.next_timer_due)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if instance_id is None:
            db.session.rollback()
            break
        try:
            instance = runtime.fire_timers(instance_id)
            fired += 1
            if instance.next_timer_due is not None and instance.next_timer_due < now:
                log.warning("timer still due after a check", extra={"instance": instance_id})
                break
        except WorkflowError as err:
            # The diagram's code failed or was stopped: an incident on this instance, and
            # the other instances' timers go on.
            db.session.rollback()
            runtime.raise_timer_incident(instance_id, err)
            log.warning("timer check failed: incident", extra={"instance": instance_id, "error": err.message})
            fired += 1
        except EngineError as err:
            db.session.rollback()
            log.warning("timer check failed", extra={"instance": instance_id, "error": err.message})
            break
    return fired


def run_once(worker_id: str, settings: WorkerSettings, max_jobs: int = 100) -> int:
    """Fire due timers, then run up to max_jobs jobs. Returns how much work was done."""
    work = fire_due_timers()
    for _ in range(max_jobs):
        job = fetch_job(worker_id, settings)
        if job is None:
            break
        run_job(job.id, worker_id, settings)
        work += 1
    return work


def drain(worker_id: str = "test-worker", settings: WorkerSettings | None = None, rounds: int = 50) -> int:
    """Run until nothing is left to do now (tests and the in-process demo)."""
    settings = settings or WorkerSettings()
    total = 0
    for _ in range(rounds):
        work = run_once(worker_id, settings)
        total += work
        if work == 0:
            break
    return total


def run_forever(worker_id: str, settings: WorkerSettings) -> None:
    log.info("worker started", extra={"worker": worker_id})
    next_checkpoint_check = 0.0
    while True:
        if time.monotonic() >= next_checkpoint_check:  # at most once a minute
            next_checkpoint_check = time.monotonic() + 60
            try:
                checkpoint_if_due(settings)
            except Exception:
                db.session.rollback()
                log.exception("checkpoint failed")
        try:
            work = run_once(worker_id, settings)
        except Exception:  # keep the worker alive; the error is logged with its trace
            db.session.rollback()
            log.exception("worker round failed")
            work = 0
        db.session.remove()
        if work == 0:
            time.sleep(settings.poll_seconds)
