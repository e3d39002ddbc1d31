"""Who gets in: the session secret and private instance files, security headers, server-side
session invalidation, sign-in lock-out and rate limits, API tokens, personal-data masking.
The threat model and the key files: docs/security.md."""

from __future__ import annotations

import secrets

from flask import Flask

OLD_DEFAULT_SECRETS = {"dev-only-change-me"}


class MissingSecretKey(RuntimeError):
    pass


def check_secret_key(app: Flask) -> None:
    """Refuse to start without a real secret, except under tests (which get a throwaway one)."""
    key = app.config.get("SECRET_KEY")
    if key and key not in OLD_DEFAULT_SECRETS:
        return
    if app.config.get("TESTING"):
        app.config["SECRET_KEY"] = "test-" + secrets.token_hex(32)
        return
    raise MissingSecretKey(
        "SECRET_KEY is not set (or is the old public default). Run `make run` once, which writes "
        "instance/secret_key (mode 600), or run `.venv/bin/python -m webapp.security.instance_files`, "
        "or set SECRET_KEY or SECRET_KEY_FILE in the environment. See docs/security.md."
    )


def init_security(app: Flask) -> None:
    from .headers import init_headers

    init_headers(app)
