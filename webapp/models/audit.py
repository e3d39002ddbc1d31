"""The system log: what people and the system did outside any one case (sign-ins, accounts and
roles, deployments, incident retries). Append-only and hash-chained like the case history.

Published algorithm (docs/audit.md): for each row in seq order,
hash = sha256_hex(prev_hash + canonical_json(body)), body = {seq, at, actor, type, subject,
payload}; the first prev_hash is 64 zeros. The head row holds the last seq and hash, so a
deleted tail is noticed and concurrent writers queue on its row lock.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SystemLogEvent(db.Model):
    """One entry. Never updated or deleted by the application."""

    __tablename__ = "system_log_events"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_system_log_seq"),
        Index("ix_system_log_type_at", "type", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40), index=True)  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(100), index=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SystemLogHead(db.Model):
    """The chain's head: one row (id 1). Writers lock it (SELECT ... FOR UPDATE on PostgreSQL)."""

    __tablename__ = "system_log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


class Checkpoint(db.Model):
    """A signed digest of the whole record at one moment (webapp/audit/checkpoints.py).

    `body` is the canonical JSON that was hashed (`digest`, sha256 hex) and signed
    (`signature`, Ed25519, base64) with the key `key_id` names."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC
    created_by: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
