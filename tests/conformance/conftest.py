"""One database per test module (each case deploys its own process ids); when the module
ends, every instance is verified in this process and again in a second process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from flask_migrate import upgrade

from tests.conformance import harness
from tests.conftest import ROOT, START, app_settings
from webapp import create_app
from webapp.engine import clock, replay
from webapp.extensions import db
from webapp.models import Instance


@pytest.fixture(scope="module")
def cf_clock():
    fake = clock.ManualClock(START)
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


@pytest.fixture(scope="module")
def cf_app(tmp_path_factory, cf_clock):
    url = f"sqlite:///{tmp_path_factory.mktemp('conformance') / 'cf.db'}"
    app = create_app(app_settings(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        yield app
        db.session.rollback()
        harness.clear_caches()
        ids = db.session.scalars(db.select(Instance.id)).all()
        for instance_id in ids:
            result = replay.verify(instance_id)
            db.session.rollback()
            assert result["verified"], f"instance {instance_id} does not verify in this process: {result}"
        db.session.remove()
        db.engine.dispose()
        if ids:
            _verify_in_second_process(url, ids)


def _verify_in_second_process(url: str, ids: list[int]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.conformance.second_process", url],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    bad = {k: v for k, v in results.items() if not v["verified"] or v["completed"] != (v["status"] != "running")}
    assert not bad, f"second process: {bad}"
    assert sorted(int(k) for k in results) == sorted(ids)
    harness.SECOND_PROCESS_VERIFIED.update(f"{url}#{k}" for k in results)


@pytest.fixture
def run_case(cf_app, cf_clock):
    def _run(case: harness.Case) -> None:
        harness.check(case, cf_clock)

    return _run


def pytest_terminal_summary(terminalreporter):
    if not harness.RESULTS:
        return
    rows: dict[str, list] = defaultdict(list)
    for row in harness.RESULTS:
        rows[row["construct"]].append(row)
    write = terminalreporter.write_line
    write("")
    write(f"conformance: {len(harness.SECOND_PROCESS_VERIFIED)} instances verified again in a second process")
    write(f"{'BPMN construct':<58}{'diagrams':>9}{'same as SpiffWorkflow':>23}")
    for construct in sorted(rows):
        items = rows[construct]
        write(f"{construct:<58}{len(items):>9}{sum(r['ok'] for r in items):>23}")
    write(f"{'total':<58}{len(harness.RESULTS):>9}{sum(r['ok'] for r in harness.RESULTS):>23}")
