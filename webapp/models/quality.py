"""Records of return/exchange, follow-up and reminders, satisfaction surveys with corrective
and preventive actions, and monthly safety inspections (written by workers/returns.py,
followup.py, surveys.py and safety.py). Customers and the call log are shared with complaint
handling (records.Customer, records.ContactLog); escalations go to records.Escalation."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .records import Customer
from .types import UTCDateTime

# ---------------------------------------------------------------- 退换货


class ReturnRequest(db.Model):
    """退换货申请, numbered like TH-20260302-0001 (the instance's business key)."""

    __tablename__ = "return_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    request_kind: Mapped[str] = mapped_column(String(20))  # return|exchange
    customer_address: Mapped[str] = mapped_column(String(300), default="")
    product_model: Mapped[str] = mapped_column(String(100), default="")
    serial_no: Mapped[str] = mapped_column(String(100), default="")
    product_grade: Mapped[str] = mapped_column(String(20))  # 商品等级: first_class|qualified|clearance
    purchase_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Float)  # 商品金额 (RMB)
    reason: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    days_since_purchase: Mapped[int] = mapped_column(Integer)
    goods_condition: Mapped[str] = mapped_column(String(30), default="")  # verified by the agent
    inspection_notes: Mapped[str] = mapped_column(Text, default="")
    policy_eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    policy_rule: Mapped[str] = mapped_column(String(200), default="")
    # general_manager|office_meeting (总经理 / 总经理办公会); department only on cases of older diagrams
    approval_level: Mapped[str] = mapped_column(String(30), default="")
    invoice_no: Mapped[str] = mapped_column(String(50), default="")  # 发票号
    approved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    approval_comment: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refund_amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    refund_method: Mapped[str] = mapped_column(String(30), default="")
    replacement_serial_no: Mapped[str] = mapped_column(String(100), default="")
    returned_goods_disposition: Mapped[str] = mapped_column(String(30), default="")  # resale|repair|scrap
    carried_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    satisfaction_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    customer_feedback: Mapped[str] = mapped_column(Text, default="")
    # registered|rejected|approved|carried_out|closed
    status: Mapped[str] = mapped_column(String(20), default="registered")
    outcome: Mapped[str] = mapped_column(String(30), default="")  # returned|exchanged|rejected_policy|rejected_approval
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customer: Mapped[Customer] = relationship(lazy="joined")


# ---------------------------------------------------------------- 客户档案 / 跟踪回访


class CustomerFile(db.Model):
    """客户档案: built within 2 days of the first contact; carries the customer's tier."""

    __tablename__ = "customer_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    tier: Mapped[str] = mapped_column(String(20), default="normal")  # normal|important|long_term
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())  # first contact
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # opened_at + 2 days
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_person: Mapped[str] = mapped_column(String(100), default="")
    products: Mapped[str] = mapped_column(Text, default="")
    potential_needs: Mapped[str] = mapped_column(Text, default="")
    next_call_topic: Mapped[str] = mapped_column(Text, default="")
    prior_year_revenue: Mapped[float] = mapped_column(Float, default=0.0)  # 上年度销售收入 (RMB)
    strategic: Mapped[bool] = mapped_column(Boolean, default=False)  # 战略顾客 (decided by management)
    customer: Mapped[Customer] = relationship(lazy="joined")


class FollowUp(db.Model):
    """One follow-up contact (跟踪回访 / 保养提醒 / 定期回访); one per instance."""

    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # after_handover|after_repair|maintenance_reminder|periodic_revisit
    stage: Mapped[str] = mapped_column(String(20))  # first|second|single|reminder|final|revisit
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    customer_tier: Mapped[str] = mapped_column(String(20), default="normal")
    source_process: Mapped[str] = mapped_column(String(50), default="")
    source_case_no: Mapped[str] = mapped_column(String(40), default="", index=True)
    reference_at: Mapped[datetime] = mapped_column(UTCDateTime())  # handover / receipt / previous call
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # maintenance or revisit date
    window_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    call_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # scheduled|retrying|called|done; unreachable|refused end without a contact (not done, not surveyed)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str] = mapped_column(String(20), default="")
    next_number: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    customer: Mapped[Customer] = relationship(lazy="joined")


