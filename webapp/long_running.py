"""What a long-running process (the worker, a web worker, a benchmark) does once it has
loaded the app and is about to serve.

Everything loaded by then (modules, the SQLAlchemy mappers, parsed specs, Flask's routing)
lives as long as the process. Python's cycle collector still walks all of it in every full
collection, and a command allocates enough (SpiffWorkflow tasks, ORM rows, JSON) to trigger
one every few commands: measured at about 9 % of an instance's time in `make bench`.
`gc.freeze()` moves what exists now out of the collector's sight (the Python documentation
recommends it for servers); what is made later is collected as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once, after start-up, before serving. Not for tests: objects frozen are never
    collected, and a test run builds many apps."""
    gc.collect()
    gc.freeze()
