"""The dashboard's queries on PostgreSQL over 1,000,000 history events and 100,000 cases:
p50 and p95 latency of each, and its ratio to a baseline measured in the same run (a plain
SELECT count(*) over history_events).

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m bench.kpi_queries [cases] [runs]

The schema comes from the migrations (so the indexes are the ones the application has); the
data is generated in the database with INSERT ... SELECT generate_series, shaped like what the
workers and the engine write: 100,000 instances over a year (half complaints, 30 % repair
orders, 10 % parts returns, 10 % surveys), their records, 10 history events each, inbox tasks,
jobs, escalations and corrective actions. The queries are the ones the pages run, for the
month of March 2026 (trends: the 12 months to March), judged on 2026-04-01.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
PROCESSES = ("complaint_handling", "repair_dispatch", "parts_return", "satisfaction_survey")

GENERATE = """
SELECT setseed(0.42);
INSERT INTO customers (id, name, phone, email, address, created_at)
SELECT g, '客户' || g, '139' || lpad(g::text, 8, '0'), '', '', timestamp '2025-01-01' + g * interval '1 minute'
FROM generate_series(1, :customers) g;

INSERT INTO instances (id, definition_id, process_key, business_key, status, snapshot, data, version, id_counter,
                       next_timer_due, started_at, started_by, ended_at, updated_at, last_hash, last_seq, incident_count)
SELECT g, d.id, d.key, upper(left(d.key, 2)) || '-' || g, s.status, '', '{}', 10, 20, NULL, s.started, 'bench',
       CASE WHEN s.status = 'running' THEN NULL ELSE s.started + (1 + random() * 70) * interval '1 hour' END,
       s.started, repeat('0', 64), 10, CASE WHEN s.status = 'running' AND random() < 0.02 THEN 1 ELSE 0 END
FROM generate_series(1, :cases) g
CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 < 5 THEN 'complaint_handling' WHEN g % 10 < 8 THEN 'repair_dispatch'
                               WHEN g % 10 = 8 THEN 'parts_return' ELSE 'satisfaction_survey' END AS key) k
JOIN definitions d ON d.key = k.key
CROSS JOIN LATERAL (SELECT timestamp '2025-04-01' + (g::float / :cases * 365) * interval '1 day' AS started,
                           CASE WHEN random() < 0.05 THEN 'running' WHEN random() < 0.01 THEN 'cancelled'
                                ELSE 'completed' END AS status) s;
SELECT setval(pg_get_serial_sequence('instances', 'id'), :cases);

INSERT INTO complaint_cases (number, instance_id, customer_id, product_model, serial_no, channel, description, status,
                             received_at, replied_at, closed_at, cause, responsible_department, solution, action_taken,
                             satisfied, satisfaction_score)
SELECT i.business_key, i.id, 1 + i.id % :customers, 'XC-200', 'SN' || i.id, 'phone', '空调维修后仍然不制冷',
       CASE WHEN c.closed IS NULL THEN 'open' ELSE 'closed' END, i.started_at, i.started_at + c.reply, c.closed,
       '维修质量', (ARRAY['service','sales','quality','production'])[1 + i.id % 4], '返修', '已返修', c.closed IS NOT NULL,
       CASE WHEN c.closed IS NULL THEN NULL ELSE 1 + i.id % 5 END
FROM instances i
CROSS JOIN LATERAL (SELECT random() * 30 * interval '1 hour' AS reply,
                           CASE WHEN i.status = 'running' THEN NULL
                                ELSE i.started_at + (5 + random() * 60) * interval '1 hour' END AS closed) c
WHERE i.process_key = 'complaint_handling';

INSERT INTO vehicles (id, serial_no, model, customer_id, delivery_date, delivery_mileage, current_mileage, updated_at)
SELECT i.id, 'VIN' || i.id, 'XR-200', 1 + i.id % :customers, date '2025-06-01', 10, 20000, i.started_at
FROM instances i WHERE i.process_key = 'repair_dispatch';

INSERT INTO repair_orders (number, instance_id, customer_id, vehicle_id, service_mode, fault_category, fault_description,
                           distance_km, supplier_involved, units, received_at, warranty_status, service_type,
                           repair_items, walkaround_notes, promised_finish_at, team, technician, added_items, work_done,
                           parts_used, rework_count, bench_days, bench_due_at, bench_finished_at, bench_late,
                           payment_method, invoice_no, status, closed_at, claim_no)
