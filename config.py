"""Settings, read from the environment. The embedded default is SQLite under instance/."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("AFTERSALES_INSTANCE_DIR", BASE_DIR / "instance"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-change-me"
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
    SCRIPT_TIME_LIMIT_SECONDS = _float("SCRIPT_TIME_LIMIT_SECONDS", 2.0)
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_SECONDS = _int("LOGIN_LOCK_SECONDS", 300)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 5 * 1024 * 1024)
    WTF_CSRF_ENABLED = True
    TESTING = False


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    JOB_BACKOFF_BASE_SECONDS = 10
    JOB_MAX_ATTEMPTS = 3
