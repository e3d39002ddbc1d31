"""The worker's lease: the job row comes back with the lease (no second read), and a job
whose lease another worker took while the handler ran is not completed by the first."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import select, update

from tests.conftest import FIXTURES, deploy_files
from webapp.engine import runtime
from webapp.extensions import db
from webapp.models import Escalation, HistoryEvent, Instance, Job
from workers import registry
from workers.loop import WorkerSettings, fetch_job, run_job


def _one_job(users) -> int:
    assert deploy_files(users["owner"], [FIXTURES / "one_service.bpmn"]).status_code == 201
    instance = runtime.start_instance("one_service", {}, actor="test", business_key="LEASE-1")
    return instance.id


@contextmanager
def _handler(handler):
    """test/record answered by `handler` for the block's length."""
    previous = registry.override("test/record", handler)
    try:
        yield
    finally:
        registry.override("test/record", previous)


def _completions(instance_id: int) -> list[str]:
    return db.session.scalars(select(HistoryEvent.actor).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.type == "service_completed")).all()


def test_a_job_whose_lease_was_taken_meanwhile_is_lost_and_keeps_nothing(app, users):
    instance_id = _one_job(users)
    settings = WorkerSettings(lease_seconds=60)
    job = fetch_job("first", settings)
    assert job is not None and job.locked_by == "first" and job.attempts == 1 and job.parameters == {"key": "LEASE-1"}

    def slow_handler(session, params):
        # while the handler runs its lease runs out and another worker leases the job from its
        # own connection (before this handler writes: SQLite has one writer)
        with db.engine.begin() as other:
            other.execute(update(Job).where(Job.id == job.id).values(locked_by="second", attempts=Job.attempts + 1))
        session.add(Escalation(case_number=params["key"], reason="executed", to_role="first", at=job.run_at))
        session.flush()
        return {"by": "first"}

    with _handler(slow_handler):
        assert run_job(job.id, "first", settings) == "lost"
    db.session.rollback()
    assert db.session.scalar(select(Job.locked_by).where(Job.id == job.id)) == "second"
    assert db.session.scalars(select(Escalation.case_number)).all() == []  # the handler's write rolled back
    assert _completions(instance_id) == []
    assert db.session.scalar(select(Instance.status).where(Instance.id == instance_id)) == "running"


def test_a_leased_job_runs_once_and_completes_its_task(app, users):
    instance_id = _one_job(users)
    settings = WorkerSettings(lease_seconds=60)
    job = fetch_job("only", settings)
    assert job is not None
    assert fetch_job("other", settings) is None  # leased: nobody else gets it
    assert run_job(job.id, "only", settings) == "done"
    db.session.rollback()
    assert _completions(instance_id) == ["worker:only"]
    assert db.session.scalar(select(Instance.status).where(Instance.id == instance_id)) == "completed"
    assert db.session.scalars(select(Escalation.case_number)).all() == ["LEASE-1"]
    assert fetch_job("other", settings) is None


def test_a_long_handler_keeps_its_lease_alive_and_a_short_one_is_not_beaten(app, users):
    if db.engine.dialect.name == "sqlite":
        pytest.skip("the heartbeat runs on PostgreSQL only (SQLite's one writer is the job's own transaction)")
    instance_id = _one_job(users)
    settings = WorkerSettings(lease_seconds=1)  # a beat every 0.33 s
    job = fetch_job("slow", settings)
    seen = []

    def slow_handler(session, params):
        # as another connection sees the job row while this handler runs
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen:
            with db.engine.connect() as other:
                beat = other.execute(select(Job.heartbeat_at, Job.locked_by).where(Job.id == job.id)).one()
            if beat.heartbeat_at is not None:
                seen.append(beat)
            time.sleep(0.05)
        return {"by": "slow"}

    with _handler(slow_handler):
        assert run_job(job.id, "slow", settings) == "done"
    assert seen and seen[0].locked_by == "slow"  # the lease was extended while the handler ran
    db.session.rollback()
    assert _completions(instance_id) == ["worker:slow"]
    # a job done before its first beat is never beaten
    second = runtime.start_instance("one_service", {}, actor="test", business_key="LEASE-2")
    quick = fetch_job("quick", settings)
    assert quick.instance_id == second.id and run_job(quick.id, "quick", settings) == "done"
    time.sleep(0.5)
    db.session.rollback()
    assert db.session.scalar(select(Job.heartbeat_at).where(Job.id == quick.id)) is None
