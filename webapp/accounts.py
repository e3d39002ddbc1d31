"""Accounts: roles of the regulations, demo staff, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from werkzeug.security import generate_password_hash

from .engine import clock
from .extensions import db
from .models import ApiToken, Role, User

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


def user_for_token(token: str, address: str | None = None) -> User | None:
    """The account behind a live token: not revoked, not expired, the account active and not
    locked for the caller's address (sign-in lock-outs count for the API too)."""
    from .security import lockout

    row = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    now = clock.now()
    if row is None or not token_is_live(row, now) or not row.user.active:
        return None
    if address is not None and lockout.locked_until(row.user.username, address) is not None:
        return None
    return row.user


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
