"""What the staff pages keep beside the engine: attached files, mentions waiting in an inbox,
saved inbox filters and personal follow-up dates. None of it is workflow state: a file's hash
and a comment's text are in the history event that brought them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class Attachment(db.Model):
    """An uploaded file; its bytes live in the attachment store (not the database)."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255), default="")
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a command first references the file: from then on, whoever may see the case may see it.
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), nullable=True, index=True)


class Mention(db.Model):
    """A colleague named with @ in a comment; shown in their inbox until they open it."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_unseen", "username", "seen_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    seq: Mapped[int] = mapped_column(Integer)  # the comment's history event
    username: Mapped[str] = mapped_column(String(100))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SavedFilter(db.Model):
    """A person's named inbox search (the query string of the inbox page)."""

    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict] = mapped_column(JSON)


class TaskFollowUp(db.Model):
    """The day a person wants to look at a task again (their own reminder, not a deadline)."""

    __tablename__ = "task_follow_ups"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    on: Mapped[date] = mapped_column(Date)
