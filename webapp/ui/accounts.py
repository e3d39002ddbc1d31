"""Account and role management for after-sales managers and administrators.

Managers run their department's accounts; only an administrator may hand out or take away
the administrator role, or change an administrator's account, so a manager cannot raise
their own rights.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.security import generate_password_hash

from ..accounts import create_user
from ..audit import system_log
from ..engine import clock
from ..extensions import db
from ..models import Role, User
from . import bp
from .auth import MIN_PASSWORD
from .common import all_roles, is_admin, manager_required

USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,80}$")


def _editable(user: User) -> bool:
    return is_admin() or "admin" not in user.role_codes


def _chosen_roles(errors: dict[str, str]) -> list[str]:
    known = {r.code for r in all_roles()}
    chosen = [code for code in request.form.getlist("roles") if code in known]
    if "admin" in chosen and not is_admin():
        errors["roles"] = _("Only an administrator may grant the administrator role.")
    if not chosen:
        errors["roles"] = _("Choose at least one role.")
    return chosen


@bp.get("/admin/users")
@login_required
@manager_required
def users() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    query = db.select(User).order_by(User.active.desc(), User.username)
    if q:
        query = query.where(db.or_(User.username.ilike(f"%{q}%"), User.display_name.ilike(f"%{q}%")))
    return render_template("users.html", users=db.session.scalars(query).all(), q=q, now=clock.now(), editable=_editable)


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
        return render_template("user_form.html", user=None, roles=roles, errors=errors, chosen=set(chosen)), 422
    return render_template("user_form.html", user=None, roles=roles, errors=errors, chosen=set())


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
        if user.id == current_user.id and not active:
            errors["active"] = _("You cannot deactivate your own account.")
        if password and len(password) < MIN_PASSWORD:
            errors["password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD)
        if errors:
            return render_template("user_form.html", user=user, roles=roles, errors=errors, chosen=set(chosen)), 422
        by_code = {r.code: r for r in db.session.scalars(db.select(Role))}
        before = system_log.account_state(user)
        user.roles = [by_code[code] for code in chosen]
        user.display_name = form.get("display_name", "").strip()[:100] or user.username
        user.active = active
        if password:
            user.password_hash = generate_password_hash(password, method="scrypt")
        if form.get("unlock") == "on":
            user.failed_logins, user.locked_until = 0, None
        system_log.account_changes(user, before, actor=current_user.username)
        db.session.commit()
        flash(_("Account %(name)s was saved.", name=user.username), "success")
        return redirect(url_for("ui.users"))
    return render_template("user_form.html", user=user, roles=roles, errors=errors, chosen=user.role_codes)
