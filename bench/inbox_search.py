"""The inbox and case search stay indexed: p50/p95 latency on PostgreSQL with 100,000 open
tasks and 1,000,000 history events, and the ratio to a baseline measured in the same run
(a plain SELECT count(*) over history_events).

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m bench.inbox_search [open_tasks] [runs]
    make bench-inbox    # starts a throwaway PostgreSQL, runs this, stops it

The queries are the pages' own: the inbox (`webapp.ui.inbox.open_tasks_query`, ordered by
due time, the first 500) for a clerk of one role and for a manager looking at every lane,
the inbox filtered by a case-number fragment and by a customer's name, and the case list
search (`/cases?q=`) by number and by name. The data is generated in the database with
INSERT ... SELECT generate_series: 100,000 running instances with 10 history events each and
one open task each over 12 roles, plus 100,000 finished instances with closed tasks.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
ROLES = [
    "customer_service",
    "complaint_handler",
    "technician",
    "team_leader",
    "workshop_supervisor",
    "warranty_clerk",
    "parts_keeper",
    "followup_clerk",
    "quality_dept",
    "after_sales_manager",
    "service_advisor",
    "general_manager",
]

GENERATE = """
SELECT setseed(0.7);
INSERT INTO instances (id, definition_id, process_key, business_key, customer_name, status, snapshot, data, version,
                       id_counter, started_at, started_by, updated_at, last_hash, last_seq, incident_count)
SELECT g, d.id, d.key, 'TS-' || to_char(date '2025-01-01' + (g / 300), 'YYYYMMDD') || '-' || lpad((g % 300)::text, 4, '0'),
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + g % 10]
       || (ARRAY['芳','伟','娜','敏','静','丽','强','磊','军','洋'])[1 + (g / 10) % 10] || (g % 997),
       CASE WHEN g <= :open THEN 'running' ELSE 'completed' END, '', '{}', 3, 5,
       timestamp '2025-01-01' + g * interval '2 minutes', 'bench', timestamp '2025-01-01' + g * interval '2 minutes',
       repeat('0', 64), 10, 0
FROM generate_series(1, 2 * :open) g CROSS JOIN (SELECT id, key FROM definitions LIMIT 1) d;

INSERT INTO inbox_tasks (id, instance_id, bpmn_id, name, role, lane_name, state, created_at, due_at)
SELECT md5(g::text)::uuid::text, g, 'verify_complaint', '分类核实并答复客户',
       (CAST(:roles AS text[]))[1 + g % 12], '', CASE WHEN g <= :open THEN 'open' ELSE 'completed' END,
       timestamp '2025-01-01' + g * interval '2 minutes',
       CASE WHEN g % 3 = 0 THEN NULL ELSE timestamp '2025-01-02' + (random() * 700) * interval '1 day' END
FROM generate_series(1, 2 * :open) g;

INSERT INTO history_events (instance_id, seq, at, actor, type, bpmn_id, task_id, payload, state_hash, prev_hash, hash)
SELECT 1 + (g - 1) / 10, 1 + (g - 1) % 10, '2025-01-01T00:00:00.000000+00:00', 'bench', 'task_completed', 'verify_complaint',
       NULL, '{"data":{}}', repeat('0', 64), repeat('0', 64), repeat('0', 64)
FROM generate_series(1, :events) g;
ANALYZE;
"""


def _prepare(url: str, open_tasks: int, events: int) -> None:
    from flask_migrate import upgrade

    from tests.conftest import process_files
    from webapp.accounts import create_user
    from webapp.engine import clock, definitions
    from webapp.extensions import db
    from workers import registry

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = _app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        create_user("clerk", "bench", ["complaint_handler"])
        create_user("boss", "bench", ["after_sales_manager"])
        files = process_files("complaint_handling")  # the diagram and every form it names
        definitions.deploy(
            {p.name: p.read_bytes() for p in files}, actor="bench", now=clock.now(), known_operators=registry.names()
        )
        db.session.commit()
        for statement in GENERATE.split(";\n"):
            if statement.strip():
                db.session.execute(text(statement), {"open": open_tasks, "events": events, "roles": ROLES})
        db.session.commit()


def _app(url: str):
    from webapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})


def _timed(run, runs: int) -> tuple[float, float]:
    run()  # warm the caches and the plan
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * len(samples))) - 1)]


def _queries(app) -> list[tuple[str, object]]:
    """Each query as the page builds it, for a signed-in user."""
    from flask_login import login_user

    from webapp.extensions import db
    from webapp.models import InboxTask, Instance, User
    from webapp.ui.inbox import INBOX_LIMIT, matching_instances, open_tasks_query

    def inbox(username: str, scope: str, q: str = ""):
        def run():
            with app.test_request_context():
                login_user(db.session.scalar(db.select(User).where(User.username == username)))
                query = open_tasks_query(scope)
                if q:
                    query = query.where(InboxTask.instance_id.in_(matching_instances(q)))
                ordered = query.order_by(InboxTask.due_at.asc().nulls_last(), InboxTask.created_at).limit(INBOX_LIMIT)
                rows = db.session.scalars(ordered).all()
                db.session.rollback()
                return rows

        return run

    def case_search(q: str):
        def run():
            like = f"%{q}%"
            query = db.select(Instance).where(db.or_(Instance.business_key.ilike(like), Instance.customer_name.ilike(like)))
            total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
            rows = db.session.scalars(query.order_by(Instance.started_at.desc(), Instance.id.desc()).limit(50)).all()
            db.session.rollback()
            return total, rows

        return run

    def baseline():
        db.session.execute(text("SELECT count(*) FROM history_events")).scalar()
        db.session.rollback()

    return [
        ("baseline: SELECT count(*) FROM history_events", baseline),
        ("inbox, one role (complaint handler), first page", inbox("clerk", "mine")),
        ("inbox, manager, every lane, first page", inbox("boss", "team")),
        ("inbox search by case number fragment", inbox("clerk", "mine", "20250301")),
        ("inbox search by customer name", inbox("boss", "team", "王芳1")),
        ("case search by case number fragment", case_search("20250415-01")),
        ("case search by customer name", case_search("李伟3")),
    ]


def main() -> None:
    url = os.environ["DATABASE_URL"]
    open_tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    events = 10 * open_tasks
    started = time.perf_counter()
    _prepare(url, open_tasks, events)
    made = time.perf_counter() - started
    app = _app(url)
    print(
        f"PostgreSQL: {open_tasks:,} open tasks, {2 * open_tasks:,} instances, {events:,} history events "
        f"(made in {made:.0f} s); {runs} runs each; aim: p95 under 50 ms"
    )
    print(f"{'query':<52}{'p50 ms':>9}{'p95 ms':>9}{'p95 / baseline':>16}")
    with app.app_context():
        results = [(name, *_timed(run, runs)) for name, run in _queries(app)]
    base = results[0][2]
    for name, p50, p95 in results:
        print(f"{name:<52}{p50:>9.1f}{p95:>9.1f}{p95 / base:>16.2f}")


if __name__ == "__main__":
    main()
