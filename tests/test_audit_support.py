"""Helpers for the audit tests (no tests here).

Fast on purpose: one template database per test session (migrated, complaint handling
deployed through the API, the staff with cheap password hashes, one complaint run to its end
and one still open), copied for each test, so a test that tampers with the record gets its
own copy in milliseconds instead of driving a complaint again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from tests.complaint_driver import ComplaintDriver
from tests.conftest import ApiClient, app_settings, complaint_files, deploy_files, process_files
from tests.test_ui_support import WebClient
from webapp import create_app
from webapp.accounts import ensure_roles, issue_token
from webapp.engine import clock
from webapp.extensions import db
from webapp.models import Role, User
from workers.loop import WorkerSettings, drain

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
CHEAP = "pbkdf2:sha256:1"  # test accounts only: scrypt costs ~0.3 s per account
STAFF = {
    "agent": ["customer_service"],
    "handler": ["complaint_handler"],
    "manager": ["after_sales_manager"],
    "owner": ["process_owner"],
    "auditor": ["auditor"],
    "tech": ["technician"],
    "admin": ["admin"],
}


def cheap_user(username: str, roles: list[str], password: str | None = None) -> User:
    ensure_roles()
    known = {r.code: r for r in db.session.scalars(db.select(Role))}
    user = User(username=username, display_name=username, roles=[known[c] for c in roles],
                password_hash=generate_password_hash(password or f"pw-{username}", method=CHEAP))
    db.session.add(user)
    db.session.flush()
    return user


def worker() -> int:
    return drain("audit-test-worker", WorkerSettings(lease_seconds=60, backoff_base_seconds=10))


@dataclass
class Template:
    path: Path
    tokens: dict[str, str]
    finished: int  # a complaint run to its end, the 24 h reply missed (verified after 30 h); it started a survey
    finished_key: str
    running: int  # a complaint still open, replied in time
    end: datetime  # the clock when the template was made
    steps: list[dict] = field(default_factory=list)  # what the test did at each step of `finished`


def _clients(app, tokens: dict[str, str]) -> dict[str, ApiClient]:
    return {name: ApiClient(app.test_client(), token, name) for name, token in tokens.items()}


@pytest.fixture(scope="session")
def audit_template(tmp_path_factory) -> Template:
    folder = tmp_path_factory.mktemp("audit-template")
    path = folder / "template.db"
    fake = clock.ManualClock(START)
    previous = clock.use(fake)
    app = create_app(app_settings(f"sqlite:///{path}"))
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            tokens = {}
            for username, roles in STAFF.items():
                tokens[username] = issue_token(cheap_user(username, roles))
            users = _clients(app, tokens)
            # complaint handling, and the satisfaction survey every closed complaint starts
            assert deploy_files(users["owner"], process_files("satisfaction_survey")).status_code == 201
            assert deploy_files(users["owner"], complaint_files()).status_code == 201
            done = ComplaintDriver(users, worker)
            done.start()
            fake.advance(hours=30)
            worker()  # the 24 h reply timer fires: escalated
            done.verify()
            fake.advance(hours=1)
            done.analyse(resolvable=True, department="quality")  # no corrective action: the case ends at its close
            done.propose()
            done.confirm(agrees=True)
            done.carry_out_and_close()
            assert done.instance()["status"] == "completed"
            fake.advance(hours=1)
            running = ComplaintDriver(users, worker)
            running.start()
            fake.advance(hours=2)
            running.verify()
            end = fake.now()
            db.session.remove()
            db.engine.dispose()
    finally:
        clock.use(previous)
    return Template(path, tokens, done.instance_id, done.business_key, running.instance_id, end)


@dataclass
class AuditWorld:
    app: object
    template: Template
    clock: clock.ManualClock
    users: dict[str, ApiClient]

    def web(self, username: str) -> WebClient:
        client = WebClient(self.app, username)
        response = client.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client


@pytest.fixture
def world(audit_template, tmp_path, request):
    """A copy of the template database, an app on it and the clock just after the template."""
    target = tmp_path / "audit.db"
    shutil.copyfile(audit_template.path, target)
    fake = clock.ManualClock(audit_template.end)
    previous = clock.use(fake)
    app = create_app(app_settings(f"sqlite:///{target}"))
    try:
        with app.app_context():
            yield AuditWorld(app, audit_template, fake, _clients(app, audit_template.tokens))
            db.session.rollback()
            if request.node.get_closest_marker("tampers") is None:
                _everything_verifies()
            db.session.remove()
            db.engine.dispose()
    finally:
        clock.use(previous)


def _everything_verifies() -> None:
    from webapp.audit import system_log
    from webapp.engine import replay
    from webapp.models import Instance

    for instance_id in db.session.scalars(db.select(Instance.id)).all():
        result = replay.verify(instance_id)
        db.session.rollback()
        assert result["verified"], f"instance {instance_id} does not replay: {result}"
    assert system_log.verify()["verified"]
    db.session.rollback()
