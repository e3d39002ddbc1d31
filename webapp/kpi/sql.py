"""Dialect-aware SQL pieces the figures need, for SQLite and PostgreSQL.

* `within(start, end, hours)`: end - start <= hours, exact to the microsecond (SQLite keeps
  timestamps as text 'YYYY-MM-DD HH:MM:SS.ffffff', so it is computed on integer microseconds).
* `history_ts(at)`: a history event's `at` (ISO text, always UTC "+00:00") as a timestamp that
  compares with the records' UTC columns.
* `epoch_seconds(x)`: seconds since 1970 of a UTC timestamp column, for durations.
"""

from __future__ import annotations

from sqlalchemy import Float, literal_column, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from ..models.types import UTCDateTime

HOUR_US = 3_600_000_000


class within(FunctionElement):
    """TRUE when `end` is at most `hours` after `start` (NULL when either is NULL)."""

    type = Boolean()
    inherit_cache = True
    name = "within"

    def __init__(self, start, end, hours: int) -> None:
        # the hours are a literal clause, so that they are part of the statement's cache key
        super().__init__(start, end, literal_column(str(int(hours))))


def _args(element, compiler, **kw) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


def _sqlite_us(expr: str) -> str:
    return f"(CAST(strftime('%s', {expr}) AS INTEGER) * 1000000 + CAST(substr({expr}, 21, 6) AS INTEGER))"


@compiles(within, "sqlite")
def _within_sqlite(element, compiler, **kw):
    start, end, hours = _args(element, compiler, **kw)
    return f"({_sqlite_us(end)} - {_sqlite_us(start)} <= {int(hours) * HOUR_US})"


@compiles(within)
def _within_default(element, compiler, **kw):
    start, end, hours = _args(element, compiler, **kw)
    return f"({end} <= {start} + INTERVAL '{int(hours)} hours')"


class history_ts(FunctionElement):
    """history_events.at as a naive-UTC timestamp (the records' convention)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "history_ts"


@compiles(history_ts, "sqlite")
def _history_ts_sqlite(element, compiler, **kw):
    (at,) = _args(element, compiler, **kw)
    return f"replace(substr({at}, 1, 26), 'T', ' ')"


@compiles(history_ts)
def _history_ts_default(element, compiler, **kw):
    (at,) = _args(element, compiler, **kw)
    return f"CAST(substr({at}, 1, 26) AS TIMESTAMP)"


class epoch_seconds(FunctionElement):
    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    (x,) = _args(element, compiler, **kw)
    return f"({_sqlite_us(x)} / 1000000.0)"


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    (x,) = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {x}) AS DOUBLE PRECISION)"


def analytic(session) -> None:
    """Before the dashboard's queries on PostgreSQL, for the rest of this transaction: no JIT
    compilation (their cost estimates pass jit_above_cost, and compiling takes ~100 ms, more
    than the queries themselves), random reads priced as on SSDs, so that the planner answers
    from the period and history indexes instead of scanning the history, and enough memory for
    the sorts of the percentiles (bench/kpi_queries.py measures all of it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))  # sorts and hashes of a year of cases stay in memory
