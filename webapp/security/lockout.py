"""Sign-in lock-out per account AND address, with a delay that grows.

A lock stops one account from one address only: a stranger who fails five times against
`admin` locks `admin` out of the stranger's own address, while the administrator signs in
from theirs. Each lock of the same pair lasts twice as long as the one before (up to
LOGIN_LOCK_MAX_SECONDS); a successful sign-in from the address forgets its failures.
Unknown user names are counted the same way, so the answers do not tell which names exist.
Guessing from many addresses is slowed by the per-address rate limits (limits.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from ..engine import clock
from ..extensions import db
from ..models import LoginThrottle


def client_address() -> str:
    """The caller's address as the server sees it (behind a proxy, configure ProxyFix: docs/security.md)."""
    return (request.remote_addr or "unknown")[:64]


def _row(username: str, address: str) -> LoginThrottle | None:
    return db.session.scalar(db.select(LoginThrottle).where(LoginThrottle.username == username[:80],
                                                            LoginThrottle.address == address[:64]))


def locked_until(username: str, address: str) -> datetime | None:
    row = _row(username, address)
    if row is None or row.locked_until is None or row.locked_until <= clock.now():
        return None
    return row.locked_until


def record_failure(username: str, address: str) -> datetime | None:
    """Count one failed sign-in (in the caller's transaction); the lock's end when this one locks."""
    row = _row(username, address)
    if row is None:
        row = LoginThrottle(username=username[:80], address=address[:64], failures=0, lockouts=0)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # the same pair's first failure, counted by another process meanwhile
            row = _row(username, address)
    now = clock.now()
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    config = current_app.config
    if row.failures < config["LOGIN_MAX_FAILURES"]:
        return None
    row.lockouts = (row.lockouts or 0) + 1
    seconds = min(config["LOGIN_LOCK_SECONDS"] * 2 ** (row.lockouts - 1), config["LOGIN_LOCK_MAX_SECONDS"])
    row.failures, row.locked_until = 0, now + timedelta(seconds=seconds)
    return row.locked_until


def forget(username: str, address: str) -> None:
    """A successful sign-in from the address."""
    row = _row(username, address)
    if row is not None:
        db.session.delete(row)


def active_locks(username: str) -> list[LoginThrottle]:
    return list(db.session.scalars(db.select(LoginThrottle).where(
        LoginThrottle.username == username[:80], LoginThrottle.locked_until > clock.now()).order_by(LoginThrottle.address)))


def unlock(username: str) -> int:
    """A manager's unlock: every address of the account starts afresh. Returns how many were locked."""
    locked = len(active_locks(username))
    for row in db.session.scalars(db.select(LoginThrottle).where(LoginThrottle.username == username[:80])):
        db.session.delete(row)
    return locked
