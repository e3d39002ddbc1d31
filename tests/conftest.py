"""Shared fixtures: an app on a fresh SQLite file migrated by Alembic, a manual clock,
API clients with bearer tokens per role, and an in-process worker."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from config import TestConfig
from webapp import create_app
from webapp.accounts import create_user, issue_token
from webapp.engine import clock, replay, runtime, serialization, start_trees, tree
from webapp.engine.translations import diagram_table_name, form_table_name
from webapp.extensions import db
from workers import registry
from workers.loop import WorkerSettings, drain

# Every command's snapshot, assembled from cached task fragments, is compared with a full
# dump of the workflow (issue 17): the whole suite holds the two to the same bytes.
serialization.CHECK_FRAGMENTS = True
# ... and the engine's flat walks (active tasks, completion, the skipped second engine pass)
# with SpiffWorkflow's own tree walks.
tree.CHECK = True
# ... and the spec replay and verify share between the cases of a version (engine/replay.py)
# with the bytes it was made from, after every case that ran on it.
replay.CHECK_SHARED_SPECS = True
# ... and the live commands that run on it (runtime._specs_of).
runtime.CHECK_SHARED_SPECS = True
# ... and every start tree replay and verify copy for a case with the one built for it.
start_trees.CHECK = True

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@registry.operator("test/echo")
def _echo(session, params):
    return {"echo": params}


@registry.operator("test/record")
def record_execution(session, params):
    """Writes one row per execution (an Escalation row needs no parent), so a test can
    count how often each job ran."""
    from webapp.models import Escalation

    worker = os.environ.get("WORKER_ID", "in-process")
    session.add(Escalation(case_number=params["key"], reason="executed", to_role=worker, at=clock.now()))
    session.flush()
    return {"by": worker}


@pytest.fixture
def manual_clock():
    fake = clock.ManualClock(START)
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


def app_settings(database_url: str) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, "SQLALCHEMY_DATABASE_URI": database_url}


def fresh_database_url(tmp_path: Path) -> str:
    """A SQLite file per test, or, with TEST_DATABASE_URL set (make test does it for the
    engine tests), that PostgreSQL database emptied for this test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'test.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def app(request, tmp_path, manual_clock):
    app = create_app({**app_settings(fresh_database_url(tmp_path)), "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
                      "CHECKPOINT_KEY_PATH": str(tmp_path / "checkpoint-ed25519.pem")})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        yield app
        db.session.rollback()
        if request.node.get_closest_marker("tampers") is None:
            _every_instance_replays_to_its_snapshot()
        db.session.remove()
        db.engine.dispose()


def _every_instance_replays_to_its_snapshot() -> None:
    """Acceptance: replay reproduces every test instance's stored snapshot exactly."""
    from webapp.engine import replay
    from webapp.models import Instance

    for instance_id in db.session.scalars(db.select(Instance.id)).all():
        result = replay.verify(instance_id)
        db.session.rollback()
        assert result["verified"], f"instance {instance_id} does not replay: {result}"


class ApiClient:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, client, token: str, username: str) -> None:
        self.client, self.token, self.username = client, token, username

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(), **kw)

    def post(self, url, body=None, **kw):
        if body is not None:
            kw["data"] = json.dumps(body)
            kw["content_type"] = "application/json"
        return self.client.post(url, headers=self._headers(), **kw)


@pytest.fixture
def users(app):
    """One API client per role used by complaint handling, plus admin and an auditor."""
    roles = {
        "agent": ["customer_service"],
        "handler": ["complaint_handler"],
        "manager": ["after_sales_manager"],
        "owner": ["process_owner"],
        "auditor": ["auditor"],
        "tech": ["technician"],
        "admin": ["admin"],
    }
    clients = {}
    for username, codes in roles.items():
        user = create_user(username, "pw-" + username, codes)
        db.session.commit()
        clients[username] = ApiClient(app.test_client(), issue_token(user), username)
    return clients


def deploy_files(client: ApiClient, paths: list[Path]):
    data = {f"file{i}": (open(p, "rb"), p.name) for i, p in enumerate(paths)}
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")


def process_files(key: str) -> list[Path]:
    """processes/<key>.bpmn with the forms and decision tables it references, and the
    translation tables of both (engine/translations.py)."""
    processes = ROOT / "processes"
    bpmn = processes / f"{key}.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    forms = [p for p in sorted((processes / "forms").glob("*.json")) if f'"{p.name}"' in text]
    tables = {processes / "forms" / form_table_name(p.name) for p in forms} | {processes / diagram_table_name(bpmn.name)}
    forms += sorted(p for p in tables if p.is_file())
    dmns = []
    for dmn in sorted(processes.glob("*.dmn")):
        ids = re.findall(r'<(?:\w+:)?decision\b[^>]*\bid="([^"]+)"', dmn.read_text(encoding="utf-8"))
        if any(f">{d}<" in text for d in ids):
            dmns.append(dmn)
    return [bpmn, *forms, *dmns]


def complaint_files() -> list[Path]:
    return process_files("complaint_handling")


@pytest.fixture
def make_client(app):
    """make_client(username, [role codes]) -> an ApiClient for a new user with those roles."""

    def _make(username: str, roles: list[str]) -> ApiClient:
        user = create_user(username, "pw-" + username, roles)
        db.session.commit()
        return ApiClient(app.test_client(), issue_token(user), username)

    return _make


@pytest.fixture
def deployed_complaints(users):
    """Complaint handling, and the satisfaction survey every closed complaint starts."""
    survey = deploy_files(users["owner"], process_files("satisfaction_survey"))
    assert survey.status_code == 201, survey.get_json()
    response = deploy_files(users["owner"], complaint_files())
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def run_worker(app):
    def _run():
        return drain("test-worker", WorkerSettings(lease_seconds=60, backoff_base_seconds=10))

    return _run


@pytest.fixture(scope="session", autouse=True)
def _sandbox_processes_end_with_the_session():
    """The sandbox pool (engine/sandbox_pool.py) is reused across tests; none of its
    processes outlives the test run."""
    from webapp.engine import sandbox_pool

    yield
    sandbox_pool.shutdown()


@pytest.fixture
def pipeline_syncs(monkeypatch) -> list[int]:
    """Every pipeline sync psycopg sends (each one a wait for the server's answer to all)."""
    from psycopg._pipeline_base import BasePipeline

    sent: list[int] = []
    real = BasePipeline._enqueue_sync

    def counted(pipeline) -> None:
        sent.append(1)
        real(pipeline)

    monkeypatch.setattr(BasePipeline, "_enqueue_sync", counted)
    return sent
