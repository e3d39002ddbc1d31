"""Signed checkpoints: tamper evidence that holds against someone who can write the database.

A hash chain only proves that nothing changed after someone noted its head; whoever can write
the database can rebuild a whole chain. A checkpoint notes every head at once and signs them
with a key that is not in the database (webapp/audit/signing.py): every instance's chain head
and event count, every process version's content hash and metadata hash (recomputed from what
is stored), the system log's head and the number of instances. Whoever keeps the exported
digest.json can later show that nothing before it was rewritten, deleted or reordered
(`verify_against`); what it cannot show is anything against the holder of the private key,
who can sign a new digest of a rewritten record (docs/audit.md).

The body is canonical JSON (the same as every other hash here); `digest` is its sha256 hex
and `signature` the Ed25519 signature of its UTF-8 bytes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from ..engine import clock, definitions
from ..engine.history import sha256_hex
from ..engine.serialization import canonical_json
from ..extensions import db
from ..models import Checkpoint, Definition, HistoryEvent, Instance, SystemLogEvent
from . import signing, system_log

FORMAT = "aftersales-checkpoint/1"
ALGORITHM = {
    "digest": "sha256 hex of the UTF-8 bytes of canonical_json(checkpoint)",
    "signature": "Ed25519 (RFC 8032) over the same bytes, base64; the public key is the PEM of public_key_pem, "
                 "key_id = sha256 hex of its 32 raw bytes",
    "canonical_json": "json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False)",
    "instances": "id -> {business_key, process_key, last_seq, last_hash}: each case's chain head",
    "definitions": "id -> {key, version, content_hash, meta_hash}: recomputed from the stored files, forms and metadata",
    "system_log": "{last_seq, last_hash}: the system log's head",
    "documentation": "docs/audit.md; offline: python3 docs/verify_history.py --against digest.json --public-key key.pem",
}


class DigestRefused(ValueError):
    """The document is not a checkpoint this system signed: nothing is compared."""


def snapshot_of_state() -> dict:
    instances = {
        str(row.id): {"business_key": row.business_key, "process_key": row.process_key, "last_seq": row.last_seq,
                      "last_hash": row.last_hash}
        for row in db.session.execute(db.select(Instance.id, Instance.business_key, Instance.process_key, Instance.last_seq,
                                                Instance.last_hash).order_by(Instance.id))
    }
    versions = {}
    for row in db.session.scalars(db.select(Definition).order_by(Definition.id)):
        versions[str(row.id)] = {"key": row.key, "version": row.version,
                                 "content_hash": definitions.stored_content_hash(row),
                                 "meta_hash": definitions.meta_hash(row.meta)}
    head = system_log.head()
    return {
        "instances": instances,
        "instance_count": len(instances),
        "definitions": versions,
        "system_log": {"last_seq": head.last_seq if head else 0, "last_hash": head.last_hash if head else ""},
    }


def create(actor: str) -> Checkpoint:
    """Sign the state as it stands; the caller commits (the row only records what was signed)."""
    body = {"format": FORMAT, "at": clock.to_iso(clock.now()), "created_by": actor, "key_id": signing.key_id(),
            **snapshot_of_state()}
    text = canonical_json(body)
    row = Checkpoint(at=body["at"], created_by=actor, body=text, digest=sha256_hex(text),
                     signature=signing.sign(text.encode("utf-8")), key_id=body["key_id"])
    db.session.add(row)
    db.session.flush()
    return row


def latest() -> Checkpoint | None:
    return db.session.scalar(db.select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def due(interval: timedelta, now: datetime) -> bool:
    last = latest()
    return last is None or clock.from_iso(last.at) + interval <= now


def document(row: Checkpoint) -> dict:
    """digest.json: what an auditor keeps."""
    return {"format": FORMAT, "id": row.id, "checkpoint": json.loads(row.body), "digest": row.digest,
            "signature": row.signature, "public_key_pem": signing.public_pem().decode("ascii"), "algorithm": ALGORITHM}


def document_bytes(row: Checkpoint) -> bytes:
    return (json.dumps(document(row), ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _signed_body(doc: object) -> dict:
    """The checkpoint inside a digest.json, once its digest and our signature hold."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("checkpoint"), dict):
        raise DigestRefused(f"not a checkpoint digest (format {FORMAT} expected)")
    body = doc["checkpoint"]
    text = canonical_json(body)
    if sha256_hex(text) != doc.get("digest"):
        raise DigestRefused("the digest does not match the checkpoint's content: the file was edited")
    if not isinstance(doc.get("signature"), str) or not signing.signature_holds(text.encode("utf-8"), doc["signature"]):
        raise DigestRefused("the signature does not match: this digest was not signed by this system's checkpoint key "
                            f"(key id {signing.key_id()[:16]}…)")
    for part in ("instances", "definitions", "system_log"):
        if not isinstance(body.get(part), dict):
            raise DigestRefused(f"the checkpoint has no {part}")
    return body


