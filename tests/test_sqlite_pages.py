"""SQLite page size (webapp/sqlite_setup.py): a new database file is made with PAGE_SIZE
pages (a command's commit writes whole pages to the write-ahead log); a file made before
keeps its own size and works as before."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text

from webapp import sqlite_setup
from webapp.extensions import db


def test_the_database_is_made_with_the_configured_page_size(tmp_path):
    """A database made as `make run` makes it (the app's migrations on a new SQLite file)."""
    from flask_migrate import upgrade

    from tests.conftest import ROOT, app_settings
    from webapp import create_app

    made = create_app(app_settings(f"sqlite:///{tmp_path / 'pages.db'}"))
    with made.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        try:
            assert sqlite_setup.PAGE_SIZE != 4096  # not SQLite's default: the setting is what made it
            assert db.session.execute(text("PRAGMA page_size")).scalar() == sqlite_setup.PAGE_SIZE
            assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        finally:
            db.session.remove()
            db.engine.dispose()


def test_a_database_made_with_another_page_size_keeps_it_and_works(tmp_path):
    path = tmp_path / "old.db"
    made = sqlite3.connect(path)
    made.execute("PRAGMA page_size=4096")
    made.execute("CREATE TABLE t (x TEXT)")
    made.execute("INSERT INTO t VALUES ('before')")
    made.commit()
    made.close()
    engine = create_engine(f"sqlite:///{path}")
    sqlite_setup.configure_engine(engine)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES ('after')"))
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA page_size")).scalar() == 4096
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("SELECT x FROM t ORDER BY rowid")).scalars().all() == ["before", "after"]
    finally:
        engine.dispose()


def test_a_new_file_through_the_engine_gets_the_page_size(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    sqlite_setup.configure_engine(engine)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x TEXT)"))
        assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA page_size").fetchone()[0] == sqlite_setup.PAGE_SIZE
    finally:
        engine.dispose()
