"""索赔配件回运: claim parts tagged and stored, boxed, shipped back by the deadline and
reconciled against the claim. Parts not shipped in time put the claim at risk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.engine import clock
from webapp.models import PartsReturn, ReturnedPart, StockMove, WarrantyClaim

from .claims import flag_claim_at_risk
from .registry import operator
from .repairs import china_text, clean_lines, instance_id_of, iso, part


def _return(session: Session, number: str) -> PartsReturn:
    row = session.scalar(select(PartsReturn).where(PartsReturn.number == number))
    if row is None:
        raise LookupError(f"no parts return {number}")
    return row


def _lines(session: Session, ret: PartsReturn) -> dict[str, ReturnedPart]:
    rows = session.scalars(select(ReturnedPart).where(ReturnedPart.return_id == ret.id).order_by(ReturnedPart.id))
    return {row.part_no: row for row in rows}


def _claim(session: Session, ret: PartsReturn) -> WarrantyClaim | None:
    return session.scalar(select(WarrantyClaim).where(WarrantyClaim.number == ret.claim_no))


def _totals(lines) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[str(line["part_no"])] = totals.get(str(line["part_no"]), 0) + int(line["qty"])
    return totals


@operator("parts/register")
def register(session: Session, params: dict) -> dict:
    """回运单: one line per claimed part, and the date by which they must be shipped."""
    now = clock.now()
    due = now + timedelta(days=int(params["ship_within_days"]))
    ret = PartsReturn(
        number=params["return_no"],
        instance_id=instance_id_of(session, "parts_return", params["return_no"]),
        claim_no=params["claim_no"],
        created_at=now,
        ship_due_at=due,
        status="open",
        discrepancies=[],
    )
    session.add(ret)
    session.flush()
    merged: dict[str, dict] = {}
    for line in clean_lines(params["parts"]):
        entry = merged.setdefault(line["part_no"], {**line, "qty": 0})
        entry["qty"] += line["qty"]
    for line in merged.values():
        session.add(ReturnedPart(return_id=ret.id, part_no=line["part_no"], name=line["name"], qty=line["qty"]))
    claim = _claim(session, ret)
    if claim is not None:
        claim.parts_return_no = ret.number
    session.flush()
    return {"return_no": ret.number, "ship_due_at": iso(due), "ship_due_text": china_text(due), "lines": len(merged)}


@operator("parts/store")
def store(session: Session, params: dict) -> dict:
    """索赔件入库: each part tagged and put in the claim-parts store."""
    now = clock.now()
    ret = _return(session, params["return_no"])
    lines = _lines(session, ret)
    unknown = []
    for item in params["stored_parts"]:
        part_no, qty = str(item["part_no"]), int(item["qty"])
        row = lines.get(part_no)
        if row is None:
            unknown.append(part_no)
            continue
        row.stored_qty += qty
        row.tag_no = str(item["tag_no"])
        row.location = str(item["location"])
        part(session, part_no, row.name).claim_stock_qty += qty
        session.add(StockMove(part_no=part_no, qty=qty, kind="claim_in", ref=ret.number, location=row.location,
                              tag_no=row.tag_no, at=now))
    ret.stored_at, ret.status = now, "stored"
    session.flush()
    missing = [p for p, row in lines.items() if row.stored_qty < row.qty]
    return {"stored_at": iso(now), "missing": missing, "unknown": unknown}


@operator("parts/box")
def box(session: Session, params: dict) -> dict:
    """装箱."""
    now = clock.now()
    ret = _return(session, params["return_no"])
    lines = _lines(session, ret)
    for part_no, qty in _totals(params["boxed_parts"]).items():
        if part_no in lines:
            lines[part_no].boxed_qty += qty
    ret.box_no, ret.boxed_at, ret.status = params["box_no"], now, "boxed"
    session.flush()
    return {"box_no": ret.box_no, "boxed_at": iso(now)}


@operator("parts/ship")
def ship(session: Session, params: dict) -> dict:
    """发运回厂家. Shipped after the deadline: the claim is at risk."""
    now = clock.now()
    ret = _return(session, params["return_no"])
    ret.carrier, ret.tracking_no = params["carrier"], params["tracking_no"]
    ret.shipped_at, ret.status = now, "shipped"
    ret.shipped_late = now > ret.ship_due_at
    for row in _lines(session, ret).values():
        if row.boxed_qty:
            part(session, row.part_no, row.name).claim_stock_qty -= row.boxed_qty
            session.add(StockMove(part_no=row.part_no, qty=-row.boxed_qty, kind="claim_out", ref=ret.number,
                                  location=row.location, tag_no=row.tag_no, at=now))
    claim = _claim(session, ret)
    if ret.shipped_late and claim is not None:
        flag_claim_at_risk(session, claim, "parts_shipped_late")
    session.flush()
    return {"shipped_at": iso(now), "late": ret.shipped_late}


@operator("parts/deadline_check")
def deadline_check(session: Session, params: dict) -> dict:
    """At the return deadline: parts not shipped put the claim at risk."""
    ret = _return(session, params["return_no"])
    shipped = ret.shipped_at is not None and ret.shipped_at <= ret.ship_due_at
    claim = _claim(session, ret)
    if not shipped and claim is not None:
        flag_claim_at_risk(session, claim, "parts_not_returned")
    session.flush()
    return {"shipped": shipped, "claim_at_risk": bool(claim and claim.at_risk)}


@operator("parts/reconcile")
def reconcile(session: Session, params: dict) -> dict:
    """与索赔单核对: claimed = stored = boxed = received by the manufacturer, part by part."""
    now = clock.now()
    ret = _return(session, params["return_no"])
    received = _totals(params.get("received_parts") or [])
    problems = []
    lines = _lines(session, ret)
    for part_no, row in lines.items():
        row.received_qty = received.get(part_no, 0)
        for label, qty in (("stored", row.stored_qty), ("boxed", row.boxed_qty), ("received", row.received_qty)):
            if qty != row.qty:
                problems.append({"part_no": part_no, "claimed": row.qty, label: qty})
    for part_no in sorted(set(received) - set(lines)):
        problems.append({"part_no": part_no, "claimed": 0, "received": received[part_no]})
    ret.received_at = now
    ret.reconciled = not problems
    ret.discrepancies = problems
    ret.status = "reconciled" if not problems else "discrepancy"
    session.flush()
    summary = "；".join(
        f"{p['part_no']} 索赔 {p['claimed']}，" + "，".join(f"{k} {v}" for k, v in p.items() if k not in ("part_no", "claimed"))
        for p in problems
    )
    return {"matched": not problems, "discrepancies": problems, "summary": summary}


@operator("parts/close")
def close(session: Session, params: dict) -> dict:
    ret = _return(session, params["return_no"])
    ret.status = "closed"
    session.flush()
    return {"status": ret.status, "matched": bool(params.get("matched"))}
