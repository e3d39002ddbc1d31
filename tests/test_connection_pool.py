"""The connection pool (webapp/__init__.py, _pool_defaults): the connection returned last is
handed out next, so a web process serving one request at a time keeps using one connection
(its SQLite page cache, psycopg's prepared statements) instead of taking its idle ones in turn;
a database whose pool is of another kind still starts."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from tests.conftest import app_settings
from webapp import create_app
from webapp.extensions import db


def _driver(connection):
    return connection.connection.driver_connection


def test_the_connection_returned_last_is_handed_out_next(app):
    engine = db.engine
    held = [engine.connect() for _ in range(3)]  # three threads' requests at once
    drivers = [_driver(c) for c in held]
    for connection in held:
        connection.close()  # back to the pool in this order: drivers[2] last
    with engine.connect() as next_one:
        assert _driver(next_one) is drivers[2]
    with engine.connect() as again:
        assert _driver(again) is drivers[2]


def test_an_in_memory_database_and_a_pool_of_its_own_kind_still_start(tmp_path):
    for settings in (app_settings("sqlite://"),
                     {**app_settings(f"sqlite:///{tmp_path / 'own.db'}"),
                      "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}}):
        made = create_app(settings)
        with made.app_context():
            try:
                assert db.session.execute(text("SELECT 1")).scalar() == 1
            finally:
                db.session.remove()
                db.engine.dispose()
