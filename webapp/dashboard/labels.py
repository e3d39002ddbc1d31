"""Translated words for the dashboard's codes (outcomes, fault categories, escalation reasons)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

OUTCOMES = {
    "met": _l("met"),
    "missed": _l("missed"),
    "pending": _l("pending"),
    "void": _l("not counted"),
    "complaint": _l("service-caused complaint"),
    "service": _l("repair order"),
}
FAULTS = {
    "body": _l("Body"),
    "chassis": _l("Chassis"),
    "engine": _l("Engine"),
    "electrical": _l("Electrical"),
    "other": _l("Other"),
}
REASONS = {
    "reply_24h": _l("Reply not within 24 hours"),
    "resolve_48h": _l("Not resolved within 48 hours"),
    "unresolvable": _l("Complaint sent up as unresolvable"),
    "customer_disagrees": _l("Customer rejected the solution"),
    "answer_12h": _l("Customer not answered within 12 hours"),
    "onsite_deadline": _l("Not on site by the deadline"),
    "extension_deadline": _l("Extension deadline missed"),
    "bench_deadline": _l("Bench repair late"),
    "signature_violation": _l("Signature violation"),
    "written_contact_required": _l("Written contact required"),
    "submission_deadline_missed": _l("Claim not submitted by the deadline"),
    "submitted_after_deadline": _l("Claim submitted after the deadline"),
    "payment_overdue": _l("Claim payment overdue"),
    "parts_shipped_late": _l("Claim parts shipped late"),
    "parts_not_returned": _l("Claim parts not returned by the deadline"),
    "customer_file_2d": _l("Customer file not within 2 days"),
    "call_overdue": _l("Follow-up call overdue"),
    "request_2d": _l("Customer request not reported within 2 days"),
    "request_unresolved": _l("Customer request unresolved"),
    "capa_overdue": _l("Corrective action overdue"),
    "rework_overdue": _l("Corrective action rework overdue"),
    "ineffective": _l("Corrective action ineffective"),
    "inspection_overdue": _l("Safety inspection overdue"),
    "rectification_overdue": _l("Safety rectification overdue"),
    "fee_not_handed_in": _l("Field fee not handed in in full"),
    "customer_dissatisfied": _l("Customer not satisfied with the result"),
    "promised_finish": _l("Repair not finished by the promised time"),
}
GRAINS = {"week": _l("by week"), "month": _l("by month")}
CAPA_STATUS = {
    "open": _l("open"),
    "implemented": _l("implemented"),
    "sent_back": _l("sent back"),
    "effective": _l("effective"),
    "ineffective": _l("ineffective"),
}


def label(table: dict, code: str | None) -> str:
    return str(table.get(code or "", code or ""))
