"""API tokens in the owner's settings: create one (named, with an expiry; the token is shown
once and only its SHA-256 is kept) and revoke it. Administrators revoke anyone's on the
account page (accounts.py)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import issue_token, revoke_token
from ..audit import system_log
from ..extensions import db
from ..models import ApiToken
from . import bp
from .auth import TOKEN_DAY_CHOICES, profile_context, profile_zones


@bp.post("/me/tokens")
@login_required
def new_own_token() -> ResponseReturnValue:
    name = request.form.get("name", "").strip()
    errors: dict[str, str] = {}
    if not name or len(name) > 100:
        errors["name"] = _("Give the token a name of 1 to 100 characters (what uses it).")
    days = request.form.get("days", "")
    if not days.isdigit() or int(days) not in TOKEN_DAY_CHOICES:
        errors["days"] = _("Choose one of the offered periods.")
    if errors:
        return render_template("profile.html", zones=profile_zones(), errors={},
                               **profile_context(token_errors=errors)), 422
    token = issue_token(current_user, name, timedelta(days=int(days)), commit=False)
    system_log.record("api_token_issued", actor=current_user.username, subject=current_user.username,
                      payload={"name": name, "days": int(days)})
    db.session.commit()
    return render_template("profile.html", zones=profile_zones(), errors={}, **profile_context(new_token=token))


@bp.post("/me/tokens/<int:token_id>/revoke")
@login_required
def revoke_own_token(token_id: int) -> ResponseReturnValue:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    if row.user_id != current_user.id:
        abort(403)  # only the owner here; administrators revoke on the account page
    revoke_token(row, by=current_user.username)
    system_log.record("api_token_revoked", actor=current_user.username, subject=current_user.username,
                      payload={"token_id": row.id, "name": row.name})
    db.session.commit()
    flash(_("The token was revoked."), "success")
    return redirect(url_for("ui.profile") + "#tokens")
