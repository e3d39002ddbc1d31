"""gunicorn settings for `make run` and `make serve` (gunicorn reads this file from the
working directory; flags on the command line win). Measured in docs/benchmarks.md (HTTP).

gthread workers: each process serves WEB_THREADS requests at once and keeps connections
alive between requests, so an API client does not pay a new TCP connection per call (sync
workers close after every answer) and a request waiting on the database (SQLite's write
lock, a PostgreSQL row lock) does not hold the whole process. Diagram scripts run in the
sandbox processes (engine/sandbox_pool.py), not on the request's thread, so nothing here
needs the main thread's signals.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds an idle kept-alive connection stays open
