"""Security headers on every answer, from config: the Content-Security-Policy (scripts only
from this site, no framing), no MIME sniffing, frame denial for old browsers, and HSTS
when the cookies are marked Secure (the site is served over HTTPS)."""

from __future__ import annotations

from flask import Flask, Response


def init_headers(app: Flask) -> None:
    policy = app.config.get("CONTENT_SECURITY_POLICY") or ""
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    hsts = int(app.config.get("HSTS_SECONDS") or 0)
    defaults = [("Content-Security-Policy", policy)] if policy else []
    defaults += [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin")]
    if secure and hsts:
        defaults.append(("Strict-Transport-Security", f"max-age={hsts}"))
    defaults = [(name, name.lower(), value) for name, value in defaults]

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # A view's own value wins (as `setdefault`); the answer's header names are read once
        # instead of once per default header (every API call passes here).
        headers = response.headers
        present = set(headers.keys(lower=True))
        for name, lower, value in defaults:
            if lower not in present:
                headers.add(name, value)
        return response
