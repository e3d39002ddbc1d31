"""Accounts: roles of the regulations, demo staff, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import String, bindparam, select
from werkzeug.security import generate_password_hash

from . import plain_rows
from .engine import clock, plain_sql
from .extensions import db
from .models import ApiToken, LoginThrottle, Role, User, user_roles

# code, 中文, English — the roles of the regulations (lanes map to these codes)
ROLES = [
    ("customer_service", "客服", "Customer service agent"),
    ("service_advisor", "业务接待", "Service advisor"),
    ("complaint_handler", "客户投诉处理组", "Complaint handler"),
    ("technical_support", "技术支持组", "Technical support"),
    ("technician", "维修人员", "Technician"),
    ("team_leader", "班组长", "Team leader"),
    ("workshop_supervisor", "车间主管", "Workshop supervisor"),
    ("warranty_clerk", "索赔员", "Warranty claim clerk"),
    ("parts_keeper", "配件经理", "Parts / warehouse keeper"),
    ("followup_clerk", "回访员", "Follow-up clerk"),
    ("quality_dept", "质量部", "Quality department"),
    ("sales_dept", "销售部", "Sales department"),
    ("after_sales_manager", "售后服务部经理", "After-sales manager"),
    ("general_manager", "总经理", "General manager"),
    ("process_owner", "流程负责人", "Process owner"),
    ("auditor", "审计员", "Auditor"),
    ("admin", "系统管理员", "Administrator"),
]


def ensure_roles() -> None:
    existing = {r.code for r in db.session.scalars(db.select(Role))}
    for code, zh, en in ROLES:
        if code not in existing:
            db.session.add(Role(code=code, name_zh=zh, name_en=en))
    db.session.flush()


def create_user(username: str, password: str, roles: list[str], display_name: str = "") -> User:
    ensure_roles()
    known = {r.code: r for r in db.session.scalars(db.select(Role))}
    unknown = [code for code in roles if code not in known]
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password, method="scrypt"),
        roles=[known[code] for code in roles],
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """A new password ends every session and every API token of the account (commit with it)."""
    from .security import sessions

    user.password_hash = generate_password_hash(password, method="scrypt")
    sessions.end_all(user)
    revoke_all_tokens(user, by="password change")


def create_demo_accounts() -> dict[str, str]:
    """One account per role plus admin, with random passwords. Returns only new ones."""
    ensure_roles()
    created = {}
    for code, zh, _ in ROLES:
        username = "admin" if code == "admin" else code
        if db.session.scalar(db.select(User).where(User.username == username)):
            continue
        password = secrets.token_urlsafe(9)
        roles = [c for c, _, _ in ROLES] if code == "admin" else [code]
        create_user(username, password, roles, display_name=zh)
        created[username] = password
    db.session.commit()
    return created


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_TOKEN_DAYS = 90
_DEFAULT = object()


def default_token_days() -> int:
    return int(current_app.config.get("API_TOKEN_DAYS", DEFAULT_TOKEN_DAYS)) if has_app_context() else DEFAULT_TOKEN_DAYS


def issue_token(user: User, name: str = "", expires_in: timedelta | None | object = _DEFAULT, *, commit: bool = True) -> str:
    """A new bearer token for the account; only its SHA-256 is stored, the token is returned once.
    expires_in: default API_TOKEN_DAYS (90 days); None: never expires (CLI `--expires never`)."""
    if expires_in is _DEFAULT:
        expires_in = timedelta(days=default_token_days())
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=now, name=(name or "")[:100],
                            expires_at=now + expires_in if expires_in is not None else None))
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return token


def token_is_live(row: ApiToken, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return not row.revoked and (row.expires_at is None or row.expires_at > now)


@dataclass(frozen=True)
class TokenUser:
    """Who an API request acts for: what the API views read of the account (its name and
    roles), read fresh from the database on every request, not an ORM object."""

    id: int
    username: str
    role_codes: frozenset[str]
    is_authenticated = True  # as Flask-Login's users, for checks shared with sessions

    def has_role(self, code: str) -> bool:
        return code in self.role_codes or "admin" in self.role_codes


def _token_query():
    # One plain statement per request instead of three ORM loads (token + account, roles,
    # lock-out row): the token, its account, the account's roles (one row each) and the
    # caller's lock-out row. Nothing is cached between requests, so a revoke, a role change,
    # a password change or a deactivation in any process holds from the next request on.
    tokens, users, throttles = ApiToken.__table__, User.__table__, LoginThrottle.__table__
    return (
        select(tokens.c.revoked, tokens.c.expires_at, users.c.id, users.c.username, users.c.active,
               user_roles.c.role_code, throttles.c.locked_until)
        .select_from(
            tokens.join(users, users.c.id == tokens.c.user_id)
            .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
            .outerjoin(throttles, (throttles.c.username == users.c.username)
                       & (throttles.c.address == bindparam("address", type_=String))))
        .where(tokens.c.token_hash == bindparam("token_hash", type_=String))
    )


_TOKEN_QUERY = plain_sql.Statement(_token_query())


def user_for_token(token: str, address: str | None = None) -> TokenUser | None:
    """The account behind a live token: not revoked, not expired, the account active and not
    locked for the caller's address (sign-in lock-outs count for the API too)."""
    session = db.session()
    if session.new or session.deleted or session.dirty:
        session.flush()  # as the ORM's autoflush: the check sees what this session changed
    # on the session's driver cursor (engine/plain_sql.py): every API request runs this, and
    # SQLAlchemy's per-execution work cost more than the indexed join itself
    rows = plain_rows.fetch_all(session, _TOKEN_QUERY, {"token_hash": _token_hash(token), "address": address or ""})
    if not rows:
        return None
    revoked, expires_at, user_id, username, active, _, locked_until = rows[0]
    now = clock.now()
    if revoked or (expires_at is not None and expires_at <= now) or not active:
        return None
    if address is not None and locked_until is not None and locked_until > now:
        return None
    return TokenUser(user_id, username, frozenset(row[5] for row in rows if row[5] is not None))


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(),
                                                                                                   ApiToken.id.desc())))


def revoke_token(row: ApiToken, *, by: str) -> None:
    if not row.revoked:
        row.revoked, row.revoked_at, row.revoked_by = True, clock.now(), by[:80]


def revoke_all_tokens(user: User, *, by: str) -> int:
    rows = [row for row in tokens_of(user) if not row.revoked]
    for row in rows:
        revoke_token(row, by=by)
    return len(rows)
