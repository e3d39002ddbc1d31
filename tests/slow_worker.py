"""A real worker process whose handler for one operator stalls after writing its records,
so a test can kill it with SIGKILL mid-job (python -m tests.slow_worker)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import test_settings
from webapp import create_app
from workers import registry
from workers.loop import WorkerSettings, run_forever


def main() -> None:
    operator = os.environ["SLOW_OPERATOR"]
    marker = Path(os.environ["SLOW_MARKER"])
    original = registry.get(operator)

    def stalling(session, params):
        result = original(session, params)
        session.flush()  # the records are written (uncommitted) when we stall
        marker.write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("SLOW_SECONDS", "60")))
        return result

    registry.override(operator, stalling)
    app = create_app(test_settings(os.environ["DATABASE_URL"]))
    with app.app_context():
        run_forever(os.environ.get("WORKER_ID", "slow"), WorkerSettings(lease_seconds=int(os.environ["JOB_LEASE_SECONDS"]), poll_seconds=0.1))


if __name__ == "__main__":
    main()
