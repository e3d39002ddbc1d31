"""Webhooks for integrations (issue 18): subscribers receive signed POSTs when a case starts,
a task is created or completed, a case ends, or an incident opens.

- `outbox`: the one hook the engine calls (from `history.append`, the single place events are
  written); the deliveries and their job rows are inserted in the command's own transaction,
  so an event is announced exactly when it is stored.
- `signing`: the HMAC-SHA256 signature (the receiver's check is in docs/api.md).
- `delivery`: what the worker runs for a delivery job: order per case, retries with backoff,
  the delivery log.
"""

EVENTS = ("case.started", "task.created", "task.completed", "case.ended", "incident.opened")
OPERATOR = "webhooks/deliver"  # the job rows' operator
