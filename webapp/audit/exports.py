"""Exports: a case's history (JSON with the hashes and the published algorithm, CSV) and the
system log. The JSON is deterministic for a given record (no export time inside), so the
digest printed on a report matches the file anyone downloads later.

Anyone can re-check a JSON export with docs/verify_history.py (Python standard library only).
"""

from __future__ import annotations

import csv
import io
import json

from ..engine import clock, history
from ..engine.history import GENESIS
from ..extensions import db
from ..models import Definition, HistoryEvent, Instance, SystemLogEvent
from ..spreadsheet_safety import csv_cell
from . import system_log

FORMAT = "aftersales-history/1"
LOG_FORMAT = "aftersales-system-log/1"
CANONICAL_JSON = ("JSON with object keys sorted, no whitespace (separators ',' and ':'), non-ASCII characters kept as "
                  "UTF-8 (Python: json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False))")

HISTORY_ALGORITHM = {
    "hash": "sha256 hex digest of the UTF-8 bytes of prev_hash + canonical_json(body)",
    "body": ["instance_id", "seq", "at", "actor", "type", "bpmn_id", "task_id", "payload", "state_hash"],
    "canonical_json": CANONICAL_JSON,
    "genesis_prev_hash": GENESIS,
    "chain": "events in seq order 1..n; each event's prev_hash is the previous event's hash; the last hash is the "
             "instance's last_hash",
    "state_hash": "hash of the workflow snapshot after the event in the instance's state_hash_form (1: sha256 hex of the "
                  "snapshot text; 2: sha256 hex over the sha256 digests of its pieces, docs/history.md); checked by "
                  "replaying the events in the application",
    "definition_content_hash": "sha256 hex of canonical_json({\"files\": files, \"forms\": forms})",
    "documentation": "docs/audit.md; a standalone checker: docs/verify_history.py",
}

LOG_ALGORITHM = {
    "hash": "sha256 hex digest of the UTF-8 bytes of prev_hash + canonical_json(body)",
    "body": ["seq", "at", "actor", "type", "subject", "payload"],
    "canonical_json": CANONICAL_JSON,
    "genesis_prev_hash": GENESIS,
    "chain": "entries in seq order 1..n; the head holds the last seq and hash",
    "documentation": "docs/audit.md",
}


def _iso(moment) -> str | None:
    return clock.to_iso(moment) if moment else None


def event_dict(event: HistoryEvent) -> dict:
    """The hashed body of the event plus the two hashes that chain it."""
    return {**history.event_body(event), "prev_hash": event.prev_hash, "hash": event.hash}


def _events(instance_id: int) -> list[HistoryEvent]:
    return history.events_of(instance_id)


def case_document(instance: Instance) -> dict:
    definition = db.session.get(Definition, instance.definition_id)
    events = []
    for event in _events(instance.id):
        try:
            events.append(event_dict(event))
        except ValueError:  # a payload that is not JSON any more: export it as stored, the check will fail
            events.append({**{k: getattr(event, k) for k in ("instance_id", "seq", "at", "actor", "type", "bpmn_id", "task_id",
                                                              "state_hash", "prev_hash", "hash")}, "payload_text": event.payload})
    return {
        "format": FORMAT,
        "algorithm": HISTORY_ALGORITHM,
        "instance": {
            "id": instance.id,
            "business_key": instance.business_key,
            "process_key": instance.process_key,
            "status": instance.status,
            "started_at": _iso(instance.started_at),
            "started_by": instance.started_by,
            "ended_at": _iso(instance.ended_at),
            "last_seq": instance.last_seq,
            "last_hash": instance.last_hash,
            "state_hash_form": instance.state_hash_form,
        },
        "definition": {
            "id": definition.id,
            "key": definition.key,
            "version": definition.version,
            "name": definition.name,
            "content_hash": definition.content_hash,
            "deployed_at": _iso(definition.deployed_at),
            "deployed_by": definition.deployed_by,
            "files": definition.files,
            "forms": definition.forms,
        },
        "events": events,
    }


def _dump(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def case_json_bytes(instance: Instance) -> bytes:
    return _dump(case_document(instance))


def to_csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([[csv_cell(v) for v in row] for row in rows])
    return "\ufeff" + out.getvalue()  # the BOM lets spreadsheet programs read the Chinese text as UTF-8


def case_csv(instance: Instance) -> str:
    elements = (instance.definition.meta or {}).get("elements") or {}
    rows = [["instance_id", "business_key", "seq", "at", "actor", "type", "bpmn_id", "element", "task_id", "payload",
             "state_hash", "prev_hash", "hash"]]
    for e in _events(instance.id):
        name = (elements.get(e.bpmn_id or "") or {}).get("name") or ""
        rows.append([e.instance_id, instance.business_key, e.seq, e.at, e.actor, e.type, e.bpmn_id or "", name, e.task_id or "",
                     e.payload, e.state_hash, e.prev_hash, e.hash])
    return to_csv(rows)


def log_dict(entry: SystemLogEvent) -> dict:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "type": entry.type, "subject": entry.subject,
            "payload": json.loads(entry.payload), "prev_hash": entry.prev_hash, "hash": entry.hash}


def system_log_json_bytes() -> bytes:
    head = system_log.head()
    entries = db.session.scalars(db.select(SystemLogEvent).order_by(SystemLogEvent.seq, SystemLogEvent.id)).all()
    return _dump({
        "format": LOG_FORMAT,
        "algorithm": LOG_ALGORITHM,
        "head": {"last_seq": head.last_seq if head else 0, "last_hash": head.last_hash if head else ""},
        "events": [log_dict(e) for e in entries],
    })


def system_log_csv(query) -> str:
    rows = [["seq", "at", "actor", "type", "subject", "payload", "prev_hash", "hash"]]
    for e in db.session.scalars(query.order_by(SystemLogEvent.seq)):
        rows.append([e.seq, e.at, e.actor, e.type, e.subject, e.payload, e.prev_hash, e.hash])
    return to_csv(rows)