SELECT i.business_key, i.id, 1 + i.id % :customers, i.id, m.mode,
       (ARRAY['body','chassis','engine','electrical','other'])[1 + (i.id / 10) % 5], '车门异响', 30, false, 10,
       i.started_at, 'in_warranty', 'free', '[]', '', CASE WHEN m.mode = 'workshop' THEN i.started_at + interval '6 hours' END,
       CASE WHEN m.mode = 'workshop' THEN (ARRAY['机修一组','机修二组','机修三组','钣喷组','电器组','快修组'])[1 + i.id % 6]
            ELSE '' END, '王工', '[]', '已修复', '[]', 0,
       CASE WHEN m.mode = 'bench' THEN 1 END, CASE WHEN m.mode = 'bench' THEN i.started_at + interval '1 day' END,
       CASE WHEN m.mode = 'bench' AND i.status <> 'running' THEN i.started_at + random() * 30 * interval '1 hour' END,
       NULL, '', '', CASE WHEN i.status = 'completed' THEN 'closed' WHEN i.id % 97 = 0 THEN 'declined' ELSE 'open' END,
       i.ended_at, ''
FROM instances i
CROSS JOIN LATERAL (SELECT (ARRAY['field','workshop','bench'])[1 + (i.id / 10) % 3] AS mode) m
WHERE i.process_key = 'repair_dispatch';

INSERT INTO field_service_reports (order_id, number, quality_plan, opened_at, response_rule, response_hours,
                                   response_due_at, responded_at, response_late, technician, onsite_due_at, arrived_at,
                                   arrived_late, diagnosis, work_done, outcome, signed_by, signature_violation,
                                   violation_reason, customer_opinion, fee_receipt_no)
SELECT r.id, 'BG-' || r.id, '', r.received_at, f.rule, f.hours, r.received_at + f.hours * interval '1 hour',
       r.received_at + random() * 14 * interval '1 hour', NULL, '王工', r.received_at + interval '24 hours',
       CASE WHEN r.status <> 'open' THEN r.received_at + random() * 30 * interval '1 hour' END, NULL, '', '', 'fixed',
       '', false, '', '', ''
FROM repair_orders r
CROSS JOIN LATERAL (SELECT CASE WHEN r.id % 10 < 7 THEN 'onsite_24h' ELSE 'answer_12h' END AS rule,
                           CASE WHEN r.id % 10 < 7 THEN 24 ELSE 12 END AS hours) f
WHERE r.service_mode = 'field';

INSERT INTO parts_returns (number, instance_id, claim_no, created_at, ship_due_at, shipped_at, shipped_late, box_no,
                           carrier, tracking_no, discrepancies, status)
SELECT i.business_key, i.id, 'SP-' || i.id, i.started_at, i.started_at + interval '15 days',
       CASE WHEN random() < 0.95 THEN i.started_at + random() * 18 * interval '1 day' END, NULL, '', '', '', '[]', 'open'
FROM instances i WHERE i.process_key = 'parts_return';

INSERT INTO satisfaction_surveys (number, instance_id, customer_id, source_process, source_case_no, prior_year_revenue,
                                  strategic, key_reason, overall_score, problem_category, comments, satisfied,
                                  prior_occurrences, key_review, analysis, cause, status, opened_at, surveyed_at)
SELECT i.business_key, i.id, 1 + i.id % :customers, 'repair_dispatch', 'RE-' || (i.id - 4),
       0, false, '一般顾客', s.score, 'none', '', s.score >= 4, 0, '', '', '', 'surveyed', i.started_at,
       i.started_at + random() * 3 * interval '1 day'
FROM instances i CROSS JOIN LATERAL (SELECT 1 + floor(random() * 5)::int AS score) s
WHERE i.process_key = 'satisfaction_survey';

INSERT INTO corrective_actions (number, survey_id, customer_id, trigger, problem, cause, responsible_department, measures,
                                due_at, implementation, rounds, verification_comment, status, management_decision,
                                opened_at, closed_at)
SELECT 'CA-' || s.number, s.id, s.customer_id, 'dissatisfied', '等待时间长', '', 'workshop', '增加值班',
       s.surveyed_at + interval '14 days', '', 1, '', CASE WHEN random() < 0.7 THEN 'effective' ELSE 'open' END, '',
       s.surveyed_at, NULL
FROM satisfaction_surveys s WHERE s.overall_score <= 2;
UPDATE corrective_actions SET closed_at = opened_at + interval '10 days' WHERE status = 'effective';

