"""The staff web UI: sign-in, inbox 待办, task forms, new cases, case pages, accounts.

Server-rendered, Chinese first. Views stay thin: the engine (webapp.engine.runtime) does the
work and raises its errors; the views only turn them into pages and messages.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

bp = Blueprint("ui", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_ui(app: Flask) -> None:
    """Sign-in, CSRF on every form (the bearer-token API excepted) and the language/time zone."""
    from . import i18n
    from .common import load_user

    login_manager.init_app(app)
    login_manager.login_view = "ui.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)

    csrf.init_app(app)
    from ..api import bp as api_bp

    csrf.exempt(api_bp)

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    i18n.register_template_helpers(app)

    live.register(app)
    app.jinja_env.globals["may_read_customer_files"] = customer_files.may_read_files
    _register_error_pages(app)


def _register_error_pages(app: Flask) -> None:
    def _is_api() -> bool:
        return request.blueprint == "api" or request.path.startswith("/api/")

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError):
        if _is_api():
            return jsonify({"error": err.description, "errors": {}}), 400
        form_page = request.path if request.path.startswith(("/tasks/", "/new/")) else None
        if form_page and form_page.endswith("/draft"):
            form_page = form_page.removesuffix("/draft")
        if form_page and not current_user.is_authenticated:
            # Signed out (in another tab, or the session ran out): what was typed is kept in the
            # browser (static/js/keep.js); after signing in the person is back on the form.
            flash(_l("You were signed out. Sign in again: what you typed is kept on this device."), "info")
            return redirect(url_for("ui.login", next=form_page))
        return render_template("error.html", code=400, reason="csrf", form_page=form_page), 400

    for code in (403, 404, 405):

        def _page(err, code=code):
            if _is_api():
                return jsonify({"error": getattr(err, "description", str(err)), "errors": {}}), code
            return render_template("error.html", code=code, reason=""), code

        app.register_error_handler(code, _page)


from . import (  # noqa: E402,F401
    accounts,
    attachments,
    auth,
    cases,
    comments,
    customer_files,
    inbox,
    inbox_extras,
    incidents,
    live,
    tasks,
    tokens,
    webhooks_page,
)
