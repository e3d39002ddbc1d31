"""A real worker process for the multi-process tests and benchmarks
(python -m tests.worker_process). Registers the test operators, then runs the loop.

Environment: DATABASE_URL, WORKER_ID, JOB_LEASE_SECONDS, and optionally SLOW_OPERATOR,
SLOW_MARKER, SLOW_SECONDS to stall inside one operator's handler after it has written.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import app_settings  # registers the test operators (test/echo, test/record)
from webapp import create_app
from workers import registry
from workers.loop import WorkerSettings, run_forever


def _stall(operator: str) -> None:
    marker = Path(os.environ["SLOW_MARKER"])
    original = registry.get(operator)

    def stalling(session, params):
        result = original(session, params)
        session.flush()  # the records are written (uncommitted) when we stall
        marker.write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("SLOW_SECONDS", "60")))
        return result

    registry.override(operator, stalling)


def main() -> None:
    if os.environ.get("SLOW_OPERATOR"):
        _stall(os.environ["SLOW_OPERATOR"])
    app = create_app(app_settings(os.environ["DATABASE_URL"]))
    settings = WorkerSettings(lease_seconds=int(os.environ.get("JOB_LEASE_SECONDS", "30")), poll_seconds=0.05)
    with app.app_context():
        run_forever(os.environ.get("WORKER_ID", "worker"), settings)


if __name__ == "__main__":
    main()
