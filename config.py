"""Settings, read from the environment. The embedded default is SQLite under instance/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("AFTERSALES_INSTANCE_DIR", BASE_DIR / "instance"))


def _secret_key() -> str | None:
    """SECRET_KEY from the environment, else the file `make run` writes (instance/secret_key,
    or SECRET_KEY_FILE). None when neither exists: create_app then refuses to start."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(os.environ.get("SECRET_KEY_FILE", INSTANCE_DIR / "secret_key"))
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'aftersales.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    PROCESSES_DIR = os.environ.get("PROCESSES_DIR", str(BASE_DIR / "processes"))
    # Worker: how long a fetched job stays locked to its worker without a heartbeat.
    JOB_LEASE_SECONDS = _int("JOB_LEASE_SECONDS", 60)
    JOB_MAX_ATTEMPTS = _int("JOB_MAX_ATTEMPTS", 5)
    # Retry n waits JOB_BACKOFF_BASE_SECONDS * 2**(n-1).
    JOB_BACKOFF_BASE_SECONDS = _int("JOB_BACKOFF_BASE_SECONDS", 30)
    WORKER_POLL_SECONDS = _float("WORKER_POLL_SECONDS", 1.0)
    # Webhook deliveries (issue 18): try n waits WEBHOOK_BACKOFF_SECONDS * 2**(n-1); after
    # WEBHOOK_MAX_ATTEMPTS the delivery is marked failed in the log.
    WEBHOOK_BACKOFF_SECONDS = _int("WEBHOOK_BACKOFF_SECONDS", 10)
    WEBHOOK_MAX_ATTEMPTS = _int("WEBHOOK_MAX_ATTEMPTS", 8)
    # Diagram code runs in sandbox processes (docs/sandbox.md): CPU time and wall clock per
    # script or expression, address space per sandbox process, JSON a script may hand back
    # (the task data after it), processes per web or worker process.
    SCRIPT_TIME_LIMIT_SECONDS = _float("SCRIPT_TIME_LIMIT_SECONDS", 2.0)
    SANDBOX_MEMORY_MB = _int("SANDBOX_MEMORY_MB", 512)
    SANDBOX_MAX_OUTPUT_BYTES = _int("SANDBOX_MAX_OUTPUT_BYTES", 1_000_000)
    SANDBOX_POOL_SIZE = _int("SANDBOX_POOL_SIZE", 2)
    # A task's instructions (Jinja) are rendered in the same sandbox, with their own budget.
    INSTRUCTIONS_TIME_LIMIT_SECONDS = _float("INSTRUCTIONS_TIME_LIMIT_SECONDS", 1.0)
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    # Per account and address: the n-th lock lasts LOGIN_LOCK_SECONDS * 2**(n-1), at most the maximum.
    LOGIN_LOCK_SECONDS = _int("LOGIN_LOCK_SECONDS", 300)
    LOGIN_LOCK_MAX_SECONDS = _int("LOGIN_LOCK_MAX_SECONDS", 24 * 3600)
    # Behind N trusted reverse proxies, the client address (lock-out, rate limits, system log)
    # is taken from X-Forwarded-For; 0 = served directly.
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)
    API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 90)  # a new API token's default lifetime
    # Flask-Limiter, per client address. Storage: memory:// (per process), or shared by several
    # processes: database:// (the app's own database) or redis://host:6379 (docs/security.md).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute")  # failed sign-ins per address
    RATELIMIT_API = os.environ.get("RATELIMIT_API", "1200 per minute")  # API calls per address
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Served over HTTPS (behind a proxy that terminates TLS): cookies only travel encrypted.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    # Pages and the modeler load scripts only from this site; bpmn-js, dmn-js and Chart.js set
    # inline style attributes, so styles allow 'unsafe-inline' (scripts never do).
    CONTENT_SECURITY_POLICY = os.environ.get(
        "CONTENT_SECURITY_POLICY",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'",
    )
    # Seconds a browser remembers to use HTTPS only; sent only when SESSION_COOKIE_SECURE is on.
    HSTS_SECONDS = _int("HSTS_SECONDS", 31536000)
    # Signed checkpoints (docs/audit.md): the Ed25519 private key, outside the database
    # (default instance/checkpoint-ed25519.pem, created 0600 on first use), and how often the
    # worker signs one (minutes; 0: only on demand).
    CHECKPOINT_KEY_PATH = os.environ.get("CHECKPOINT_KEY_PATH", str(INSTANCE_DIR / "checkpoint-ed25519.pem"))
    CHECKPOINT_INTERVAL_MINUTES = _float("CHECKPOINT_INTERVAL_MINUTES", 60)
    # A CJK TrueType font file for the PDF report (default: Debian's fonts-wqy-microhei).
    PDF_CJK_FONT = os.environ.get("PDF_CJK_FONT", "")
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 5 * 1024 * 1024)
    # Attached files (photos, PDFs): a folder outside the database; one file at most this large.
    ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR") or str(INSTANCE_DIR / "attachments")
    ATTACHMENT_MAX_BYTES = _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    # How often the inbox and case pages ask whether something changed (seconds).
    LIVE_POLL_SECONDS = _float("LIVE_POLL_SECONDS", 10.0)
    WTF_CSRF_ENABLED = True
    TESTING = False


class TestConfig(Config):
    TESTING = True
    # A key of this process only: a cookie signed with any other key (or the old default) is refused.
    SECRET_KEY = "test-" + secrets.token_hex(32)
    # The suite calls the API from one address far faster than people do; tests/test_security_limits.py
    # sets a small limit to show it works.
    RATELIMIT_API = "100000 per minute"
    # Fixtures issue tokens under the manual clock (March 2026); some tests then switch to the
    # real clock. tests/test_security_tokens.py checks the 90-day default and expiry on its own.
    API_TOKEN_DAYS = 36500
    WTF_CSRF_ENABLED = True
    JOB_BACKOFF_BASE_SECONDS = 10
    JOB_MAX_ATTEMPTS = 3
