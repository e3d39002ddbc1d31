"""Service records: vehicles/products, work orders, field service reports, inspections, parts
and stock moves, warranty claims and returned-part shipments. Written by workers/repairs.py,
workers/claims.py and workers/parts.py."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime

MONEY = Numeric(12, 2, asdecimal=False)  # yuan; floats in Python, exact decimals in the database


class Vehicle(db.Model):
    """产品/车辆档案: one serial number or VIN, its delivery and its warranty."""

    __tablename__ = "vehicles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_no: Mapped[str] = mapped_column(String(64), unique=True)  # 串号 / IMEI / VIN
    model: Mapped[str] = mapped_column(String(100), default="")  # 机型
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True, index=True)
    delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # 购买/交车日期
    delivery_mileage: Mapped[int] = mapped_column(Integer, default=0)  # 交车公里数
    current_mileage: Mapped[int] = mapped_column(Integer, default=0)  # 当前公里数
    warranty_end: Mapped[date | None] = mapped_column(Date, nullable=True)  # 保修截止日期
    warranty_end_mileage: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 保修截止里程
    next_maintenance_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_maintenance_mileage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RepairOrder(db.Model):
    """维修工单, numbered like WX-20260302-0001 (the repair_dispatch instance's business key)."""

    __tablename__ = "repair_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    service_mode: Mapped[str] = mapped_column(String(20))  # field|workshop|bench
    fault_category: Mapped[str] = mapped_column(String(20), default="other")
    fault_description: Mapped[str] = mapped_column(Text, default="")
    distance_km: Mapped[int] = mapped_column(Integer, default=0)
    supplier_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    units: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 免费服务 / 有费服务, decided by the warranty_eligibility table
    warranty_status: Mapped[str] = mapped_column(String(30), default="")
    service_type: Mapped[str] = mapped_column(String(10), default="")  # free|paid
    # 维修类型 and the order's pay type (repair_pay_type table); workshop lines carry their own
    # maintenance|first_maintenance|general|warranty|accident|recall|comeback
    repair_type: Mapped[str] = mapped_column(String(20), default="")
    pay_type: Mapped[str] = mapped_column(String(20), default="")  # customer|warranty|insurance|internal
    # intake: 车牌号, 进厂里程 (required), 送修人, fuel and body condition, 旧件是否带走
    plate_no: Mapped[str] = mapped_column(String(20), default="", index=True)
    mileage_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    sender_phone: Mapped[str] = mapped_column(String(30), default="")
    fuel_level: Mapped[str] = mapped_column(String(20), default="")
    body_condition: Mapped[str] = mapped_column(Text, default="")
    old_parts_take_away: Mapped[bool] = mapped_column(Boolean, default=False)
    # the amounts of the lines by who pays: the customer pays only customer_amount
    customer_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    claim_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    insurance_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    internal_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    declined_lines: Mapped[list] = mapped_column(JSON, default=list)
    # 三包: the fault as counted for repeat repairs, this repair's number for it on the vehicle,
    # the days the vehicle's quality repairs took, whether a threshold was crossed, the decision
    fault_key: Mapped[str] = mapped_column(String(60), default="", index=True)
    sanbao_repair_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sanbao_cumulative_days: Mapped[float | None] = mapped_column(Numeric(8, 1, asdecimal=False), nullable=True)
    sanbao_alert: Mapped[bool] = mapped_column(Boolean, default=False)
    sanbao_decision: Mapped[str] = mapped_column(String(30), default="")
    # before settlement: fault point and cause, the clerk's decision, the pre-authorisation number
    claim_decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # 领料单: parts are issued on a signed requisition
    requisition_no: Mapped[str] = mapped_column(String(50), default="")
    requisition_signed_by: Mapped[str] = mapped_column(String(100), default="")
    estimate_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    customer_agreed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # workshop: 维修工单 signed by the customer, dispatch, added items
    repair_items: Mapped[list] = mapped_column(JSON, default=list)
    walkaround_notes: Mapped[str] = mapped_column(Text, default="")
    order_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    promised_finish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    team: Mapped[str] = mapped_column(String(50), default="")
    technician: Mapped[str] = mapped_column(String(100), default="")
    added_items: Mapped[list] = mapped_column(JSON, default=list)
    added_items_approved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    work_done: Mapped[str] = mapped_column(Text, default="")
    parts_used: Mapped[list] = mapped_column(JSON, default=list)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    # bench repair of returned units: ceil(units / 10) days
    bench_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bench_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    bench_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    bench_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # settlement and handover
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    settlement_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    payment_method: Mapped[str] = mapped_column(String(20), default="")
    invoice_no: Mapped[str] = mapped_column(String(50), default="")
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_maintenance_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_maintenance_mileage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|waiting_parts (待料)|declined|closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claim_no: Mapped[str] = mapped_column(String(40), default="")


class FieldServiceReport(db.Model):
    """《外出调试、维修跟踪报告单》: the field service report the technician takes on site."""

    __tablename__ = "field_service_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("repair_orders.id"), unique=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    quality_plan: Mapped[str] = mapped_column(Text, default="")  # 质量部评审的处理方案
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # onsite_deadline table: onsite_24h | answer_12h | written_12h
    response_rule: Mapped[str] = mapped_column(String(20))
    response_hours: Mapped[int] = mapped_column(Integer)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    response_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    promised_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    technician: Mapped[str] = mapped_column(String(100), default="")
    onsite_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    work_done: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(20), default="")  # fixed|cannot_fix|need_extension
    service_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    service_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fee_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    fee_receipt_no: Mapped[str] = mapped_column(String(50), default="")
    fee_collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # 回公司后如数上缴: what was handed in, by whom, and whether it matches the fee collected
    fee_handed_in_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    fee_handed_in_by: Mapped[str] = mapped_column(String(100), default="")
    fee_handed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fee_reconciled: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # 服务结束后请用户签字（盖章）认可；服务前签字或涂改 = violation
    signed_by: Mapped[str] = mapped_column(String(100), default="")
    stamped: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    signature_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signature_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signature_violation: Mapped[bool] = mapped_column(Boolean, default=False)
    violation_reason: Mapped[str] = mapped_column(String(200), default="")
    customer_opinion: Mapped[str] = mapped_column(Text, default="")
    quality_feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ServiceApproval(db.Model):
    """公司批复: paid service, an alternative solution, an extension, added items."""

    __tablename__ = "service_approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # estimate|paid_service|alternative|extension|added_items
    approved: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    approver_role: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Inspection(db.Model):
    """三级检验: 1 technician self-check, 2 team leader, 3 workshop supervisor / QC."""

    __tablename__ = "inspections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=1)
    passed: Mapped[bool] = mapped_column(Boolean)
    inspector: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class QualityFeedback(db.Model):
    """维修详细情况书面反馈质量部, as the basis for product improvement."""

    __tablename__ = "quality_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(String(40), index=True)
    fault_category: Mapped[str] = mapped_column(String(20), default="")
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Part(db.Model):
    """配件: the parts master with the stock on hand."""

    __tablename__ = "parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_no: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    stock_qty: Mapped[int] = mapped_column(Integer, default=0)
    claim_stock_qty: Mapped[int] = mapped_column(Integer, default=0)  # 索赔件库存


