"""Rate-limit counters in the application's own database, for several web processes or
hosts without a Redis: RATELIMIT_STORAGE_URI = "database://". And `memory://` (the default)
without a thread per request (MemoryStorageWithoutTimers below).

The `limits` library (under Flask-Limiter) ships memory, Redis, Memcached and MongoDB
storages but none on SQL, so this one is ours: the fixed-window counters Flask-Limiter uses
by default (incr, get, get_expiry, clear, reset). Each call is one short transaction on its
own connection, apart from the request's session, with an atomic upsert (INSERT ... ON
CONFLICT DO UPDATE ... RETURNING, in SQLite >= 3.35 and PostgreSQL), so concurrent
processes count every hit once.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage, Storage
from sqlalchemy import Engine, case, create_engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import RateLimitCounter

_TABLE = RateLimitCounter.__table__


class MemoryStorageWithoutTimers(MemoryStorage):
    """`memory://`, registered in place of the library's class (same counters, same limits).

    The library's memory storage starts a new threading.Timer (10 ms) on every hit whose
    previous timer has run out, which on a busy API is nearly every request: a thread start
    and its context switches on the request path (2.7 ms of a 12 ms profiled completion,
    docs/benchmarks.md). Its counters do not need the timer to be right: `get` drops an
    expired key when asked. What the timer adds is freeing keys nobody asks about again;
    here a sweep on the request path, at most once a second, does that."""

    STORAGE_SCHEME = ["memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in [key for key, expires in list(self.expirations.items()) if expires <= now]:
            self.get(key)  # drops the expired counter

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self._sweep(time.time())
        self.get(key)
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def decr(self, key: str, amount: int = 1) -> int:
        self.get(key)
        with self.locks[key]:
            self.storage[key] = max(self.storage[key] - amount, 0)
        return self.storage.get(key, 0)
_ENGINES: dict[str, Engine] = {}


def _engine() -> Engine:
    """An engine of our own on the app's database: on SQLite the app's engine begins every
    transaction IMMEDIATE (the write lock), which the request's own session may hold while
    Flask-Limiter reads its counters after the view; plain deferred transactions here read
    beside it (WAL) and write only in the short upsert."""
    url = str(db.engine.url.render_as_string(hide_password=False))
    if url not in _ENGINES:
        options = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {"pool_pre_ping": True}
        _ENGINES[url] = create_engine(url, **options)
    return _ENGINES[url]


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        engine = _engine()
        insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(_TABLE)
        expired = _TABLE.c.expires_at <= now
        statement = insert.values(key=key, count=amount, expires_at=now + expiry).on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"count": case((expired, amount), else_=_TABLE.c.count + amount),
                  "expires_at": case((expired, now + expiry), else_=_TABLE.c.expires_at)},
        ).returning(_TABLE.c.count)
        with engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        with _engine().connect() as connection:
            count = connection.execute(select(_TABLE.c.count).where(_TABLE.c.key == key,
                                                                    _TABLE.c.expires_at > time.time())).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with _engine().connect() as connection:
            expires = connection.execute(select(_TABLE.c.expires_at).where(_TABLE.c.key == key)).scalar()
        return float(expires or time.time())

    def check(self) -> bool:
        try:
            with _engine().connect() as connection:
                connection.execute(select(func.count()).select_from(_TABLE))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with _engine().begin() as connection:
            return connection.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with _engine().begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.key == key))
