"""The company's records, written by service-task workers (workers/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime


class Customer(db.Model):
    """客户档案"""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(30), index=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ComplaintCase(db.Model):
    """投诉工单, numbered like TS-20261126-0001 (the instance's business key)."""

    __tablename__ = "complaint_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product_model: Mapped[str] = mapped_column(String(100), default="")
    serial_no: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|closed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cause: Mapped[str] = mapped_column(Text, default="")
    responsible_department: Mapped[str] = mapped_column(String(50), default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    satisfaction_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # 相关维修工单, 客户诉求, 被投诉员工; where it came from (a follow-up call, a survey)
    related_order_no: Mapped[str] = mapped_column(String(40), default="")
    customer_demand: Mapped[str] = mapped_column(Text, default="")
    staff_member: Mapped[str] = mapped_column(String(100), default="")
    source_case_no: Mapped[str] = mapped_column(String(40), default="", index=True)
    # the customer said they were not satisfied this many times (each sent it back)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # 服务态度投诉的调查: confirmed?, decision (none|criticism|probation|dismissal), fine
    investigation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    customer: Mapped[Customer] = relationship(lazy="joined")


class ContactLog(db.Model):
    """联系记录: every contact with a customer."""

    __tablename__ = "contact_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # received|reply|result|...
    channel: Mapped[str] = mapped_column(String(20), default="")
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Escalation(db.Model):
    """上报/督办: a missed deadline or an unresolvable complaint sent up."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # reply_24h|resolve_48h|unresolvable|...
    to_role: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class HotlineCall(db.Model):
    """咨询电话登记: every call, visit or message to the service hotline, numbered RX-YYYYMMDD-NNNN."""

    __tablename__ = "hotline_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plate_no: Mapped[str] = mapped_column(String(20), default="", index=True)
    serial_no: Mapped[str] = mapped_column(String(64), default="", index=True)
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    kind: Mapped[str] = mapped_column(String(20))  # enquiry|repair_request|complaint|return_request|suggestion
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    linked_case_no: Mapped[str] = mapped_column(String(40), default="")  # the repair, return or complaint it opened