class StockMove(db.Model):
    """出入库: issue to a repair, claim part stored (索赔件入库), claim part shipped back."""

    __tablename__ = "stock_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_no: Mapped[str] = mapped_column(String(50), index=True)
    qty: Mapped[int] = mapped_column(Integer)  # + in, - out
    kind: Mapped[str] = mapped_column(String(30))  # repair_issue|claim_in|claim_out
    ref: Mapped[str] = mapped_column(String(40), index=True)  # order / return number
    location: Mapped[str] = mapped_column(String(50), default="")
    tag_no: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class WarrantyClaim(db.Model):
    """保修索赔单, numbered like SP-20260302-0001 (the warranty_claim business key)."""

    __tablename__ = "warranty_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    repair_case_no: Mapped[str] = mapped_column(String(40), default="", index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    fault_description: Mapped[str] = mapped_column(Text, default="")
    delivery_mileage: Mapped[int] = mapped_column(Integer, default=0)
    current_mileage: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 索赔资格 (warranty_eligibility) and the workshop's 技术鉴定
    warranty_status: Mapped[str] = mapped_column(String(30), default="")
    eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    fault_point: Mapped[str] = mapped_column(Text, default="")  # 故障点
    cause: Mapped[str] = mapped_column(Text, default="")  # 原因
    cause_category: Mapped[str] = mapped_column(String(30), default="")
    claim_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    # checking|rejected|approved|submitted|manufacturer_approved|manufacturer_rejected|paid
    status: Mapped[str] = mapped_column(String(30), default="checking")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submission_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    manufacturer_claim_no: Mapped[str] = mapped_column(String(50), default="")
    review_result: Mapped[str] = mapped_column(String(20), default="")  # approved|rejected
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    payment_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    payment_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_amount: Mapped[float | None] = mapped_column(MONEY, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk_reason: Mapped[str] = mapped_column(String(200), default="")
    parts_return_no: Mapped[str] = mapped_column(String(40), default="")
    pre_auth_no: Mapped[str] = mapped_column(String(50), default="")  # 厂家预授权号
    # 厂家拒赔 handled: returned_for_correction (退回修改) or appealed, and how often resubmitted
    resubmissions: Mapped[int] = mapped_column(Integer, default=0)


class ClaimPart(db.Model):
    """A part line of a claim: what was replaced under warranty."""

    __tablename__ = "claim_parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("warranty_claims.id"), index=True)
    part_no: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200), default="")
    qty: Mapped[int] = mapped_column(Integer)


class PartsReturn(db.Model):
    """索赔配件回运: the shipment of a claim's replaced parts back to the manufacturer."""

    __tablename__ = "parts_returns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    claim_no: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ship_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    box_no: Mapped[str] = mapped_column(String(50), default="")
    boxed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_no: Mapped[str] = mapped_column(String(100), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shipped_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reconciled: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    discrepancies: Mapped[list] = mapped_column(JSON, default=list)
    # open|stored|boxed|shipped|reconciled|discrepancy|closed
    status: Mapped[str] = mapped_column(String(20), default="open")


class ReturnedPart(db.Model):
    """One claim part in a return: its tag, where it is stored, packed, received."""

    __tablename__ = "returned_parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("parts_returns.id"), index=True)
    part_no: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200), default="")
    qty: Mapped[int] = mapped_column(Integer)  # as claimed
    tag_no: Mapped[str] = mapped_column(String(50), default="")  # 索赔件标签
    location: Mapped[str] = mapped_column(String(50), default="")
    stored_qty: Mapped[int] = mapped_column(Integer, default=0)
    boxed_qty: Mapped[int] = mapped_column(Integer, default=0)
    received_qty: Mapped[int | None] = mapped_column(Integer, nullable=True)
