"""Per-address rate limits: failed sign-ins (RATELIMIT_LOGIN, 10 a minute: the 11th answers
429) and every API call (RATELIMIT_API, counted per address and per endpoint). Only failed
sign-ins count, so people in one office behind one address are not stopped by each other's
good sign-ins.

The sign-in limit goes through Flask-Limiter (a route decorator with `deduct_when`). The API's
limit is checked here by hand with the `limits` library (Flask-Limiter's own engine) on
Flask-Limiter's storage and strategy: the same counters under the same keys, the same
X-RateLimit-Limit / -Remaining / -Reset and Retry-After headers and the same 429 answer.
Why by hand: on every API call Flask-Limiter resolved the blueprint's limits again (exemption
flags, the limit string re-parsed because it is a callable reading the config, its per-request
context), 0.15-0.22 ms of a ~2.6 ms completion (docs/benchmarks.md, issue 17); here the
limit string is parsed once and a call costs one counter increment and one window read.
tests/test_security_access.py checks the counts, the headers and the 429 answer.

Storage is RATELIMIT_STORAGE_URI: memory:// (the default) counts per process, which is right
for one process; when several processes or hosts serve, point them all at one shared store:
database:// (the app's own database, limit_storage.py) or redis://host:6379/0 (with the `redis`
package installed), see docs/security.md.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.http import http_date, parse_date

from . import limit_storage  # noqa: E402,F401  (registers the database:// storage)

limiter = Limiter(key_func=get_remote_address)
_log = logging.getLogger("flask-limiter")  # the logger Flask-Limiter reports breaches on


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _failed_sign_in(response) -> bool:
    return response.status_code in (401, 423)


# The sign-in form: only answers that are failures use up the address's allowance.
login_limit = limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_sign_in, per_method=True)


@lru_cache(maxsize=32)
def _parsed(limit_string: str) -> tuple[RateLimitItem, ...]:
    # Smallest window first, as Flask-Limiter evaluates them.
    return tuple(sorted(parse_many(limit_string)))


class _ApiLimit:
    """What RateLimitExceeded needs of a limit (Flask-Limiter's RuntimeLimit): the item and no
    custom message, so the 429's description is the limit itself ("1200 per 1 minute")."""

    error_message = None

    def __init__(self, item: RateLimitItem) -> None:
        self.limit = item


def _init_api_limit(app: Flask, blueprint_name: str) -> None:
    """The API's limit on every request routed to the API blueprint, before its view (and
    before the token check: refused tokens count too), headers on whatever it answers."""
    config = app.config
    prefix = config.get("RATELIMIT_KEY_PREFIX", "")
    swallow = bool(config.get("RATELIMIT_SWALLOW_ERRORS", False))
    headers_on = bool(config.get("RATELIMIT_HEADERS_ENABLED", False))
    name_limit = config.get("RATELIMIT_HEADER_LIMIT", "X-RateLimit-Limit")
    name_remaining = config.get("RATELIMIT_HEADER_REMAINING", "X-RateLimit-Remaining")
    name_reset = config.get("RATELIMIT_HEADER_RESET", "X-RateLimit-Reset")
    name_retry = config.get("RATELIMIT_HEADER_RETRY_AFTER", "Retry-After")
    retry_as_date = config.get("RATELIMIT_HEADER_RETRY_AFTER_VALUE") == "http-date"

    def _check_api_limit() -> None:
        if request.blueprint != blueprint_name:
            return None
        endpoint = request.endpoint
        args = [get_remote_address(), endpoint]
        if prefix:
            args.insert(0, prefix)
        header_item = None
        strategy = limiter.limiter  # Flask-Limiter's own strategy on its storage, as it would use
        try:
            for item in _parsed(current_app.config["RATELIMIT_API"]):
                header_item = item
                if not strategy.hit(item, *args):
                    _log.info("ratelimit %s (%s) exceeded at endpoint: %s", item, args[-2], endpoint)
                    request._api_limit = (item, args)  # type: ignore[attr-defined]
                    raise RateLimitExceeded(_ApiLimit(item))  # type: ignore[arg-type]
        except RateLimitExceeded:
            raise
        except Exception:
            if not swallow:
                raise
            current_app.logger.exception("Failed to rate limit. Swallowing error")
            return None
        request._api_limit = (header_item, args) if header_item else None  # type: ignore[attr-defined]
        return None

    def _api_limit_headers(response: Response) -> Response:
        checked = getattr(request, "_api_limit", None)
        if not checked or not headers_on:
            return response
        item, args = checked
        try:
            reset, remaining = limiter.limiter.get_window_stats(item, *args)
            reset_at = int(reset + 1)
            headers = response.headers
            headers.add(name_limit, str(item.amount))
            headers.add(name_remaining, str(remaining))
            headers.add(name_reset, str(reset_at))
            existing = headers.get("Retry-After")
            if existing is not None:  # a view's own Retry-After (a date or seconds) wins if later
                retry_after = parse_date(existing)
                seconds = time.mktime(retry_after.timetuple()) if retry_after else time.time() + int(existing)
                reset_at = max(int(seconds), reset_at)
            headers.set(name_retry, http_date(reset_at) if retry_as_date else str(int(reset_at - time.time())))
        except Exception:
            if not swallow:
                raise
            current_app.logger.exception("Failed to update rate limit headers. Swallowing error")
        return response

    app.before_request(_check_api_limit)
    app.after_request(_api_limit_headers)


def _skip_on_blueprint(app: Flask, blueprint_name: str, before: tuple[int, int, int]) -> None:
    """Flask-Limiter's own request hooks (added by init_app) stay for every page but do
    nothing on the API's requests, which only the check above limits."""
    def guard_before(hook):
        def before_hook():
            return None if request.blueprint == blueprint_name else hook()
        return before_hook

    def guard_after(hook):
        def after_hook(response):
            return response if request.blueprint == blueprint_name else hook(response)
        return after_hook

    def guard_teardown(hook):
        def teardown_hook(exc=None):
            return None if request.blueprint == blueprint_name else hook(exc)
        return teardown_hook

    for funcs, start, guard in ((app.before_request_funcs.setdefault(None, []), before[0], guard_before),
                                (app.after_request_funcs.setdefault(None, []), before[1], guard_after),
                                (app.teardown_request_funcs.setdefault(None, []), before[2], guard_teardown)):
        funcs[start:] = [guard(hook) for hook in funcs[start:]]


def init_limits(app: Flask, api_blueprint: Blueprint) -> None:
    counts = (len(app.before_request_funcs.get(None, [])), len(app.after_request_funcs.get(None, [])),
              len(app.teardown_request_funcs.get(None, [])))
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(err: RateLimitExceeded):
        if request.blueprint == "api" or request.path.startswith("/api/"):
            response = jsonify({"error": f"too many requests from this address: {err.description}",
                                "errors": {"rate_limit": err.description}})
        else:
            response = render_template("error.html", code=429, reason="rate")
        return app.make_response((response, 429))

    if app.config.get("RATELIMIT_ENABLED", True):
        _skip_on_blueprint(app, api_blueprint.name, counts)
        _init_api_limit(app, api_blueprint.name)
