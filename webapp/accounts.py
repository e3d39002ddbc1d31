"""Accounts: roles of the regulations, demo staff, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

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


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=clock.now()))
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(
        db.select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked.is_(False))
    )
    if row is None or not row.user.active:
        return None
    return row.user
