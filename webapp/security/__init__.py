"""Who gets in: the session secret and private instance files, security headers, server-side
session invalidation, sign-in lock-out and rate limits, API tokens, personal-data masking.
The threat model and the key files: docs/security.md."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask

OLD_DEFAULT_SECRETS = {"dev-only-change-me"}


class MissingSecretKey(RuntimeError):
    pass


def _cli_without_server() -> bool:
    """A `flask ...` command that serves no pages (db upgrade, api-token, worker...): it signs
    no cookie, so a throwaway key is safe there and a fresh clone's commands keep working."""
    return click.get_current_context(silent=True) is not None and "run" not in sys.argv[1:]


def check_secret_key(app: Flask) -> None:
    """Refuse to serve without a real secret; tests and page-less CLI commands get a throwaway one."""
    key = app.config.get("SECRET_KEY")
    if key and key not in OLD_DEFAULT_SECRETS:
        return
    if app.config.get("TESTING") or _cli_without_server():
        app.config["SECRET_KEY"] = "throwaway-" + secrets.token_hex(32)
        return
    raise MissingSecretKey(
        "SECRET_KEY is not set (or is the old public default). Run `make run` once, which writes "
        "instance/secret_key (mode 600), or run `.venv/bin/python -m webapp.security.instance_files`, "
        "or set SECRET_KEY or SECRET_KEY_FILE in the environment. See docs/security.md."
    )


def init_security(app: Flask) -> None:
    from ..api import bp as api_bp
    from .headers import init_headers
    from .limits import init_limits

    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops:  # behind that many trusted proxies: the client's address comes from X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    init_headers(app)
    from .sessions import ApiAwareSessionInterface

    app.session_interface = ApiAwareSessionInterface()
    init_limits(app, api_bp)
    from ..accounts import token_is_live

    app.jinja_env.globals["token_is_live"] = token_is_live
