"""Rows of a SELECT read on the session's driver cursor (engine/plain_sql.py's statements),
each value converted by its column's type as the ORM would: for the request path's reads
(the token check, the task list) that every API call or list runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .engine import plain_sql


def fetch_all(session: Session, statement: plain_sql.Statement, values: dict[str, Any]) -> list[tuple]:
    raw = plain_sql.execute(session, statement, values)
    processors = statement.result_processors(plain_sql.dialect_of(session))  # no new driver cursor to ask
    return [tuple(value if fn is None or value is None else fn(value) for fn, value in zip(processors, row, strict=True))
            for row in raw.fetchall()]
