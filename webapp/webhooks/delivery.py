"""Send one webhook delivery (the worker runs this for a job of operator `webhooks/deliver`).

Order per case: a delivery waits while an earlier one of the same subscriber and case is
still pending, so a receiver sees each case's events in the order they happened even when
one of them needed retries. The POST happens outside any database transaction (SQLite has
one writer; a slow receiver must not hold it); the lease on the job row keeps other workers
off meanwhile. A failure retries with exponential backoff (the job's `backoff_base_seconds`);
after `max_attempts` the delivery is `failed` and later events of that case go on.
Sent with urllib (standard library): one POST needs no client library.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import select

from ..engine import clock
from ..extensions import db
from ..models import Job, WebhookDelivery, WebhookSubscription
from . import signing

TIMEOUT_SECONDS = 10
_ERROR_TEXT = 500  # characters of a receiver's answer kept in the log


def _release(job: Job, run_at) -> str:
    job.locked_by, job.lock_expires_at, job.run_at = None, None, run_at
    job.attempts = max(job.attempts - 1, 0)  # waiting for order is not an attempt
    db.session.commit()
    return "released"


def run(job_id: int, worker_id: str) -> str:
    """done | failed | released | lost."""
    job = db.session.get(Job, job_id)
    if job is None or job.locked_by != worker_id:
        db.session.rollback()
        return "lost"
    delivery = db.session.get(WebhookDelivery, int(job.parameters["delivery_id"]))
    subscription = db.session.get(WebhookSubscription, delivery.subscription_id) if delivery else None
    now = clock.now()
    if delivery is None or delivery.status != "pending":
        job.status, job.finished_at, job.locked_by = "done", now, None
        db.session.commit()
        return "done"
    if subscription is None or not subscription.active:
        delivery.status, delivery.last_error = "failed", "the subscription was deactivated"
        job.status, job.finished_at, job.locked_by = "done", now, None
        db.session.commit()
        return "failed"
    earlier = db.session.scalar(
        select(Job).join(WebhookDelivery, WebhookDelivery.job_id == Job.id)
        .where(WebhookDelivery.subscription_id == delivery.subscription_id,
               WebhookDelivery.instance_id == delivery.instance_id,
               WebhookDelivery.id < delivery.id, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.id).limit(1))
    if earlier is not None:
        busy = earlier.locked_by is not None and earlier.lock_expires_at and earlier.lock_expires_at > now
        return _release(job, max(earlier.run_at, now) + (timedelta(seconds=1) if busy else timedelta(0)))
    url, secret, body = subscription.url, subscription.secret, delivery.body.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "aftersales-webhooks/1",
               "X-Webhook-Id": delivery.event_id, "X-Webhook-Event": delivery.event,
               "X-Webhook-Delivery": str(delivery.id)}
    timestamp = str(int(now.timestamp()))
    headers[signing.TIMESTAMP_HEADER] = timestamp
    headers[signing.SIGNATURE_HEADER] = signing.signature(secret, timestamp, body)
    delivery_id = delivery.id
    db.session.commit()  # no transaction while the receiver answers

    status_code, error = _post(url, body, headers)

    job = db.session.get(Job, job_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if job.locked_by != worker_id:  # our lease ran out and another worker took it over
        db.session.rollback()
        return "lost"
    now = clock.now()
    delivery.attempts += 1
    delivery.last_status_code = status_code
    job.locked_by, job.lock_expires_at = None, None
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error, delivery.next_attempt_at = "delivered", now, None, None
        job.status, job.finished_at, job.last_error = "done", now, None
        db.session.commit()
        return "done"
    delivery.last_error = job.last_error = error
    if job.attempts < job.max_attempts:
        job.run_at = now + timedelta(seconds=(job.backoff_base_seconds or 10) * 2 ** (job.attempts - 1))
        delivery.next_attempt_at = job.run_at
    else:
        delivery.status, delivery.next_attempt_at = "failed", None
        job.status, job.finished_at = "done", now  # the delivery log says it failed; not a case incident
    db.session.commit()
    return "failed"


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str | None]:
    """(HTTP status, error or None). Anything but 2xx is an error."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 (admins set the URL)
            return answer.status, None
    except urllib.error.HTTPError as err:
        text = err.read(_ERROR_TEXT).decode("utf-8", "replace")
        return err.code, f"HTTP {err.code}: {text}".strip()
    except (urllib.error.URLError, OSError, ValueError) as err:
        return None, f"{type(err).__name__}: {getattr(err, 'reason', err)}"


def redeliver(delivery: WebhookDelivery) -> Job:
    """An admin sends a failed (or delivered) delivery again: a new job, the same body and id."""
    now = clock.now()
    job = db.session.get(Job, delivery.job_id) if delivery.job_id else None
    if job is None:
        raise ValueError("delivery has no job")
    delivery.status, delivery.next_attempt_at, delivery.delivered_at = "pending", now, None
    job.status, job.attempts, job.run_at, job.finished_at = "ready", 0, now, None
    job.locked_by, job.lock_expires_at = None, None
    return job


def as_log_row(delivery: WebhookDelivery) -> dict:
    return {"id": delivery.id, "subscription_id": delivery.subscription_id, "instance_id": delivery.instance_id,
            "event": delivery.event, "event_id": delivery.event_id, "status": delivery.status,
            "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error, "created_at": clock.to_iso(delivery.created_at),
            "next_attempt_at": clock.to_iso(delivery.next_attempt_at) if delivery.next_attempt_at else None,
            "delivered_at": clock.to_iso(delivery.delivered_at) if delivery.delivered_at else None,
            "body": json.loads(delivery.body)}
