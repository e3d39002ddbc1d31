"""Issue 11: no default secret (a cookie forged with the old public key is refused, the app
does not start without a secret), private instance files, and the security headers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from tests.conftest import app_settings
from tests.test_ui_support import WebClient, compiled_translations, signed_in, text_of  # noqa: F401
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.security import MissingSecretKey

ROOT = Path(__file__).resolve().parent.parent
OLD_DEFAULT = "dev-only-change-me"


def _cookie_signed_with(secret: str, data: dict) -> str:
    forger = Flask("forger")
    forger.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


def _session_of(client: WebClient) -> dict:
    """What the app put in the signed-in client's session (to forge the same with another key)."""
    with client.client.session_transaction() as session:
        return dict(session)


def test_a_cookie_forged_with_the_old_default_secret_is_refused(app, users):
    admin_id = db.session.scalar(db.select(User.id).where(User.username == "admin"))
    genuine = _session_of(signed_in(app, "admin"))
    assert genuine["_user_id"] == str(admin_id)

    attacker = WebClient(app)
    attacker.client.set_cookie("session", _cookie_signed_with(OLD_DEFAULT, genuine))
    response = attacker.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")

    # the same content signed with the app's own key is a session (the test can tell the difference)
    control = WebClient(app)
    control.client.set_cookie("session", _cookie_signed_with(app.secret_key, genuine))
    assert control.get("/admin/users").status_code == 200


def test_the_app_refuses_to_start_without_a_secret(tmp_path):
    settings = {**app_settings(f"sqlite:///{tmp_path / 'x.db'}"), "TESTING": False}
    for missing in (None, "", OLD_DEFAULT):
        with pytest.raises(MissingSecretKey, match="SECRET_KEY is not set"):
            create_app({**settings, "SECRET_KEY": missing})


def _python(code: str, instance: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL")}
    env.update(AFTERSALES_INSTANCE_DIR=str(instance), PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_make_run_writes_a_private_secret_once_and_the_app_starts_with_it(tmp_path):
    instance = tmp_path / "instance"
    start = "from webapp import create_app; app = create_app(); print(app.config['SECRET_KEY'])"

    refused = _python(start, instance)  # what gunicorn would do before `make run` wrote the key
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr

    made = _python("from webapp.security.instance_files import main; main()", instance)
    assert made.returncode == 0, made.stderr
    key_file = instance / "secret_key"
    secret = key_file.read_text().strip()
    assert len(secret) >= 64 and secret != OLD_DEFAULT
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700

    again = _python("from webapp.security.instance_files import main; main()", instance)
    assert again.returncode == 0 and key_file.read_text().strip() == secret  # kept, not rotated

    started = _python(start, instance)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip().splitlines()[-1] == secret
    database = instance / "aftersales.db"  # the default database was created private
    assert database.exists() and stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_new_sqlite_file_and_its_folder_are_private(tmp_path):
    folder = tmp_path / "data"
    app = create_app(app_settings(f"sqlite:///{folder / 'new.db'}"))
    with app.app_context():
        db.session.execute(db.text("CREATE TABLE t (x INTEGER)"))
        db.session.commit()
        db.engine.dispose()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "new.db").stat().st_mode) == 0o600


def test_security_headers_on_pages_and_the_api(app, users):
    for response in (WebClient(app).get("/login"), users["agent"].get("/api/tasks")):
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in headers



def test_a_views_own_security_header_wins_and_none_is_doubled():
    from webapp.security.headers import init_headers

    app = Flask("headers")
    app.config["CONTENT_SECURITY_POLICY"] = "default-src 'self'"
    init_headers(app)

    @app.get("/framed")
    def framed():
        return "ok", 200, {"x-frame-options": "SAMEORIGIN"}

    response = app.test_client().get("/framed")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'self'"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert response.headers.getlist("Referrer-Policy") == ["same-origin"]

def test_secure_cookie_flag_when_served_over_https(tmp_path):
    from flask_migrate import upgrade

    app = create_app({**app_settings(f"sqlite:///{tmp_path / 'https.db'}"), "SESSION_COOKIE_SECURE": True})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from webapp.accounts import create_user

        create_user("clerk", "pw-clerk-long", ["customer_service"])
        db.session.commit()
        client = WebClient(app)
        client.get("/login")
        response = client.post("/login", {"username": "clerk", "password": "pw-clerk-long"})
        assert response.status_code == 302, text_of(response)
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        db.session.remove()
        db.engine.dispose()
