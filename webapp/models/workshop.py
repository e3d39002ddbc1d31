"""Workshop records of issue 14: 待料 (a repair waiting for parts, with its due date and the
signed requisition 领料单 the parts were issued on), repair accidents 维修事故 and who was told,
and the weekly repair-quality report to the general manager. Written by workers/workshop.py
and workers/quality_report.py."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class PartsWait(db.Model):
    """待料: one wait of a repair order for parts, from the request to the parts issued on a
    signed requisition. 物料配送准时率 counts these: delivered by due_at or not."""

    __tablename__ = "parts_waits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    team: Mapped[str] = mapped_column(String(50), default="")
    parts: Mapped[list] = mapped_column(JSON, default=list)  # [{part_no, name, qty}]
    note: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # 领料单: its number, who signed for the parts (领料人) and who issued them (仓库)
    requisition_no: Mapped[str] = mapped_column(String(50), default="")
    requisition_signed_by: Mapped[str] = mapped_column(String(100), default="")
    issued_by: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting|delivered


class RepairAccident(db.Model):
    """维修事故: reported by the workshop (维修事故上报制度), the people told, and the
    supervisor's finding, including whether it was concealed or reported late or incompletely."""

    __tablename__ = "repair_accidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reported_by: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text)
    notified_roles: Mapped[list] = mapped_column(JSON, default=list)
    cause: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(100), default="")
    damage_amount: Mapped[float | None] = mapped_column(Numeric(12, 2, asdecimal=False), nullable=True)
    customer_informed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    handling: Mapped[str] = mapped_column(Text, default="")
    # on_time|concealed|late|incomplete (按时上报 / 瞒报 / 缓报 / 漏报), as verified by the supervisor
    reporting: Mapped[str] = mapped_column(String(20), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RepairQualityReport(db.Model):
    """每周维修质量反馈: the week's figures (返修率 and the rest), the manager's notes on
    customers' needs and problems met, and the general manager's reading."""

    __tablename__ = "repair_quality_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    week_start: Mapped[date] = mapped_column(Date, unique=True)  # Monday, China date
    compiled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    customer_needs: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    gm_comment: Mapped[str] = mapped_column(Text, default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
