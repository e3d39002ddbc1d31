"""The after-sales service orchestration web application."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import Config

from .extensions import db, migrate


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Chinese case data stays readable in API responses
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    from .security import check_secret_key, init_security
    from .security.instance_files import private_sqlite_file

    check_secret_key(app)  # no default secret: refuse to start without one (tests get a throwaway key)
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])  # instance/ 0700, the database 0600
    if not app.config["TESTING"]:
        from .logging_setup import configure_logging

        configure_logging()

    _pool_defaults(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    with app.app_context():
        from .sqlite_setup import configure_engine

        configure_engine(db.engine)

    from .engine import definitions, runtime, sandbox_pool

    definitions.clear_caches()
    runtime.configure(
        sandbox_limits=sandbox_pool.Limits(
            seconds=app.config["SCRIPT_TIME_LIMIT_SECONDS"],
            memory_mb=app.config["SANDBOX_MEMORY_MB"],
            max_output_bytes=app.config["SANDBOX_MAX_OUTPUT_BYTES"],
            pool_size=app.config["SANDBOX_POOL_SIZE"],
            render_seconds=app.config["INSTRUCTIONS_TIME_LIMIT_SECONDS"],
        ),
        max_attempts=app.config["JOB_MAX_ATTEMPTS"],
    )

    from . import params

    params.install(app)  # bounded <int:> ids, no NUL in parameters, BadParameter -> 400

    from .api import bp as api_bp
    from .audit import blueprint as audit_blueprint
    from .cli import register_cli
    from .dashboard import bp as dashboard_bp
    from .health import bp as health_bp
    from .modeler import bp as modeler_bp
    from .ui import bp as ui_bp
    from .ui import init_ui

    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    init_security(app)  # headers (CSP, no framing, nosniff), session versions, rate limits
    init_ui(app)  # Flask-Login, CSRF on every form (not the bearer-token API), Babel zh_CN/en
    app.register_blueprint(ui_bp)  # staff: inbox, tasks, cases, accounts, incidents
    app.register_blueprint(audit_blueprint())  # auditors: replay, verify, exports, system log
    app.register_blueprint(modeler_bp)  # process owners: modeler, validate, deploy, diff, migrate
    app.register_blueprint(dashboard_bp)  # managers: KPIs, monitoring, monthly report
    register_cli(app)
    return app


def _pool_defaults(config: dict) -> None:
    """The connection pool hands out the connection returned last (LIFO) instead of the one
    idle longest. Each connection keeps caches that only its own reuse keeps warm: SQLite's
    page cache, which a connection throws away at its next BEGIN whenever another connection
    committed meanwhile (with a web process's four threads' connections taken in turn, that
    was every request: ~30 page reads from the file per request); on PostgreSQL psycopg's
    prepared statements and plain_sql's cursors, which are per connection too
    (docs/benchmarks.md, HTTP, issue 17's eighth stop). A pool of its own kind in the config
    (an in-memory SQLite database's single connection, NullPool) is left as it is."""
    from sqlalchemy.engine import make_url

    options = config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    in_memory = url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory")
    if in_memory or "poolclass" in options or "pool" in options:
        return
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_use_lifo": True, **options}

