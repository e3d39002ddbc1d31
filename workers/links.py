"""Links between procedures: one case opens another (a complaint opens a warranty claim,
a closed case starts its follow-up). The new instance starts in the same transaction as
the service result that asked for it, so either both exist or neither."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .registry import operator


@operator("process/start")
def start_process(session: Session, params: dict) -> dict:
    """Parameters: process_key, data (dict), optional business_key, actor."""
    from webapp.engine import runtime

    data = params.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("parameter data must be a dict")
    instance = runtime.start_instance(
        params["process_key"],
        data,
        actor=params.get("actor") or "system",
        business_key=params.get("business_key") or None,
        commit=False,
    )
    return {"instance_id": instance.id, "business_key": instance.business_key, "process_key": instance.process_key}
