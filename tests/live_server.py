"""A live server for the tests that speak real HTTP (schemathesis, the docs' client example):
the app served by werkzeug on 127.0.0.1 (a free port) in a thread, and optionally an
in-process worker thread draining jobs. Both threads get their own app context (their own
database sessions)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

from webapp.extensions import db
from workers.loop import WorkerSettings, drain


@contextmanager
def live_server(app, *, worker: bool = False):
    db.session.remove()  # the caller's transaction would hold SQLite's one writer lock
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    stop = threading.Event()
    draining = None
    if worker:
        def _work() -> None:
            with app.app_context():
                while not stop.is_set():
                    drain("live-worker", WorkerSettings(lease_seconds=60, backoff_base_seconds=10))
                    db.session.remove()
                    stop.wait(0.05)

        draining = threading.Thread(target=_work, daemon=True)
        draining.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        if draining is not None:
            draining.join(10)
