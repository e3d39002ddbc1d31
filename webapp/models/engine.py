"""Tables of the orchestration core: definitions, instances, inbox, jobs, history, messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime


class Definition(db.Model):
    """One deployed version of a process: its BPMN/DMN files and the forms they reference."""

    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("key", "version", name="uq_definitions_key_version"),
        UniqueConstraint("key", "content_hash", name="uq_definitions_key_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    # {filename: xml text} for every .bpmn/.dmn of this version
    files: Mapped[dict] = mapped_column(JSON, deferred=True)  # read only to parse or verify
    # {filename: parsed json} for every form referenced
    forms: Mapped[dict] = mapped_column(JSON)
    # What our own XML pass learnt: lanes, forms per task, start form, prefix...
    meta: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    # sha256 of canonical_json(meta): meta decides lanes, the start role and forms, so it is
    # covered too (content_hash keeps its meaning: files and forms)
    meta_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deployed_by: Mapped[str] = mapped_column(String(100), default="")


class Instance(db.Model):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_timer_due", "status", "next_timer_due"),
        UniqueConstraint("process_key", "business_key", name="uq_instances_business_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    # no index of its own: uq_instances_business_key leads with it
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    # From the case data, for search (inbox, case lists) without reading JSON.
    customer_name: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    # no index of its own: ix_instances_timer_due (and the KPI (status, ended_at)) lead with it
    status: Mapped[str] = mapped_column(String(20))  # running|completed|cancelled
    # Deferred: a command that finds the live workflow in the cache never reads it.
    snapshot: Mapped[str] = mapped_column(Text, deferred=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    id_counter: Mapped[int] = mapped_column(Integer, default=0)
    next_timer_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_by: Mapped[str] = mapped_column(String(100), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    incident_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The snapshot's pieces in snapshot_pieces (engine/snapshots.py); 0: the whole text is in
    # `snapshot` (instances not changed since the pieces came).
    snapshot_pieces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How this instance's events hash the state (serialization.state_hash_of): instances keep
    # the form they started with, so one instance's events never mix forms.
    state_hash_form: Mapped[int] = mapped_column(Integer, default=2, server_default="1")

    definition: Mapped[Definition] = relationship(lazy="select")

    # Every UPDATE checks and bumps the version: a stale writer gets StaleDataError (409).
    __mapper_args__ = {"version_id_col": version}


class SnapshotPiece(db.Model):
    """One piece of an instance's snapshot text (engine/snapshots.py): `n` in order."""

    __tablename__ = "snapshot_pieces"
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)


_OPEN = text("state = 'open'")


class InboxTask(db.Model):
    """A READY user task as staff see it. The id is the SpiffWorkflow task id."""

    __tablename__ = "inbox_tasks"
    __table_args__ = (
        # kept although the partial indexes below serve the inbox's queries: SQLite reads a long
        # case's open tasks through it (state first) instead of every task of the case
        Index("ix_inbox_open_role", "state", "role"),
        # the inbox: open tasks of some roles, earliest due first
        Index(
            "ix_inbox_open_by_role_due", "role", "due_at", "created_at",
            postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'"),
        ),
        Index("ix_inbox_open_by_due", "due_at", "created_at", postgresql_where=_OPEN, sqlite_where=_OPEN),
        Index("ix_inbox_open_by_assignee", "assignee", postgresql_where=_OPEN, sqlite_where=_OPEN),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lane_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    form_schema: Mapped[str | None] = mapped_column(String(200), nullable=True)
    form_ui_schema: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open|completed|cancelled
    assignee: Mapped[str | None] = mapped_column(String(100), nullable=True)
    draft: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # SpiffArena's taskMetadataValues, evaluated over the task's data when it became ready
    task_metadata: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # the task's data for its form's fields when it became ready: the form opens with them
    prefill: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)

    # joined for the one task a command works on; lists of tasks ask for selectinload, so the
    # list query itself stays on inbox_tasks, where its indexes are
    instance: Mapped[Instance] = relationship(lazy="joined")


# `state = 'open'` with the value written into the statement, for statements that run often:
# SQLite matches a query's terms against the partial indexes' `WHERE state = 'open'` when it
# plans, and a bound value there is read at planning time, which marks the statement to be
# planned again whenever the value is bound (every execution: 8 us for a one-table SELECT,
# ~40 us for the task list's join). PostgreSQL's generic plans of prepared statements can use
# a partial index only with the literal, too.
IS_OPEN = InboxTask.__table__.c.state == literal_column("'open'")


class Job(db.Model):
    """A service task waiting for a worker."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", name="uq_jobs_instance_task"),
        Index("ix_jobs_fetch", "status", "run_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no index of its own: uq_jobs_instance_task leads with it (one index fewer per insert)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    operator: Mapped[str] = mapped_column(String(200))
    parameters: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready|done|incident|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The diagram's retryBackoffBase overrides the operator setting JOB_BACKOFF_BASE_SECONDS.
    backoff_base_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class HistoryEvent(db.Model):
    """Append-only, hash-chained per instance. Never updated or deleted by the application."""

    __tablename__ = "history_events"
    __table_args__ = (UniqueConstraint("instance_id", "seq", name="uq_history_instance_seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # no index of its own: uq_history_instance_seq leads with it (one index fewer per event)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(40))
    bpmn_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    state_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class MessageWait(db.Model):
    """An instance waiting for a message, with the values it correlates on."""

    __tablename__ = "message_waits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    correlation: Mapped[dict] = mapped_column(JSON)


class PendingMessage(db.Model):
    """A message that arrived before any instance waited for it."""

    __tablename__ = "pending_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    correlation: Mapped[dict] = mapped_column(JSON)
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(100), default="")
    consumed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    consumed_by_instance: Mapped[int | None] = mapped_column(Integer, nullable=True)


class NumberSequence(db.Model):
    """Counters for readable numbers such as TS-20261126-0001."""

    __tablename__ = "number_sequences"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ScriptOutput(db.Model):
    """What a diagram's script printed, for the case page. Not part of the history or the
    state hash: the history already determines it (a replay would print it again)."""

    __tablename__ = "script_outputs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # the history event whose command printed it
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    bpmn_id: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[str] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
