"""三包 (家用汽车产品修理、更换、退货责任规定): repeat repairs of the same fault on one vehicle
(VIN) inside the 三包 period, the cumulative repair days, and the thresholds that entitle the
customer to a replacement vehicle during a repair, an exchange or a refund.

The thresholds are configuration: DEFAULTS below, each with the rule it comes from (see
docs/procedures/repair_dispatch.md); a site overrides any of them with the JSON object in the
environment variable SANBAO_THRESHOLDS (read once per process)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import RepairOrder, Vehicle

from .registry import operator

DEFAULTS = {
    # 三包有效期: not shorter than 2 years or 50 000 km, whichever comes first
    "valid_days": 730,
    "valid_km": 50000,
    # a serious safety fault repaired twice and still there (the third repair) entitles the
    # customer to an exchange or a refund: the manager decides before the third repair starts
    "same_fault_alert_repairs": 2,
    # the same quality problem repaired more than 5 times: exchange
    "same_fault_exchange_repairs": 5,
    # repairs for quality problems adding up to more than 35 days: exchange
    "cumulative_days_exchange": 35,
    # one repair longer than 5 days: a replacement vehicle or transport compensation
    "single_repair_days_replacement": 5,
}


@cache
def thresholds() -> dict:
    values = dict(DEFAULTS)
    override = os.environ.get("SANBAO_THRESHOLDS")
    if override:
        values.update({k: int(v) for k, v in json.loads(override).items() if k in DEFAULTS})
    return values


def fault_key(fault_code: str | None, fault_category: str | None) -> str:
    """The same fault: the fault code when the advisor gave one, otherwise the fault category."""
    return (fault_code or "").strip().upper() or f"category:{fault_category or 'other'}"


def _days(order: RepairOrder, now) -> float:
    end = order.closed_at or now
    return max(0.0, (end - order.received_at).total_seconds() / 86400)


@operator("repair/sanbao_check")
def sanbao_check(session: Session, params: dict) -> dict:
    """At intake: how often this vehicle's fault was repaired inside the 三包 period, the days its
    quality repairs took, and whether a threshold is crossed (a task for the manager)."""
    now = clock.now()
    limits = thresholds()
    order = session.scalar(select(RepairOrder).where(RepairOrder.number == params["order_no"]))
    vehicle = session.get(Vehicle, order.vehicle_id)
    key = fault_key(params.get("fault_code"), order.fault_category)
    order.fault_key = key
    age_days = (now.date() - vehicle.delivery_date).days if vehicle.delivery_date else None
    km = (vehicle.current_mileage or 0) - (vehicle.delivery_mileage or 0)
    in_period = age_days is not None and 0 <= age_days <= limits["valid_days"] and 0 <= km <= limits["valid_km"]
    earlier = session.scalars(
        select(RepairOrder).where(
            RepairOrder.vehicle_id == vehicle.id, RepairOrder.id != order.id, RepairOrder.status != "declined",
            RepairOrder.repair_type.in_(("warranty", "comeback", "recall", "general", "")),
        )
    ).all()
    since = vehicle.delivery_date
    quality = [o for o in earlier if since is None or (o.received_at + timedelta(hours=8)).date() >= since]
    same = [o for o in quality if o.fault_key == key]
    days = round(sum(_days(o, now) for o in quality), 1)
    reasons = []
    if in_period:
        if len(same) >= limits["same_fault_exchange_repairs"]:
            reasons.append(f"同一质量问题已修理 {len(same)} 次（超过 {limits['same_fault_exchange_repairs']} 次可换车）")
        elif len(same) >= limits["same_fault_alert_repairs"]:
            reasons.append(f"同一故障第 {len(same) + 1} 次修理（严重安全性能故障修理 "
                           f"{limits['same_fault_alert_repairs']} 次仍未排除可退换车）")
        if days > limits["cumulative_days_exchange"]:
            reasons.append(f"三包期内修理累计 {days} 天（超过 {limits['cumulative_days_exchange']} 天可换车）")
    order.sanbao_repair_no = len(same) + 1
    order.sanbao_cumulative_days = days
    order.sanbao_alert = bool(reasons)
    session.flush()
    return {
        "in_period": in_period, "fault_key": key, "repair_no": len(same) + 1, "earlier_orders": [o.number for o in same],
        "cumulative_days": days, "alert": bool(reasons), "reasons": "；".join(reasons),
        "replacement_after_days": limits["single_repair_days_replacement"],
    }


@operator("repair/sanbao_decision")
def sanbao_decision(session: Session, params: dict) -> dict:
    """The manager's 三包 decision: repair (with a replacement vehicle if needed), exchange or refund."""
    order = session.scalar(select(RepairOrder).where(RepairOrder.number == params["order_no"]))
    order.sanbao_decision = params["decision"]
    session.flush()
    return {"decision": order.sanbao_decision, "continue_repair": params["decision"] in ("repair", "replacement_vehicle")}
