"""Security headers on every answer, from config: the Content-Security-Policy (scripts only
from this site, no framing), no MIME sniffing, frame denial for old browsers, and HSTS
when the cookies are marked Secure (the site is served over HTTPS)."""

from __future__ import annotations

from flask import Flask, Response


def init_headers(app: Flask) -> None:
    policy = app.config.get("CONTENT_SECURITY_POLICY") or ""
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    hsts = int(app.config.get("HSTS_SECONDS") or 0)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if secure and hsts:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")
        return response
