"""Account and role management for after-sales managers and administrators.

Managers run their department's accounts; only an administrator may hand out or take away
the roles that open the whole system (PRIVILEGED), set the password of someone who holds
one, or change an administrator's account; nobody changes their own roles. Refusals answer
403 with the reason and are written to the system log, like every grant and reset.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import create_user, revoke_token, set_password, tokens_of
from ..audit import system_log
from ..engine import clock
from ..extensions import db
from ..models import ApiToken, LoginThrottle, Role, User
from ..security import lockout, sessions
from . import bp
from .auth import MIN_PASSWORD
from .common import all_roles, is_admin, manager_required

USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,80}$")
# Roles that open the whole system (everything, deploys, every record, every figure): only an
# administrator grants or removes them, or sets the password of someone who holds one.
PRIVILEGED = frozenset({"admin", "process_owner", "auditor", "general_manager"})


def _editable(user: User) -> bool:
    return is_admin() or "admin" not in user.role_codes


def _chosen_roles(errors: dict[str, str]) -> list[str]:
    known = {r.code for r in all_roles()}
    chosen = [code for code in request.form.getlist("roles") if code in known]
    if not chosen:
        errors["roles"] = _("Choose at least one role.")
    return chosen


def _refusal(user: User | None, chosen: list[str], password: str) -> str:
    """Why this change may not be made by the person signed in ("" when it may)."""
    held = user.role_codes if user is not None else set()
    if user is not None and user.id == current_user.id and set(chosen) != held:
        return _("Nobody may change their own roles; ask an administrator.")
    if is_admin():
        return ""
    if (set(chosen) ^ held) & PRIVILEGED:
        return _("Only an administrator may grant or remove the roles administrator, process owner, auditor "
                 "and general manager.")
    if user is not None and password and held & PRIVILEGED:
        return _("Only an administrator may set the password of an administrator, process owner, auditor "
                 "or general manager.")
    return ""


def _refused(user: User | None, chosen: list[str], reason: str, roles, template_user) -> ResponseReturnValue:
    """403 with the reason on the form; the attempt is in the system log, nothing else changes."""
    db.session.rollback()
    system_log.record("account_change_refused", actor=current_user.username,
                      subject=user.username if user is not None else request.form.get("username", "")[:80],
                      payload={"requested_roles": sorted(chosen), "held_roles": sorted(user.role_codes) if user else [],
                               "password": bool(request.form.get("password")), "reason": reason}, commit=True)
    return render_template("user_form.html", user=template_user, roles=roles, errors={"roles": reason},
                           chosen=set(chosen), privileged=PRIVILEGED, tokens=_tokens_for(template_user)), 403


def _tokens_for(user: User | None) -> list:
    return tokens_of(user) if user is not None and is_admin() else []


@bp.get("/admin/users")
@login_required
@manager_required
def users() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    query = db.select(User).order_by(User.active.desc(), User.username)
    if q:
        query = query.where(db.or_(User.username.ilike(f"%{q}%"), User.display_name.ilike(f"%{q}%")))
    rows = db.session.scalars(query).all()
    locked = {row.username for row in db.session.scalars(
        db.select(LoginThrottle).where(LoginThrottle.locked_until > clock.now()))}
    return render_template("users.html", users=rows, q=q, locked=locked, editable=_editable)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
@manager_required
def new_user() -> ResponseReturnValue:
    roles = all_roles()
    form = request.form
    errors: dict[str, str] = {}
    if request.method == "POST":
        username = form.get("username", "").strip()
        password = form.get("password", "")
        chosen = _chosen_roles(errors)
        reason = _refusal(None, chosen, "")
        if reason:
            return _refused(None, chosen, reason, roles, None)
        if not USERNAME.match(username):
            errors["username"] = _("Use 2 to 80 letters, digits, dots, dashes or underscores.")
        elif db.session.scalar(db.select(User).where(User.username == username)):
            errors["username"] = _("This username is already taken.")
        if len(password) < MIN_PASSWORD:
            errors["password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD)
        if not errors:
            user = create_user(username, password, chosen, display_name=form.get("display_name", "").strip()[:100])
            system_log.account_created(user, actor=current_user.username)
            db.session.commit()
            flash(_("Account %(name)s was created.", name=user.username), "success")
            return redirect(url_for("ui.users"))
        return render_template("user_form.html", user=None, roles=roles, errors=errors, chosen=set(chosen),
                               privileged=PRIVILEGED, tokens=[]), 422
    return render_template("user_form.html", user=None, roles=roles, errors=errors, chosen=set(), privileged=PRIVILEGED,
                           tokens=[])


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
@manager_required
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not _editable(user):
        abort(403)
    roles = all_roles()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        chosen = _chosen_roles(errors)
        active = form.get("active") == "on"
        password = form.get("password", "")
        reason = _refusal(user, chosen, password)
        if reason:
            return _refused(user, chosen, reason, roles, user)
        if user.id == current_user.id and not active:
            errors["active"] = _("You cannot deactivate your own account.")
        if password and len(password) < MIN_PASSWORD:
            errors["password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD)
        if errors:
            return render_template("user_form.html", user=user, roles=roles, errors=errors, chosen=set(chosen),
                                   privileged=PRIVILEGED, tokens=_tokens_for(user)), 422
        by_code = {r.code: r for r in db.session.scalars(db.select(Role))}
        before = system_log.account_state(user)
        user.roles = [by_code[code] for code in chosen]
        user.display_name = form.get("display_name", "").strip()[:100] or user.username
        user.active = active
        if password:
            set_password(user, password)  # ends the account's sessions and API tokens
        if sorted(chosen) != before["roles"] or (before["active"] and not active):
            sessions.end_all(user)  # a role change or deactivation holds from the next request on
        if form.get("unlock") == "on":
            lockout.unlock(user.username)
        system_log.account_changes(user, before, actor=current_user.username)
        db.session.commit()
        flash(_("Account %(name)s was saved.", name=user.username), "success")
        return redirect(url_for("ui.users"))
    return render_template("user_form.html", user=user, roles=roles, errors=errors, chosen=user.role_codes,
                           privileged=PRIVILEGED, tokens=_tokens_for(user), locks=lockout.active_locks(user.username))


@bp.post("/admin/users/<int:user_id>/tokens/<int:token_id>/revoke")
@login_required
def admin_revoke_token(user_id: int, token_id: int) -> ResponseReturnValue:
    """An administrator ends someone's API token (the owner does it in their settings)."""
    if not is_admin():
        abort(403)
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        abort(404)
    revoke_token(row, by=current_user.username)
    system_log.record("api_token_revoked", actor=current_user.username, subject=row.user.username,
                      payload={"token_id": row.id, "name": row.name})
    db.session.commit()
    flash(_("The token was revoked."), "success")
    return redirect(url_for("ui.edit_user", user_id=user_id))
