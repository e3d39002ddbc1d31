"""These tests need PostgreSQL: `make test` starts a throwaway server and sets
TEST_DATABASE_URL (scripts/pg_temp.sh); run them alone with
TEST_DATABASE_URL=$(scripts/pg_temp.sh start) .venv/bin/python -m pytest tests/postgres"""

import os

import pytest


@pytest.fixture(autouse=True)
def _needs_postgresql():
    url = os.environ.get("TEST_DATABASE_URL", "")
    assert url.startswith("postgresql"), "tests/postgres needs TEST_DATABASE_URL pointing at PostgreSQL (see make test)"
