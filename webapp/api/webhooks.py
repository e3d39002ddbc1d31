"""Webhook subscribers and their delivery log (role admin). The sending is in webapp/webhooks."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates

from .. import params
from ..engine import clock
from ..engine.errors import NotFound
from ..extensions import db
from ..models import WebhookDelivery, WebhookSubscription
from ..webhooks import EVENTS
from ..webhooks import delivery as webhook_delivery
from ..webhooks.outbox import new_secret
from . import bp, listing
from .auth import require_role, token_required

MAX_WEBHOOKS_PAGE = 1000
MAX_DELIVERIES_PAGE = 1000


class WebhookIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000),
                        metadata={"description": "http(s) address that receives the POSTs"})
    events = fields.List(fields.String(validate=validate.OneOf((*EVENTS, "*"))), required=True,
                         validate=validate.Length(min=1, max=len(EVENTS) + 1),
                         metadata={"description": "event names, or `*` for all: " + ", ".join(EVENTS)})
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=16, max=200),
                           metadata={"description": "the HMAC-SHA256 key; generated when left out"})
    description = fields.String(load_default="", validate=validate.Length(max=200))

    @validates("url")
    def _http_url(self, value: str, **_kwargs) -> None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("an http:// or https:// address with a host")


class WebhookOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_at = fields.Function(lambda s: clock.to_iso(s.created_at))
    created_by = fields.String()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "shown once: keep it to check the signatures"})


class DeliveryOut(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    instance_id = fields.Integer()
    event = fields.String()
    event_id = fields.String()
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()
    next_attempt_at = fields.String(allow_none=True)
    delivered_at = fields.String(allow_none=True)
    body = fields.Dict(metadata={"description": "the JSON exactly as signed and sent"})


class DeliveryQuery(Schema):
    subscription_id = fields.Integer(metadata={"description": "exact match"})
    instance_id = fields.Integer(metadata={"description": "exact match"})
    status = fields.String(metadata={"description": "exact match: pending, delivered, failed"})
    event = fields.String(metadata={"description": "exact match, e.g. task.created"})
    limit = fields.Integer(metadata={"description": f"page size, default 100; above {MAX_DELIVERIES_PAGE} is "
                                                    f"{MAX_DELIVERIES_PAGE}", "minimum": 1})
    offset = fields.Integer(metadata={"description": "rows to skip (default 0)", "minimum": 0, "maximum": 2**31 - 1})


def _subscription_or_404(webhook_id: int) -> WebhookSubscription:
    row = db.session.get(WebhookSubscription, webhook_id)
    if row is None:
        raise NotFound(f"no webhook {webhook_id}")
    return row


@bp.post("/webhooks")
@token_required
@require_role("admin")
def create_webhook():
    body = WebhookIn().load(params.json_body() or {})
    row = WebhookSubscription(url=body["url"], events=sorted(set(body["events"])), secret=body["secret"] or new_secret(),
                              description=body["description"], active=True, created_at=clock.now(),
                              created_by=g.api_user.username)
    db.session.add(row)
    db.session.commit()
    return jsonify(WebhookCreatedOut().dump(row)), 201


@bp.get("/webhooks")
@token_required
@require_role("admin")
def list_webhooks():
    rows = listing.page(db.select(WebhookSubscription).order_by(WebhookSubscription.id), default=None,
                        maximum=MAX_WEBHOOKS_PAGE)
    return rows.response(WebhookOut(many=True).dump(rows.items))


@bp.get("/webhooks/<int:webhook_id>")
@token_required
@require_role("admin")
def get_webhook(webhook_id: int):
    return jsonify(WebhookOut().dump(_subscription_or_404(webhook_id)))


@bp.delete("/webhooks/<int:webhook_id>")
@token_required
@require_role("admin")
def deactivate_webhook(webhook_id: int):
    """Deactivate (the delivery log stays; pending deliveries are marked failed when due)."""
    row = _subscription_or_404(webhook_id)
    row.active = False
    db.session.commit()
    return jsonify(WebhookOut().dump(row))


@bp.get("/webhooks/deliveries")
@token_required
@require_role("admin")
def list_deliveries():
    query = db.select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    for name in ("subscription_id", "instance_id"):
        if (value := params.int_arg(name)) is not None:
            query = query.where(getattr(WebhookDelivery, name) == value)
    for name in ("status", "event"):
        if value := request.args.get(name):
            query = query.where(getattr(WebhookDelivery, name) == value)
    rows = listing.page(query, default=100, maximum=MAX_DELIVERIES_PAGE)
    return rows.response([webhook_delivery.as_log_row(row) for row in rows.items])


@bp.post("/webhooks/deliveries/<int:delivery_id>/redeliver")
@token_required
@require_role("admin")
def redeliver(delivery_id: int):
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None or row.job_id is None:
        raise NotFound(f"no delivery {delivery_id}")
    webhook_delivery.redeliver(row)
    db.session.commit()
    return jsonify(webhook_delivery.as_log_row(row))
