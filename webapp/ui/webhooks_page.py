"""Webhooks 接口推送 for administrators: the subscribers and the latest deliveries (read-only;
subscribing, deactivating and redelivering are in the JSON API, docs/api.md)."""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ..extensions import db
from ..models import WebhookDelivery, WebhookSubscription
from . import bp
from .common import is_admin

LATEST = 200


@bp.get("/admin/webhooks")
@login_required
def webhooks() -> ResponseReturnValue:
    if not is_admin():
        abort(403)
    subscriptions = db.session.scalars(db.select(WebhookSubscription).order_by(WebhookSubscription.id)).all()
    deliveries = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(LATEST)).all()
    return render_template("webhooks.html", subscriptions=subscriptions, deliveries=deliveries, latest=LATEST)
