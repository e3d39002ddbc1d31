"""Sign-in with a lock-out after repeated failures, sign-out, language switch, own settings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import available_timezones

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, format_timedelta, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from ..accounts import set_password
from ..audit import system_log
from ..engine import clock
from ..extensions import db
from ..models import User
from ..security import limits, lockout, sessions
from . import bp
from .common import safe_next
from .i18n import LANG_COOKIE, LOCALES

# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")
MIN_PASSWORD = 8
TOKEN_DAY_CHOICES = [7, 30, 90, 180, 365]
COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/Berlin", "UTC"]


def check_login(username: str, password: str, address: str) -> tuple[User | None, str, datetime | None]:
    """(user, "", None) on success; (None, reason, locked_until) otherwise. Failures count per
    account and address (security.lockout): a lock stops this address, not the account."""
    until = lockout.locked_until(username, address)
    if until is not None:
        return None, "locked", until
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None or not check_password_hash(user.password_hash if user else _DUMMY_HASH, password):
        until = lockout.record_failure(username, address)
        db.session.commit()
        return None, ("locked" if until else "bad"), until
    if not user.active:
        return None, "inactive", None
    lockout.forget(username, address)
    db.session.commit()
    return user, "", None


@bp.route("/login", methods=["GET", "POST"])
@limits.login_limit
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("ui.inbox"))
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        user, reason, until = check_login(username, request.form.get("password", ""), lockout.client_address())
        system_log.sign_in(username, user, reason)
        if user is not None:
            locale = session.get("locale")
            session.clear()  # a fresh session on sign-in: nothing carried over from before
            if locale:
                session["locale"] = locale
            login_user(user)
            sessions.remember(user)
            refresh()
            return redirect(safe_next())
        if reason == "locked":
            # how long as well as until when: "15 分钟" reads faster than a clock time
            message = _("Too many failed attempts from this address: signing in is locked for %(duration)s, "
                        "until %(time)s.", duration=format_timedelta(until - clock.now(), threshold=1.1),
                        time=format_datetime(until, "yyyy-MM-dd HH:mm:ss"))
        else:
            message = {"bad": _("Wrong username or password."),
                       "inactive": _("This account has been deactivated. Ask a manager.")}[reason]
        flash(message, "error")
        status = 423 if reason == "locked" else 401
        return render_template("login.html", username=username, locked_until=until), status
    return render_template("login.html", username=username)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    locale = session.get("locale")
    sessions.end_all(current_user)  # the cookie, even if saved, is refused from now on
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


def profile_context(**extra) -> dict:
    """What the settings page shows besides the form: the account's API tokens."""
    from ..accounts import default_token_days, tokens_of

    context = {"tokens": tokens_of(current_user), "token_days": TOKEN_DAY_CHOICES,
               "default_token_days": default_token_days(), "token_errors": {}, "new_token": ""}
    return {**context, **extra}


def profile_zones() -> list[str]:
    return COMMON_ZONES + sorted(z for z in available_timezones() if "/" in z and z not in COMMON_ZONES)


@bp.route("/me", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    zones = profile_zones()
    errors: dict[str, str] = {}
    changed_password = False
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
                # Other sessions and every API token of the account end; this browser stays signed in.
                set_password(current_user, new_password)
                system_log.record("password_changed", actor=current_user.username, subject=current_user.username)
                changed_password = True
        if errors:
            db.session.rollback()
            return render_template("profile.html", zones=zones, errors=errors, **profile_context()), 422
        db.session.commit()
        if changed_password:
            sessions.remember(current_user)
        refresh()
        flash(_("Your settings were saved."), "success")
        response = make_response(redirect(url_for("ui.profile")))
        response.set_cookie(LANG_COOKIE, current_user.locale or "zh_CN", max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
        return response
    return render_template("profile.html", zones=zones, errors=errors, **profile_context())
