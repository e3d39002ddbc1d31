"""Sign-in with a lock-out after repeated failures, sign-out, language switch, own settings."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import available_timezones

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import system_log
from ..engine import clock
from ..extensions import db
from ..models import User
from . import bp
from .common import safe_next
from .i18n import LANG_COOKIE, LOCALES

# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
MIN_PASSWORD = 8
COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/Berlin", "UTC"]


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


def check_login(username: str, password: str) -> tuple[User | None, str]:
    """(user, "") on success; (None, reason) otherwise. Counts failures and locks the account."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None, "bad"
    if _locked(user):
        return None, "locked"
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = clock.now() + timedelta(seconds=current_app.config["LOGIN_LOCK_SECONDS"])
            user.failed_logins = 0
            db.session.commit()
            return None, "locked"
        db.session.commit()
        return None, "bad"
    if not user.active:
        return None, "inactive"
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    return user, ""


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("ui.inbox"))
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        user, reason = check_login(username, request.form.get("password", ""))
        system_log.sign_in(username, user, reason)
        if user is not None:
            locale = session.get("locale")
            session.clear()  # a fresh session on sign-in: nothing carried over from before
            if locale:
                session["locale"] = locale
            login_user(user)
            refresh()
            return redirect(safe_next())
        messages = {
            "bad": _("Wrong username or password."),
            "locked": _("Too many failed attempts. The account is locked for a while; try again later."),
            "inactive": _("This account has been deactivated. Ask a manager."),
        }
        flash(messages[reason], "error")
        status = 423 if reason == "locked" else 401
        return render_template("login.html", username=username), status
    return render_template("login.html", username=username)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    locale = session.get("locale")
    system_log.record("logout", actor=current_user.username, subject=current_user.username, commit=True)
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("ui.login"))


@bp.get("/lang/<code>")
def switch_language(code: str) -> ResponseReturnValue:
    """One click from every page; remembered in a cookie (and on the account when signed in)."""
    if code not in LOCALES:
        return redirect(safe_next())
    session["locale"] = code
    if current_user.is_authenticated and current_user.locale != code:
        current_user.locale = code
        db.session.commit()
    response = make_response(redirect(safe_next()))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.route("/me", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    zones = COMMON_ZONES + sorted(z for z in available_timezones() if "/" in z and z not in COMMON_ZONES)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        if form.get("locale") in LOCALES:
            current_user.locale = form["locale"]
            session["locale"] = form["locale"]
        if form.get("timezone") in zones:
            current_user.timezone = form["timezone"]
        new_password = form.get("new_password", "")
        if new_password:
            if not check_password_hash(current_user.password_hash, form.get("current_password", "")):
                errors["current_password"] = _("The current password is not correct.")
            elif len(new_password) < MIN_PASSWORD:
                errors["new_password"] = _("Use at least %(num)d characters.", num=MIN_PASSWORD)
            else:
                current_user.password_hash = generate_password_hash(new_password, method="scrypt")
        if errors:
            db.session.rollback()
            return render_template("profile.html", zones=zones, errors=errors), 422
        db.session.commit()
        refresh()
        flash(_("Your settings were saved."), "success")
        response = make_response(redirect(url_for("ui.profile")))
        response.set_cookie(LANG_COOKIE, current_user.locale or "zh_CN", max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
        return response
    return render_template("profile.html", zones=zones, errors=errors)
