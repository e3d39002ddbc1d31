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


def post_worker_init(worker) -> None:
    """Move everything the worker loaded (the app, SQLAlchemy's models, the libraries: about
    170,000 objects) out of the cycle collector's reach. Its full collections walked them all
    again every few hundred requests: about 1 ms of CPU per task completion on average
    (docs/benchmarks.md, HTTP). Reference counting still frees what becomes garbage; only
    cycles among these start-up objects, which live as long as the process anyway, are never
    collected.

    And a request's closed session leaves its database connection to the next request's
    (webapp/extensions.py, keep_connections_between_sessions), instead of each request taking
    one from the pool and giving it back."""
    import gc

    from webapp.extensions import keep_connections_between_sessions

    keep_connections_between_sessions()
    gc.freeze()