INSERT INTO history_events (instance_id, seq, at, actor, type, bpmn_id, task_id, payload, state_hash, prev_hash, hash)
SELECT i.id, s.seq,
       to_char(i.started_at + (s.seq - 1) * interval '3 hours', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00',
       CASE WHEN s.seq = 1 THEN 'bench' ELSE 'worker:bench' END,
       CASE WHEN s.seq = 1 THEN 'instance_started' WHEN e.user_task THEN 'task_completed' ELSE 'service_completed' END,
       CASE WHEN s.seq = 1 THEN NULL ELSE e.bpmn_id END,
       CASE WHEN s.seq = 1 THEN NULL ELSE md5(i.id || '-' || s.seq) END,
       CASE WHEN e.bpmn_id = 'verify_complaint'
            THEN '{"data":{"category":"repair_quality","reply_to_customer":"已收到","severity":"normal","verified":'
                 || CASE WHEN i.id % 20 = 0 THEN 'false' ELSE 'true' END || '}}'
            ELSE '{"data":{}}' END,
       repeat('a', 64), repeat('b', 64), md5(i.id || ':' || s.seq) || md5(s.seq || ':' || i.id)
FROM instances i
CROSS JOIN generate_series(1, 10) s(seq)
CROSS JOIN LATERAL (
  SELECT CASE i.process_key
           WHEN 'complaint_handling' THEN (ARRAY['register_case','verify_complaint','record_reply','analyse_complaint',
             'propose_solution','confirm_with_customer','carry_out_solution','notify_and_confirm','close_case'])[s.seq - 1]
           WHEN 'repair_dispatch' THEN (ARRAY['check_vehicle','register_request','write_work_order','dispatch_team',
             'workshop_repair','self_check','team_check','final_check','notify_customer'])[s.seq - 1]
           WHEN 'parts_return' THEN (ARRAY['register_return','tag_and_store','record_store','box_parts','record_box',
             'ship_parts','record_ship','reconcile','close_return'])[s.seq - 1]
           ELSE (ARRAY['open_survey','conduct_survey','record_survey','analyse_survey','record_analysis','close_survey',
             'close_survey','close_survey','close_survey'])[s.seq - 1] END AS bpmn_id) b
CROSS JOIN LATERAL (SELECT b.bpmn_id, b.bpmn_id IN ('verify_complaint','analyse_complaint','propose_solution',
  'confirm_with_customer','carry_out_solution','notify_and_confirm','write_work_order','dispatch_team','workshop_repair',
  'self_check','team_check','final_check','notify_customer','tag_and_store','box_parts','ship_parts','conduct_survey',
  'analyse_survey') AS user_task) e;

INSERT INTO inbox_tasks (id, instance_id, bpmn_id, name, role, lane_name, state, created_at, completed_at, completed_by)
SELECT md5('t' || h.id), h.instance_id, h.bpmn_id, h.bpmn_id,
       (ARRAY['complaint_handler','customer_service','service_advisor','workshop_supervisor','parts_keeper',
              'followup_clerk'])[1 + h.instance_id % 6], '', 'completed',
       CAST(substr(h.at, 1, 26) AS timestamp) - (0.5 + random() * 20) * interval '1 hour',
       CAST(substr(h.at, 1, 26) AS timestamp), 'bench'
FROM history_events h WHERE h.type = 'task_completed';

INSERT INTO inbox_tasks (id, instance_id, bpmn_id, name, role, lane_name, state, created_at, due_at)
SELECT md5('open' || i.id), i.id, 'verify_complaint', '分类核实并答复客户',
       (ARRAY['complaint_handler','customer_service','service_advisor','workshop_supervisor','parts_keeper',
              'followup_clerk'])[1 + i.id % 6], '', 'open', i.started_at + interval '1 hour', i.started_at + interval '25 hours'
FROM instances i WHERE i.status = 'running';

INSERT INTO jobs (instance_id, task_id, bpmn_id, operator, parameters, status, attempts, max_attempts, run_at, created_at,
                  finished_at, last_error)
SELECT i.id, md5('j' || i.id), 'record_reply', 'complaint/log_contact', '{}',
       CASE WHEN i.incident_count > 0 THEN 'incident' ELSE 'ready' END, 0, 5, i.started_at, i.started_at, NULL,
       CASE WHEN i.incident_count > 0 THEN 'boom' END
FROM instances i WHERE i.status = 'running';

INSERT INTO escalations (case_number, reason, to_role, at)
SELECT c.number, CASE WHEN c.replied_at > c.received_at + interval '24 hours' THEN 'reply_24h' ELSE 'resolve_48h' END,
       'after_sales_manager', c.received_at + interval '24 hours 1 second'
FROM complaint_cases c
WHERE c.replied_at > c.received_at + interval '24 hours' OR c.closed_at > c.received_at + interval '48 hours';
"""


def _app(url: str):
    from webapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})


def build(url: str, cases: int) -> dict[str, int]:
    from flask_migrate import upgrade

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
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        processes = ROOT / "processes"
        shared = {p.name: p.read_bytes() for p in [*processes.glob("*.dmn"), *(processes / "forms").glob("*.json")]}
        for key in PROCESSES:
            definitions.deploy({f"{key}.bpmn": (processes / f"{key}.bpmn").read_bytes(), **shared}, actor="bench",
                               now=clock.now(), known_operators=registry.names())
        db.session.commit()
        params = {"cases": cases, "customers": max(cases // 10, 1)}
        with db.engine.begin() as conn:
            for statement in GENERATE.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with db.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in (
                "instances", "history_events", "complaint_cases", "repair_orders", "inbox_tasks", "satisfaction_surveys",
                "parts_returns")}


def queries():
    """(name, callable) for every query the dashboard, monitoring and report pages run."""
    from webapp.extensions import db
    from webapp.kpi import CODES, cases, compute, monitoring, month_period, report, trend
    from webapp.models import Definition

    march = month_period(2026, 3)
    complaints = db.session.scalar(db.select(Definition.id).where(Definition.key == "complaint_handling"))
    out = [("baseline: SELECT count(*) FROM history_events",
            lambda: db.session.execute(text("SELECT count(*) FROM history_events")).scalar())]
    for code in CODES:
        out.append((f"figure {code}", lambda code=code: compute(code, march, now=NOW)))
    for code in CODES:
        out.append((f"trend {code} (12 months)", lambda code=code: trend(code, march, grain="month", now=NOW)))
    out += [
        ("trend on_time_service_rate (12 weeks, team)",
         lambda: trend("on_time_service_rate", march, grain="week", team="机修一组", now=NOW)),
        ("drill-down reply_24h_rate missed (500 rows)",
         lambda: cases("reply_24h_rate", march, outcome="missed", now=NOW)),
        ("drill-down on_time_service_rate missed (500 rows)",
         lambda: cases("on_time_service_rate", march, outcome="missed", now=NOW)),
        ("monitoring: instances per version", monitoring.overview),
        ("monitoring: heat map complaint_handling (March)", lambda: monitoring.heatmap(complaints, march.start, march.end)),
        ("monitoring: oldest waiting per role", monitoring.oldest_waiting),
        ("monitoring: time per task (March)", lambda: monitoring.task_times(march.start, march.end)),
        ("monitoring: time per case (March)", lambda: monitoring.case_times(march.start, march.end)),
        ("report: volumes by procedure", lambda: report.volumes(march)),
        ("report: top fault categories", lambda: report.fault_categories(march)),
        ("report: corrective actions", lambda: report.corrective_actions(march)),
        ("report: escalations", lambda: report.escalations(march)),
    ]
    return out


def measure(fn, runs: int) -> list[float]:
    from webapp.extensions import db

    fn()  # warm: plan caches, buffers
    db.session.rollback()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        db.session.rollback()
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("set DATABASE_URL to a PostgreSQL database (make bench-kpi starts a throwaway one)", file=sys.stderr)
        return 2
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    started = time.perf_counter()
    counts = build(url, cases)
    print(f"data: {', '.join(f'{k} {v:,}' for k, v in counts.items())} ({time.perf_counter() - started:.0f} s to generate)")
    from webapp.engine import clock

    clock.use(clock.ManualClock(NOW))
    app = _app(url)
    with app.app_context():
        rows = [(name, measure(fn, runs)) for name, fn in queries()]
    base = p95(rows[0][1])
    width = max(len(name) for name, _ in rows)
    print(f"\n{'query':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'p95 / baseline':>14}  {'< 200 ms':>8}")
    slow = 0
    for name, times in rows:
        high = p95(times)
        slow += high >= 200
        verdict = "yes" if high < 200 else "NO"
        print(f"{name:<{width}}  {statistics.median(times):8.1f}  {high:8.1f}  {high / base:14.2f}  {verdict:>8}")
    print(f"\n{runs} runs each after one warm-up; baseline p95 {base:.1f} ms; {slow} queries at or over 200 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
