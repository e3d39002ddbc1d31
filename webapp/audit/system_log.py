"""The system log: sign-ins, accounts and roles, deployments, incident retries.

Every entry is appended in the transaction of the action it records (a deploy and its entry
commit together or not at all), chained to the previous entry with the same algorithm as the
case history: hash = sha256_hex(prev_hash + canonical_json(body)), body = {seq, at, actor,
type, subject, payload}, the first prev_hash is 64 zeros. The one head row carries the last
seq and hash: writers lock it (PostgreSQL: SELECT ... FOR UPDATE; SQLite: every transaction
is BEGIN IMMEDIATE), so entries get consecutive numbers, and verify notices a deleted tail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from flask import has_request_context, request

from ..engine import clock
from ..engine.history import GENESIS, sha256_hex
from ..engine.serialization import canonical_json
from ..extensions import db
from ..models import SystemLogEvent, SystemLogHead

# type -> what it records (the UI labels them; see views.EVENT_LABELS)
TYPES = (
    "login",
    "login_failed",
    "logout",
    "account_created",
    "roles_changed",
    "account_deactivated",
    "account_reactivated",
    "password_reset",
    "account_unlocked",
    "account_change_refused",
    "password_changed",
    "api_token_issued",
    "api_token_revoked",
    "personal_data_viewed",
    "definition_deployed",
    "incident_retried",
    "incident_skipped",
    "instance_migrated",
    "case_signed_off",
)
_INSERT = SystemLogEvent.__table__.insert()


def body_of(event: SystemLogEvent) -> dict:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "type": event.type,
        "subject": event.subject,
        "payload": json.loads(event.payload),
    }


def chain_hash(prev_hash: str, event: SystemLogEvent) -> str:
    return sha256_hex(prev_hash + canonical_json(body_of(event)))


def _locked_head() -> SystemLogHead:
    head = db.session.execute(
        db.select(SystemLogHead).where(SystemLogHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:  # a database made without the migration's head row
        head = SystemLogHead(id=1, last_seq=0, last_hash="")
        db.session.add(head)
        db.session.flush()
    return head


def record(type: str, *, actor: str, subject: str = "", payload: dict | None = None, commit: bool = False) -> SystemLogEvent:
    """Append one entry in the current transaction (commit only when asked)."""
    head = _locked_head()
    payload = dict(payload or {})
    if has_request_context() and "ip" not in payload:
        payload["ip"] = request.remote_addr or ""
    event = SystemLogEvent(
        seq=head.last_seq + 1,
        at=clock.to_iso(clock.now()),
        actor=(actor or "")[:100],
        type=type,
        subject=(subject or "")[:200],
        payload=canonical_json(payload),
        prev_hash=head.last_hash or GENESIS,
    )
    event.hash = chain_hash(event.prev_hash, event)
    columns = ("seq", "at", "actor", "type", "subject", "payload", "prev_hash", "hash")
    db.session.execute(_INSERT, {c: getattr(event, c) for c in columns})
    head.last_seq, head.last_hash = event.seq, event.hash
    db.session.flush()
    if commit:
        db.session.commit()
    return event


# ---------------------------------------------------------------- one-line hooks for the callers


def sign_in(username: str, user, reason: str) -> None:
    """After a sign-in attempt (check_login has committed its own changes)."""
    if user is not None:
        record("login", actor=user.username, subject=user.username, commit=True)
    else:
        name = (username or "")[:100]
        record("login_failed", actor=name, subject=name, payload={"reason": reason}, commit=True)


def account_created(user, *, actor: str) -> None:
    record("account_created", actor=actor, subject=user.username,
           payload={"roles": sorted(user.role_codes), "active": user.active})


def accounts_created(usernames: Iterable[str], *, actor: str) -> None:
    """Demo accounts made by the CLI (already committed): one entry each, then commit."""
    from ..models import User

    names = list(usernames)
    for user in db.session.scalars(db.select(User).where(User.username.in_(names)).order_by(User.username)):
        account_created(user, actor=actor)
    if names:
        db.session.commit()


def account_state(user) -> dict:
    """What account_changes compares: take it before the form is applied."""
    from ..security import lockout

    return {
        "roles": sorted(user.role_codes),
        "active": user.active,
        "password_hash": user.password_hash,
        "locked": bool(lockout.active_locks(user.username)),
    }


def account_changes(user, before: dict, *, actor: str) -> None:
    after = account_state(user)
    if after["roles"] != before["roles"]:
        added = sorted(set(after["roles"]) - set(before["roles"]))
        removed = sorted(set(before["roles"]) - set(after["roles"]))
        record("roles_changed", actor=actor, subject=user.username,
               payload={"before": before["roles"], "after": after["roles"], "added": added, "removed": removed})
    if after["active"] != before["active"]:
        record("account_reactivated" if after["active"] else "account_deactivated", actor=actor, subject=user.username)
    if after["password_hash"] != before["password_hash"]:
        record("password_reset", actor=actor, subject=user.username)
    if before["locked"] and not after["locked"]:
        record("account_unlocked", actor=actor, subject=user.username)


def deployed(definition, created: bool, *, actor: str) -> None:
    """After definitions.deploy, before the commit: a new version is an entry; the same content is not."""
    if created:
        record("definition_deployed", actor=actor, subject=f"{definition.key} v{definition.version}",
               payload={"key": definition.key, "version": definition.version, "content_hash": definition.content_hash,
                        "files": sorted((definition.files or {}).keys())})


def deployed_all(results: Iterable, *, actor: str) -> None:
    for definition, created in results:
        deployed(definition, created, actor=actor)


def incident_retried(job, *, actor: str) -> None:
    """Before runtime.retry_incident, which commits the entry with the retry."""
    record("incident_retried", actor=actor, subject=f"job {job.id}",
           payload={"job_id": job.id, "instance_id": job.instance_id, "bpmn_id": job.bpmn_id, "operator": job.operator,
                    "last_error": (job.last_error or "")[:500]})


def incident_skipped(job, result, *, actor: str) -> None:
    """Before runtime.skip_incident: the manager's value stands in for the service task's result."""
    record("incident_skipped", actor=actor, subject=f"job {job.id}",
           payload={"job_id": job.id, "instance_id": job.instance_id, "bpmn_id": job.bpmn_id, "operator": job.operator,
                    "last_error": (job.last_error or "")[:500], "result": result})


def instance_migrated(instance, versions: dict, *, actor: str) -> None:
    """A case moved to another version of its process (in the same transaction as its history event)."""
    record("instance_migrated", actor=actor, subject=instance.business_key, payload={**versions, "instance_id": instance.id})


# ---------------------------------------------------------------- verification


def head() -> SystemLogHead | None:
    return db.session.get(SystemLogHead, 1)


def verify(progress=None) -> dict:
    """Recompute the chain from the first entry. {"verified": True, "events": n, "head": hash} or
    {"verified": False, "first_bad_seq": n, "reason": ...}. The head is read first: entries
    appended while we read must chain on; the head's entry must carry the head's hash."""
    top = head()
    last_seq, last_hash = (top.last_seq, top.last_hash) if top is not None else (0, "")
    query = db.select(SystemLogEvent).order_by(SystemLogEvent.seq, SystemLogEvent.id)
    prev_hash, expected = GENESIS, 1
    for event in db.session.scalars(query.execution_options(yield_per=2000)):
        if event.seq != expected:
            return _bad(expected, f"entry {expected} is missing (found {event.seq} in its place)")
        if event.prev_hash != prev_hash:
            return _bad(event.seq, "prev_hash does not match the previous entry's hash")
        try:
            computed = chain_hash(prev_hash, event)
        except ValueError:
            return _bad(event.seq, "payload is not valid JSON")
        if computed != event.hash:
            return _bad(event.seq, "hash does not match the entry's content")
        if event.seq == last_seq and event.hash != last_hash:
            return _bad(event.seq, "the head does not match this entry (entries replaced)")
        prev_hash, expected = event.hash, expected + 1
        if progress is not None:
            progress(1)
    count = expected - 1
    if count < last_seq:
        return _bad(count + 1, f"entries {count + 1} to {last_seq} are missing (the log was cut)")
    return {"verified": True, "events": count, "head": prev_hash if count else ""}


def _bad(seq: int, reason: str) -> dict:
    return {"verified": False, "first_bad_seq": seq, "reason": reason}
