"""The hash-chained event log of each instance.

Published algorithm (docs/history.md): for each event in seq order,
hash = sha256_hex(prev_hash + canonical_json(body)), where body is the object
{instance_id, seq, at, actor, type, bpmn_id, task_id, payload, state_hash} and
canonical_json sorts keys, uses "," and ":" separators and keeps non-ASCII text as is.
The first event's prev_hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass

import orjson

from ..extensions import db
from ..models import HistoryEvent, Instance
from ..webhooks import outbox as webhook_outbox
from . import plain_sql
from .serialization import canonical_copy_fixed, canonical_json

GENESIS = "0" * 64
_COLUMNS = ("instance_id", "seq", "at", "actor", "type", "bpmn_id", "task_id", "payload", "state_hash", "prev_hash",
            "hash")
_INSERT = plain_sql.Statement(HistoryEvent.__table__.insert().inline(), _COLUMNS)
# PostgreSQL, an instance's first event in the transaction: the same INSERT, also answering the
# webhook outbox's question (is there a subscriber, which tasks were open) in one statement
_INSERT_ASKING = webhook_outbox.asking(HistoryEvent.__table__.insert().inline(), _COLUMNS)
_BODY = ("instance_id", "seq", "at", "actor", "type", "bpmn_id", "task_id", "state_hash")  # and the payload


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_UNREAD = object()


def event_body(event: HistoryEvent, payload: object = _UNREAD) -> dict:
    """The hashed body; `payload`: the event's payload text already parsed (replay parses it
    once for the chain and the workflow)."""
    return {
        "instance_id": event.instance_id,
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "type": event.type,
        "bpmn_id": event.bpmn_id,
        "task_id": event.task_id,
        "payload": json.loads(event.payload) if payload is _UNREAD else payload,
        "state_hash": event.state_hash,
    }


def chain_hash(prev_hash: str, event: HistoryEvent, payload: object = _UNREAD) -> str:
    return sha256_hex(prev_hash + canonical_json(event_body(event, payload)))


@dataclass(frozen=True)
class Appended:
    """What a caller learns of the event it appended."""

    seq: int
    hash: str


def append(
    instance: Instance,
    *,
    at: str,
    actor: str,
    type: str,
    payload: dict,
    state_hash: str,
    bpmn_id: str | None = None,
    task_id: str | None = None,
    payload_text: str | None = None,
) -> Appended:
    """Add the next event of the instance, chained to its last one (a plain INSERT: the
    hot path of every command; the unique (instance_id, seq) stops a concurrent twin).
    `payload_text`: the caller's canonical_copy_fixed text of what `payload` was read back
    from, when that says the text is also the payload's own (a command's input is made so
    once: runtime._apply)."""
    row = {
        "instance_id": instance.id,
        "seq": instance.last_seq + 1,
        "at": at,
        "actor": actor,
        "type": type,
        "bpmn_id": bpmn_id,
        "task_id": task_id,
        "state_hash": state_hash,
        "prev_hash": instance.last_hash or GENESIS,
    }
    row["payload"], body_text = stored_texts({key: row[key] for key in _BODY}, payload, payload_text)
    row["hash"] = sha256_hex(row["prev_hash"] + body_text)
    instance.last_seq = row["seq"]
    instance.last_hash = row["hash"]
    # on the driver, in the session's transaction: no autoflush, no per-statement ORM work
    # Webhooks (issue 18): the one call; deliveries are enqueued in this same transaction.
    asked = None
    if webhook_outbox.asks_first(db.session, instance.id):
        asked = plain_sql.Later(db.session, _INSERT_ASKING, {**row, "open_of": instance.id})
    else:
        plain_sql.send(db.session, _INSERT, row)
    webhook_outbox.recorded(db.session, instance, type=type, seq=row["seq"], at=at, actor=actor,
                            bpmn_id=bpmn_id, task_id=task_id, payload=payload, asked=asked)
    return Appended(row["seq"], row["hash"])


def stored_texts(body: dict, payload: object, payload_text: str | None = None) -> tuple[str, str]:
    """The event's payload text as stored and the canonical text of its hashed body (the
    other fields in `body`), exactly as event_body() reads the body back from the stored row:
    canonical_json of it with the payload json.loads of the stored text (see append for
    `payload_text`)."""
    if payload_text is None:
        payload_text, read_back, fixed = canonical_copy_fixed(payload)
    else:
        read_back, fixed = payload, True
    body_text = _body_text(body, payload_text) if fixed else None
    if body_text is None:
        body_text = canonical_json({**body, "payload": read_back})
    return payload_text, body_text


_BODY_SCALARS = frozenset((str, int, type(None)))


def _body_text(body: dict, payload_text: str) -> str | None:
    """canonical_json of the body with the payload read back from `payload_text`, when that
    text is the read-back's own canonical text (canonical_copy_fixed): the payload's text goes
    in as it is instead of being walked and written again. The other fields are str, int or
    None, which orjson writes as json.dumps does; anything else (or what orjson refuses: a
    lone surrogate) returns None, and the caller takes canonical_json's way."""
    if not _BODY_SCALARS.issuperset(map(type, body.values())):
        return None
    try:
        return orjson.dumps({**body, "payload": orjson.Fragment(payload_text)}, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return None


def events_of(instance_id: int, upto: int | None = None) -> list[HistoryEvent]:
    """The events as ORM objects (for code that edits or exports them; replay reads event_rows)."""
    query = db.select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
    if upto is not None:
        query = query.where(HistoryEvent.seq <= upto)
    return list(db.session.scalars(query.order_by(HistoryEvent.seq, HistoryEvent.id)))


_TABLE = HistoryEvent.__table__
_ROW_COLUMNS = tuple(column.key for column in _TABLE.c)
EventRow = namedtuple("EventRow", _ROW_COLUMNS)
EventRow.__doc__ = "One stored history event, read-only (history_events' columns by name)."
_ROWS_QUERY = db.select(*_TABLE.c).where(_TABLE.c.instance_id == db.bindparam("instance_id")).order_by(_TABLE.c.seq,
                                                                                                     _TABLE.c.id)
_ROWS = plain_sql.Statement(_ROWS_QUERY)
_ROWS_UPTO = plain_sql.Statement(_ROWS_QUERY.where(_TABLE.c.seq <= db.bindparam("upto")))


def event_rows(instance_id: int, upto: int | None = None) -> list[EventRow]:
    """The same events read-only, as plain rows with the same attribute names, in one query
    on the driver cursor of the session's connection (plain_sql): replay and verification
    read thousands of events a second, and building ORM objects, or SQLAlchemy's own rows,
    for them cost more than the query (pending ORM changes are flushed first, so a caller
    sees what the session holds)."""
    db.session.flush()
    if upto is None:
        rows = plain_sql.fetch_all(db.session, _ROWS, {"instance_id": instance_id})
    else:
        rows = plain_sql.fetch_all(db.session, _ROWS_UPTO, {"instance_id": instance_id, "upto": upto})
    return [EventRow._make(row) for row in rows]
