"""A live server on a temp SQLite file and Debian's Chromium driven by Playwright.

The app runs in a background thread, as in production every request gets its own app
context; the test thread drains the in-process worker after steps that start service tasks.
The manual clock is process-wide, so moving it moves the server's time too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from config import TestConfig
from tests.conftest import process_files
from webapp import create_app
from webapp.accounts import create_user
from webapp.engine import clock, definitions
from webapp.extensions import db
from webapp.ui.i18n import compile_catalogs
from workers import registry
from workers.loop import WorkerSettings, drain

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday
STAFF = {"agent": ["customer_service"], "handler": ["complaint_handler"], "manager": ["after_sales_manager"],
         "tech": ["technician"]}


@dataclass
class Live:
    app: Flask
    url: str
    clock: clock.ManualClock

    def drain(self) -> int:
        """Run the worker until nothing is due: service tasks and timers."""
        with self.app.app_context():
            done = drain("browser-test-worker", WorkerSettings(lease_seconds=60, backoff_base_seconds=10))
            db.session.remove()
        return done

    def query(self, fn):
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    compile_catalogs()
    fake = clock.ManualClock(START)
    previous = clock.use(fake)
    db_file = tmp_path_factory.mktemp("live") / "live.db"
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
                      "ATTACHMENTS_DIR": str(db_file.parent / "attachments")})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        # the diagram with every form it names (a complaint's solution can open a repair or a return)
        uploads = {p.name: p.read_bytes() for p in process_files("complaint_handling")}
        definitions.deploy(uploads, actor="owner", now=clock.now(), known_operators=registry.names())
        for username, roles in STAFF.items():
            create_user(username, f"pw-{username}", roles)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", fake)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        clock.use(previous)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def sign_in(browser, live):
    """sign_in(username, viewport=None) -> a page of a fresh browser context, signed in."""
    contexts = []

    def _sign_in(username: str, viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="zh-CN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live.url}/login")
        page.fill("#username", username)
        page.fill("#password", f"pw-{username}")
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{live.url}/")
        return page

    yield _sign_in
    for context in contexts:
        context.close()