class FollowUpCall(db.Model):
    """电话记录 of a follow-up (the contact itself is also in contact_logs)."""

    __tablename__ = "followup_calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_log_id: Mapped[int] = mapped_column(ForeignKey("contact_logs.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reached: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(20), default="")  # connected|no_answer|refused|empty_number
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    summary: Mapped[str] = mapped_column(Text)
    satisfaction_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    customer_request: Mapped[str] = mapped_column(Text, default="")
    request_answered: Mapped[bool] = mapped_column(Boolean, default=True)
    on_time: Mapped[bool] = mapped_column(Boolean)


class FollowUpRequest(db.Model):
    """A customer's request raised in a call that could not be answered at once:
    studied, reported to the supervisor within 2 days if still open, answered the same day."""

    __tablename__ = "followup_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("followup_calls.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    request: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    report_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reported_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|reported|answered


# ---------------------------------------------------------------- 满意度调查 / 纠正和预防措施


class SatisfactionSurvey(db.Model):
    """满意度调查 after a closed case, numbered like MY-20260302-0001."""

    __tablename__ = "satisfaction_surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source_process: Mapped[str] = mapped_column(String(50), default="")
    source_case_no: Mapped[str] = mapped_column(String(40), default="", index=True)
    prior_year_revenue: Mapped[float] = mapped_column(Float, default=0.0)
    strategic: Mapped[bool] = mapped_column(Boolean, default=False)
    key_customer: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # 重点顾客
    key_reason: Mapped[str] = mapped_column(String(100), default="")
    overall_score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1..5
    timeliness_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quality_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attitude_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    problem_category: Mapped[str] = mapped_column(String(30), default="none", index=True)
    comments: Mapped[str] = mapped_column(Text, default="")
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    recurring: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    prior_occurrences: Mapped[int] = mapped_column(Integer, default=0)
    key_review: Mapped[str] = mapped_column(Text, default="")
    analysis: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    capa_required: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|surveyed|analysed|closed|refused|unreachable
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    surveyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customer: Mapped[Customer] = relationship(lazy="joined")


class CorrectiveAction(db.Model):
    """纠正和预防措施处理单: assigned to the responsible department; opened by a survey (checked
    by quality) or by a complaint found to be the service's fault (checked by sales)."""

    __tablename__ = "corrective_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("satisfaction_surveys.id"), nullable=True, index=True)
    complaint_case_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_cases.id"), nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(30))  # dissatisfied|recurring|analysis|complaint
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, default="")
    responsible_department: Mapped[str] = mapped_column(String(50))
    measures: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    implementation: Mapped[str] = mapped_column(Text, default="")
    implemented_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # implementations so far (1, or 2 after a send-back)
    effective: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    verification_comment: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # open|implemented|sent_back|effective|ineffective
    status: Mapped[str] = mapped_column(String(20), default="open")
    management_decision: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    customer_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# ---------------------------------------------------------------- 安全检查


class SafetyInspection(db.Model):
    """月度安全检查, one per month (period YYYY-MM), numbered like AJ-20260302-0001."""

    __tablename__ = "safety_inspections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # end of the month
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    inspector: Mapped[str] = mapped_column(String(100), default="")
    electrical_result: Mapped[str] = mapped_column(String(10), default="")  # pass|fail
    fire_result: Mapped[str] = mapped_column(String(10), default="")
    equipment_result: Mapped[str] = mapped_column(String(10), default="")
    environment_result: Mapped[str] = mapped_column(String(10), default="")
    warehouse_result: Mapped[str] = mapped_column(String(10), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # scheduled|rectifying|closed
    acceptance_comment: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    findings: Mapped[list[SafetyFinding]] = relationship(back_populates="inspection", order_by="SafetyFinding.seq")


class SafetyFinding(db.Model):
    """检查发现的问题 (one row of the checklist's findings)."""

    __tablename__ = "safety_findings"
    __table_args__ = (UniqueConstraint("inspection_id", "seq", name="uq_safety_findings_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("safety_inspections.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))  # electrical|fire|equipment|environment|warehouse|other
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))  # high|medium|low
    responsible: Mapped[str] = mapped_column(String(100), default="")
    inspection: Mapped[SafetyInspection] = relationship(back_populates="findings")
    rectification: Mapped[SafetyRectification | None] = relationship(back_populates="finding", uselist=False)


class SafetyRectification(db.Model):
    """整改: one per finding, tracked to closure; overdue ones are escalated to the manager."""

    __tablename__ = "safety_rectifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("safety_findings.id"), unique=True)
    deadline_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    action_taken: Mapped[str] = mapped_column(Text, default="")
    rectified_by: Mapped[str] = mapped_column(String(100), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|done
    finding: Mapped[SafetyFinding] = relationship(back_populates="rectification")
