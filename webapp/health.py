"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

bp = Blueprint("health", __name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@bp.get("/healthz")
def healthz():
    """The process is up and answering."""
    return jsonify({"status": "ok"})


def _expected_heads() -> set[str]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


@bp.get("/readyz")
def readyz():
    """The database answers and its schema is at the migrations' head(s)."""
    try:
        applied = set(db.session.scalars(text("SELECT version_num FROM alembic_version")).all())
    except SQLAlchemyError as err:
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": f"{type(err).__name__}"}), 503
    db.session.rollback()
    expected = _expected_heads()
    if applied != expected:
        return jsonify({"status": "migrations pending", "applied": sorted(applied), "expected": sorted(expected)}), 503
    return jsonify({"status": "ready", "migrations": sorted(applied)})
