"""Customers' personal data: phone numbers, addresses, ID numbers (and e-mail addresses).

Shown in full only to people who hold a role of one of the case's lanes (they work on it),
managers (after-sales manager, general manager) and auditors; everyone else sees them masked
(`139****1111`). A full view by someone outside the case's lanes (a manager, an auditor) is
written to the system log, once per person, case and place per request.

Which fields are personal is decided by the field's name (the forms of processes/ use
customer_phone, phone, customer_address, address, customer_email, id_number...): a field a
process owner names otherwise is not masked; docs/security.md says so.
"""

from __future__ import annotations

import re
from typing import Any

from ..models import Instance

PERSONAL_FIELD = re.compile(r"(phone|mobile|tel$|telephone|address|addr$|id_?number|id_?card|id_?no$|identity|email)",
                            re.IGNORECASE)
# Outside the lanes but allowed the full data (their view is logged).
OVERSEERS = frozenset({"after_sales_manager", "general_manager", "auditor"})


def is_personal(key: str) -> bool:
    return bool(PERSONAL_FIELD.search(key or ""))


def mask(value: Any) -> Any:
    """139****1111; an address keeps its first six characters; an e-mail its first letter and domain."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    text = str(value)
    if "@" in text:
        name, _, domain = text.partition("@")
        return f"{name[:1]}***@{domain}"
    compact = re.sub(r"[\s-]", "", text)
    if compact.isdigit() or re.fullmatch(r"[0-9]+[Xx]?", compact):
        return f"{compact[:3]}****{compact[-4:]}" if len(compact) >= 8 else "****"
    return f"{text[:6]}****" if len(text) > 6 else "****"


def masked(data: Any) -> Any:
    """The data with every personal field masked, at any depth (rows of a table included)."""
    if isinstance(data, dict):
        return {k: mask(v) if is_personal(k) else masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


def has_personal(data: Any) -> bool:
    if isinstance(data, dict):
        return any((is_personal(k) and v not in (None, "", [])) or has_personal(v) for k, v in data.items())
    if isinstance(data, list):
        return any(has_personal(v) for v in data)
    return False


def lane_roles(instance: Instance) -> set[str]:
    """The roles of the case's lanes (lane ids are role codes; each user task names its role)."""
    meta = instance.definition.meta or {}
    found = {t.get("role") for t in (meta.get("tasks") or {}).values()} | {meta.get("start_role")}
    found |= set(meta.get("lanes") or {})
    return {r for r in found if r}


def access(instance: Instance, roles: set[str]) -> str:
    """'lane' (works on the case), 'overseer' (full view, logged) or 'masked'."""
    if "admin" in roles or roles & lane_roles(instance):
        return "lane"
    if roles & OVERSEERS:
        return "overseer"
    return "masked"


def for_viewer(instance: Instance, roles: set[str], actor: str, where: str, data: Any = None) -> tuple[Any, bool]:
    """(data as this person may see it, masked?) — logs a full view from outside the lanes
    (in the caller's transaction: commit it, or call with a read that commits)."""
    data = (instance.data or {}) if data is None else data
    level = access(instance, roles)
    if level == "masked":
        return masked(data), has_personal(data)
    if level == "overseer" and has_personal(data):
        from ..audit import system_log
        from ..extensions import db

        system_log.record("personal_data_viewed", actor=actor, subject=instance.business_key or f"#{instance.id}",
                          payload={"instance_id": instance.id, "where": where, "roles": sorted(roles & OVERSEERS)})
        db.session.commit()
    return data, False