def _instance_problems(recorded: dict[str, dict]) -> list[dict]:
    problems = []
    ids = [int(i) for i in recorded]
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in db.session.execute(db.select(Instance.id, Instance.business_key, Instance.process_key, Instance.last_seq)
                                      .where(Instance.id.in_(chunk))):
            rows[row.id] = row
    pairs = [(int(i), r["last_seq"]) for i, r in recorded.items() if r["last_seq"]]
    hashes = {}
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        query = db.select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.hash).where(
            db.tuple_(HistoryEvent.instance_id, HistoryEvent.seq).in_(chunk))
        for event in db.session.execute(query):
            hashes[(event.instance_id, event.seq)] = event.hash
    for key, then in recorded.items():
        instance_id, seq = int(key), then["last_seq"]
        where = {"instance_id": instance_id, "business_key": then["business_key"]}
        row = rows.get(instance_id)
        if row is None:
            problems.append({**where, "what": "instance deleted", "detail": f"the case and its {seq} events are gone"})
            continue
        if (row.business_key, row.process_key) != (then["business_key"], then["process_key"]):
            problems.append({**where, "what": "instance changed",
                             "detail": f"now {row.process_key} {row.business_key}"})
        if seq == 0:
            continue
        if row.last_seq < seq or (instance_id, seq) not in hashes:
            problems.append({**where, "seq": min(row.last_seq + 1, seq), "what": "events deleted",
                             "detail": f"events {min(row.last_seq + 1, seq)}..{seq} are missing (the checkpoint counted {seq})"})
        elif hashes[(instance_id, seq)] != then["last_hash"]:
            problems.append({**where, "seq": seq, "what": "history rewritten",
                             "detail": f"event {seq}'s hash differs from the checkpoint: events 1..{seq} were changed, "
                                       "reordered or replaced (and the chain recomputed)"})
    return problems


def _definition_problems(recorded: dict[str, dict]) -> list[dict]:
    problems = []
    for key, then in recorded.items():
        where = {"definition_id": int(key), "key": then.get("key"), "version": then.get("version")}
        row = db.session.get(Definition, int(key))
        if row is None:
            problems.append({**where, "what": "definition deleted", "detail": "the process version is gone"})
            continue
        if (row.key, row.version) != (then.get("key"), then.get("version")):
            problems.append({**where, "what": "definition renumbered", "detail": f"now {row.key} v{row.version}"})
        if definitions.stored_content_hash(row) != then.get("content_hash"):
            problems.append({**where, "what": "definition files changed",
                             "detail": "its BPMN/DMN files or forms differ from the checkpoint"})
        if definitions.meta_hash(row.meta) != then.get("meta_hash"):
            problems.append({**where, "what": "definition metadata changed",
                             "detail": "its metadata (lanes, start role, forms per task...) differs from the checkpoint"})
    return problems


def _system_log_problems(then: dict) -> list[dict]:
    seq = then.get("last_seq") or 0
    if not seq:
        return []
    entry = db.session.scalar(db.select(SystemLogEvent).where(SystemLogEvent.seq == seq))
    if entry is None:
        return [{"what": "system log entries deleted", "seq": seq, "detail": f"entry {seq} is missing"}]
    if entry.hash != then.get("last_hash"):
        return [{"what": "system log rewritten", "seq": seq,
                 "detail": f"entry {seq}'s hash differs from the checkpoint: entries 1..{seq} were changed"}]
    return []


def verify_against(doc: object) -> dict:
    """Compare the record with a digest this system signed. Raises DigestRefused when the
    document is not one; otherwise {"verified", "checkpoint": {at, digest}, "problems": [...]}."""
    body = _signed_body(doc)
    problems = (_instance_problems(body["instances"]) + _definition_problems(body["definitions"])
                + _system_log_problems(body["system_log"]))
    return {"verified": not problems, "checkpoint": {"at": body.get("at"), "digest": doc["digest"]},
            "instances": len(body["instances"]), "definitions": len(body["definitions"]), "problems": problems}


def describe(problem: dict) -> str:
    """One line per problem, for the CLI and the page."""
    if "instance_id" in problem:
        subject = f"instance {problem['instance_id']} ({problem['business_key']})"
    elif "definition_id" in problem:
        subject = f"definition {problem['key']} v{problem['version']} (id {problem['definition_id']})"
    else:
        subject = "system log" if "system log" in problem["what"] else "record"
    return f"{subject}: {problem['what']}: {problem['detail']}"


def load_document(data: bytes) -> dict:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DigestRefused("not a JSON file") from None


