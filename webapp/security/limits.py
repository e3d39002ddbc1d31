"""Per-address rate limits through Flask-Limiter: failed sign-ins (RATELIMIT_LOGIN, 10 a
minute: the 11th answers 429) and every API call (RATELIMIT_API). Only failed sign-ins count,
so people in one office behind one address are not stopped by each other's good sign-ins.

Storage is RATELIMIT_STORAGE_URI: memory:// (the default) counts per process, which is right
for one process; when several processes or hosts serve, point them all at one shared store:
database:// (the app's own database, limit_storage.py) or redis://host:6379/0 (with the `redis`
package installed), see docs/security.md.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from . import limit_storage  # noqa: E402,F401  (registers the database:// storage)

limiter = Limiter(key_func=get_remote_address)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _api_limit() -> str:
    return current_app.config["RATELIMIT_API"]


def _failed_sign_in(response) -> bool:
    return response.status_code in (401, 423)


# The sign-in form: only answers that are failures use up the address's allowance.
login_limit = limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_sign_in, per_method=True)


def init_limits(app: Flask, api_blueprint: Blueprint) -> None:
    limiter.limit(_api_limit)(api_blueprint)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(err: RateLimitExceeded):
        if request.blueprint == "api" or request.path.startswith("/api/"):
            response = jsonify({"error": f"too many requests from this address: {err.description}",
                                "errors": {"rate_limit": err.description}})
        else:
            response = render_template("error.html", code=429, reason="rate")
        return app.make_response((response, 429))
