"""客户档案: one customer and their vehicles with everything the service centre did for them —
repairs, warranty claims, complaints, calls — found by plate number, VIN or phone, as the
advisor needs it at intake and the agent on the hotline (售后员工都必须熟悉公司的客户情况,
达到"闻其声知其人"的程度, L60/L241)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    ComplaintCase,
    ContactLog,
    Customer,
    FollowUp,
    HotlineCall,
    RepairOrder,
    Vehicle,
    WarrantyClaim,
)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def find_customer(session: Session, *, plate: str = "", vin: str = "", phone: str = "") -> Customer | None:
    """The customer behind a plate number (from their repair orders or hotline calls), a VIN
    (the vehicle file) or a phone number (digits compared, spaces ignored)."""
    if vin:
        vehicle = session.scalar(select(Vehicle).where(Vehicle.serial_no == vin.strip()))
        if vehicle is not None and vehicle.customer_id is not None:
            return session.get(Customer, vehicle.customer_id)
    if plate:
        key = plate.strip().upper()
        customer_id = session.scalar(
            select(RepairOrder.customer_id).where(RepairOrder.plate_no == key).order_by(RepairOrder.id.desc()).limit(1)
        ) or session.scalar(
            select(HotlineCall.customer_id).where(HotlineCall.plate_no == key).order_by(HotlineCall.id.desc()).limit(1)
        )
        if customer_id is not None:
            return session.get(Customer, customer_id)
    if phone:
        exact = session.scalar(select(Customer).where(Customer.phone == phone.strip()).order_by(Customer.id.desc()).limit(1))
        if exact is not None:
            return exact
        # typed with other spacing or dashes: compare without them (a scan, only when the exact look-up misses)
        bare = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
        stripped = func.replace(func.replace(Customer.phone, " ", ""), "-", "")
        return session.scalar(select(Customer).where(stripped == bare).order_by(Customer.id.desc()).limit(1))
    return None


def customer_file(session: Session, customer: Customer) -> dict:
    vehicles = session.scalars(select(Vehicle).where(Vehicle.customer_id == customer.id).order_by(Vehicle.id)).all()
    repairs = session.scalars(
        select(RepairOrder).where(RepairOrder.customer_id == customer.id).order_by(RepairOrder.received_at.desc())
    ).all()
    claims = session.scalars(
        select(WarrantyClaim).where(WarrantyClaim.customer_id == customer.id).order_by(WarrantyClaim.created_at.desc())
    ).all()
    complaints = session.scalars(
        select(ComplaintCase).where(ComplaintCase.customer_id == customer.id).order_by(ComplaintCase.received_at.desc())
    ).all()
    followups = session.scalars(
        select(FollowUp).where(FollowUp.customer_id == customer.id).order_by(FollowUp.created_at.desc())
    ).all()
    contacts = session.scalars(
        select(ContactLog).where(ContactLog.customer_id == customer.id).order_by(ContactLog.at.desc()).limit(200)
    ).all()
    vins = {v.id: v.serial_no for v in vehicles}
    return {
        "customer": {"id": customer.id, "name": customer.name, "phone": customer.phone, "email": customer.email,
                     "address": customer.address},
        "vehicles": [{"vin": v.serial_no, "model": v.model, "delivery_date": _iso(v.delivery_date),
                      "delivery_mileage": v.delivery_mileage, "current_mileage": v.current_mileage,
                      "warranty_end": _iso(v.warranty_end),
                      "next_maintenance_date": _iso(v.next_maintenance_date),
                      "next_maintenance_mileage": v.next_maintenance_mileage} for v in vehicles],
        "repairs": [{"number": r.number, "plate_no": r.plate_no, "vin": vins.get(r.vehicle_id),
                     "received_at": _iso(r.received_at),
                     "repair_type": r.repair_type, "pay_type": r.pay_type, "fault": r.fault_description,
                     "fault_key": r.fault_key, "sanbao_repair_no": r.sanbao_repair_no, "status": r.status,
                     "claim_no": r.claim_no} for r in repairs],
        "claims": [{"number": c.number, "repair_case_no": c.repair_case_no, "status": c.status,
                    "pre_auth_no": c.pre_auth_no, "claim_amount": c.claim_amount} for c in claims],
        "complaints": [{"number": c.number, "received_at": _iso(c.received_at), "channel": c.channel,
                        "status": c.status, "satisfied": c.satisfied, "related_order_no": c.related_order_no}
                       for c in complaints],
        "followups": [{"number": f.number, "kind": f.kind, "stage": f.stage, "status": f.status,
                       "attempts": f.attempts, "call_due_at": _iso(f.call_due_at)} for f in followups],
        "contacts": [{"case_number": c.case_number, "kind": c.kind, "channel": c.channel, "summary": c.summary,
                      "at": _iso(c.at)} for c in contacts],
    }


def search_keys_present(plate: str, vin: str, phone: str) -> bool:
    return any(value.strip() for value in (plate, vin, phone))



# Who may open the file, and who of them sees the customer's phone, address and e-mail in
# full: the staff who talk to the customer (they call back); the auditor reads everything
# (logged, as on case pages); the warranty clerk works on claims, not with the customer,
# and sees them masked (docs/security.md).
FILE_READERS = ("service_advisor", "customer_service", "complaint_handler", "followup_clerk", "warranty_clerk",
                "after_sales_manager", "auditor")
CONTACT_ROLES = frozenset({"service_advisor", "customer_service", "complaint_handler", "followup_clerk",
                           "after_sales_manager", "admin"})


def viewing(roles: set[str]) -> str:
    """'full' (talks to the customer), 'logged' (auditor: full, written to the system log) or 'masked'."""
    if roles & CONTACT_ROLES:
        return "full"
    if "auditor" in roles:
        return "logged"
    return "masked"


def for_viewer(file: dict, roles: set[str], actor: str, where: str) -> dict:
    """The file as this person may see it; an auditor's full view goes to the system log."""
    from ..security import personal_data

    level = viewing(roles)
    if level == "masked":
        return {**file, "customer": personal_data.masked(file["customer"])}
    if level == "logged":
        from ..audit import system_log

        system_log.record("personal_data_viewed", actor=actor, subject=f"customer #{file['customer']['id']}",
                          payload={"customer_id": file["customer"]["id"], "where": where})
    return file


def prefill(file: dict, vin: str = "") -> dict:
    """What a start form can take from the file (intake, hotline, complaint, return): the
    customer and the chosen vehicle (or their only one) with its last plate number.
    进厂里程 is never filled in: it is read off the odometer at every intake (blank is not 0)."""
    customer = file["customer"]
    values = {"customer_name": customer["name"], "customer_phone": customer["phone"]}
    if customer.get("address"):
        values["customer_address"] = customer["address"]
    if customer.get("email"):
        values["customer_email"] = customer["email"]
    vehicles = file["vehicles"]
    vehicle = next((v for v in vehicles if v["vin"] == vin), None) if vin else (vehicles[0] if len(vehicles) == 1 else None)
    if vehicle is not None:
        values.update(serial_no=vehicle["vin"], product_model=vehicle["model"])
        if vehicle.get("delivery_date"):
            values["delivery_date"] = vehicle["delivery_date"]
            values["purchase_date"] = vehicle["delivery_date"]
        if vehicle.get("delivery_mileage") is not None:
            values["delivery_mileage"] = vehicle["delivery_mileage"]
        plate = next((r["plate_no"] for r in file["repairs"] if r.get("plate_no") and r.get("vin") == vehicle["vin"]), "")
        if plate:
            values["plate_no"] = plate
    return values
