"""Acceptance 1 of the KPI issue: a known month of cases built through the API with the
controlled clock (tests/test_kpi_support.py lists every case and its outcome); every figure
checked against the hand-computed values, with the edge cases: a complaint reopened (the
customer rejected the first solution), timers checked exactly at their deadline, cases
crossing the month boundary, cases still pending, and the same month judged later."""

from __future__ import annotations

import pytest

from tests.test_kpi_support import EVAL, LATER, month_world
from webapp.kpi import CODES, cases, compute, compute_all, month_period, trend
from webapp.kpi.period import Period, parse_period

MARCH = month_period(2026, 3)
FEBRUARY = month_period(2026, 2)
APRIL = month_period(2026, 4)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from month_world(tmp_path_factory)


@pytest.fixture
def ctx(world):
    with world.app.app_context():
        yield world


def fig(code, period=MARCH, **kw):
    result = compute(code, period, now=kw.pop("now", EVAL), **kw)
    return result["numerator"], result["denominator"], result["pending"]


def numbers(world, rows) -> list[str]:
    names = {number: name for name, number in world.numbers.items()}
    return [names.get(r["case_no"], r["case_no"]) for r in rows]


def test_complaint_figures_of_march(ctx):
    assert fig("reply_24h_rate") == (6, 7, 1)  # C3 missed by one second; C2 met exactly at the deadline; C9 pending
    assert fig("resolve_48h_rate") == (5, 7, 1)  # C3 (50 h) and C8 (still open) missed
    assert fig("resolution_rate") == (6, 7, 1)  # C8 open past 48 h; C4 (reopened) counts once, resolved
    assert fig("complaint_rate") == (4, 7, 0)  # C1, C3, C4, C6 service-caused; C5 found untrue; 7 repair orders


def test_service_figures_of_march(ctx):
    assert fig("on_time_service_rate") == (3, 6, 1)  # R1, R3, R5 met; R2, R4, R6 missed; R7 pending; R8 declined
    assert fig("satisfaction_rate") == (3, 5, 0)  # scores 5, 5, 4 satisfied; 3 and 2 not
    assert fig("parts_on_time_rate") == (1, 2, 0)  # R3's parts on time, R4's late; claim parts P1-P4 not counted


def test_values_targets_and_verdicts(ctx):
    figures = compute_all(MARCH, now=EVAL)
    assert set(figures) == set(CODES)
    on_time = figures["on_time_service_rate"]
    assert on_time["value"] == 0.5 and on_time["target"] == 0.9 and on_time["met_target"] is False
    complaint = figures["complaint_rate"]
    assert complaint["value"] == round(4 / 7, 6) and complaint["comparison"] == "<" and complaint["target"] == 0.03
    assert complaint["met_target"] is False
    assert figures["satisfaction_rate"]["value"] == 0.6 and figures["satisfaction_rate"]["target"] == 0.85
    assert figures["reply_24h_rate"]["value"] == round(6 / 7, 6)


def test_the_same_month_judged_later(ctx):
    """At LATER C9's 24 h and R7's on-site deadlines have strictly passed: pending becomes missed."""
    assert fig("reply_24h_rate", now=LATER) == (6, 8, 0)
    assert fig("on_time_service_rate", now=LATER) == (3, 7, 0)
    assert fig("resolution_rate", now=LATER) == (6, 7, 1)  # C9's 48 h are not over yet


def test_cases_crossing_the_month_boundary(ctx):
    """A case counts in the month it was received (China time): C6, received 03-31 23:30 and
    closed on 04-01, is March's; C7, received 02-28 and closed on 03-01, is February's. A
    survey counts when it was answered: C7's survey, answered on 03-02, is March's."""
    march = numbers(ctx, cases("resolve_48h_rate", MARCH, now=EVAL)[0])
    assert "C6" in march and "C7" not in march
    assert fig("reply_24h_rate", FEBRUARY) == (1, 1, 0) and fig("resolution_rate", FEBRUARY) == (1, 1, 0)
    assert fig("reply_24h_rate", APRIL) == (0, 0, 0) and compute("reply_24h_rate", APRIL, now=EVAL)["value"] is None
    assert "S7" in numbers(ctx, cases("satisfaction_rate", MARCH, now=EVAL)[0])
    # one day, China time: 03-31 holds C9 and C6 (C6 at 23:30 is 15:30 UTC, still March 31)
    last_day = Period(MARCH.last, MARCH.last)
    assert sorted(numbers(ctx, cases("reply_24h_rate", last_day, now=EVAL, outcome=None)[0])) == ["C6", "C9"]


def test_drill_down_to_the_cases_behind_a_missed_target(ctx):
    rows, total = cases("reply_24h_rate", MARCH, outcome="missed", now=EVAL)
    assert (numbers(ctx, rows), total) == (["C3"], 1)
    assert rows[0]["escalated"] is True and rows[0]["instance_id"] == ctx.ids["C3"]
    assert (rows[0]["due_at"] - rows[0]["cohort_at"]).total_seconds() == 24 * 3600  # due = received + 24 h
    assert (rows[0]["done_at"] - rows[0]["due_at"]).total_seconds() == 1
    assert numbers(ctx, cases("on_time_service_rate", MARCH, outcome="missed", now=EVAL)[0]) == ["R2", "R4", "R6"]
    assert numbers(ctx, cases("on_time_service_rate", MARCH, outcome="pending", now=EVAL)[0]) == ["R7"]
    assert numbers(ctx, cases("complaint_rate", MARCH, outcome="complaint", now=EVAL)[0]) == ["C1", "C3", "C4", "C6"]
    assert numbers(ctx, cases("parts_on_time_rate", MARCH, outcome="missed", now=EVAL)[0]) == ["R4"]
    assert numbers(ctx, cases("satisfaction_rate", MARCH, outcome="missed", now=EVAL)[0]) == ["S3", "SR3"]
    resolved = {numbers(ctx, [r])[0]: r for r in cases("resolution_rate", MARCH, now=EVAL)[0]}
    assert resolved["C4"]["reopened"] is True and resolved["C4"]["outcome"] == "met"
    assert [name for name, r in resolved.items() if r["reopened"]] == ["C4"]


def test_timers_checked_exactly_at_the_deadline(ctx):
    """SpiffWorkflow fires a timer only once its time has strictly passed: C2's reply and R5's
    arrival, exactly at the deadline, are met and escalated nothing; C3, one second late, is
    missed and escalated."""
    reply = {numbers(ctx, [r])[0]: r for r in cases("reply_24h_rate", MARCH, now=EVAL)[0]}
    assert reply["C2"]["outcome"] == "met" and reply["C2"]["done_at"] == reply["C2"]["due_at"]
    assert reply["C2"]["escalated"] is False
    assert reply["C3"]["outcome"] == "missed" and reply["C3"]["escalated"] is True
    on_time = {numbers(ctx, [r])[0]: r for r in cases("on_time_service_rate", MARCH, now=EVAL)[0]}
    assert on_time["R5"]["outcome"] == "met" and on_time["R5"]["done_at"] == on_time["R5"]["due_at"]
    assert on_time["R5"]["escalated"] is False and on_time["R2"]["escalated"] is True


def test_team_filter(ctx):
    assert fig("on_time_service_rate", team="机修一组") == (1, 1, 0)
    assert fig("on_time_service_rate", team="机修二组") == (0, 1, 0)
    assert fig("satisfaction_rate", team="机修一组") == (0, 1, 0)  # SR3, the survey of R3
    assert fig("parts_on_time_rate", team="机修二组") == (0, 1, 0)  # R4's parts came late
    not_by_team = compute("reply_24h_rate", MARCH, team="机修一组", now=EVAL)
    assert not_by_team["value"] is None and not_by_team["by_team"] is False and not_by_team["denominator"] is None
    from webapp.kpi import teams

    assert teams() == ["机修一组", "机修二组"]


def test_trend_by_month_and_week(ctx):
    months = trend("reply_24h_rate", MARCH, grain="month", count=3, now=EVAL)
    assert [(m["first"], m["numerator"], m["denominator"]) for m in months] == [
        ("2026-01-01", 0, 0), ("2026-02-01", 1, 1), ("2026-03-01", 6, 7)]
    weeks = trend("reply_24h_rate", MARCH, grain="week", count=5, now=EVAL)
    # Mondays 03-02 .. 03-30; the last week runs to 04-05 and holds C9 (pending) and C6
    assert [w["first"] for w in weeks] == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    assert [(w["numerator"], w["denominator"], w["pending"]) for w in weeks] == [
        (2, 3, 0), (2, 2, 0), (1, 1, 0), (0, 0, 0), (1, 1, 1)]


def test_period_parsing():
    from datetime import date

    from webapp.kpi import PeriodError

    period = parse_period("2026-03-01", "2026-03-31", now=EVAL)
    assert (period.first, period.last) == (date(2026, 3, 1), date(2026, 3, 31))
    assert period.start.isoformat() == "2026-02-28T16:00:00+00:00" and period.end.isoformat() == "2026-03-31T16:00:00+00:00"
    assert parse_period(None, None, now=EVAL) == APRIL  # the current month (China time)
    for bad, field in ((("2026-3-1", None), "from"), (("2026-03-01", "tomorrow"), "to"), (("2026-02-30", None), "from"),
                       (("2026-03-31", "2026-03-01"), "to")):
        with pytest.raises(PeriodError) as err:
            parse_period(*bad, now=EVAL)
        assert field in err.value.errors


# ---------------------------------------------------------------- GET /api/kpis


def test_api_returns_every_figure_for_the_period(world):
    response = world.clients["manager"].get("/api/kpis?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["period"]["from"] == "2026-03-01" and body["period"]["to"] == "2026-03-31"
    assert body["period"]["time_zone"] == "Asia/Shanghai" and body["period"]["as_of"].startswith("2026-04-01T04:30:00")
    expected = {
        "on_time_service_rate": (3, 6, 0.9), "satisfaction_rate": (3, 5, 0.85), "complaint_rate": (4, 7, 0.03),
        "resolution_rate": (6, 7, 0.9), "reply_24h_rate": (6, 7, 0.9), "resolve_48h_rate": (5, 7, 0.9),
        "parts_on_time_rate": (1, 2, 0.9),
    }
    for code, (numerator, denominator, target) in expected.items():
        got = body[code]
        assert (got["numerator"], got["denominator"], got["target"]) == (numerator, denominator, target), code
        assert got["value"] == round(numerator / denominator, 6), code
    team = world.clients["gm"].get("/api/kpis?from=2026-03-01&to=2026-03-31&team=机修二组").get_json()
    assert (team["on_time_service_rate"]["numerator"], team["on_time_service_rate"]["denominator"]) == (0, 1)
    assert team["reply_24h_rate"]["value"] is None


def test_api_bad_dates_are_400_with_the_field_and_reason(world):
    client = world.clients["auditor"]
    for query, field in (("from=2026-13-01&to=2026-03-31", "from"), ("from=2026-03-01&to=31.03.2026", "to"),
                         ("from=2026-03-31&to=2026-03-01", "to"), ("from=yesterday", "from")):
        response = client.get(f"/api/kpis?{query}")
        assert response.status_code == 400, query
        body = response.get_json()
        assert body["error"] == "invalid period" and field in body["errors"], (query, body)
    assert client.get("/api/kpis").status_code == 200  # no dates: the current month


def test_api_needs_a_token_and_a_managers_role(world):
    assert world.app.test_client().get("/api/kpis").status_code == 401
    response = world.clients["agent"].get("/api/kpis?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 403 and "role" in response.get_json()["errors"]


# ---------------------------------------------------------------- monitoring and the monthly report


def test_monitoring_counts_and_times(ctx):
    from webapp.kpi import monitoring

    rows = {(r["key"], r["version"]): r for r in monitoring.overview()}
    complaints = rows[("complaint_handling", 1)]
    assert (complaints["running"], complaints["completed"], complaints["cancelled"]) == (2, 7, 0)  # C8, C9 open
    repairs = rows[("repair_dispatch", 1)]
    assert repairs["running"] == 7 and repairs["completed"] == 1  # R8 declined and ended
    heat = monitoring.heatmap(complaints["definition_id"])
    assert heat["verify_complaint"]["completed"] == 8 and heat["verify_complaint"]["active"] == 1  # C9 waits
    assert heat["close_case"]["completed"] == 7
    assert heat["confirm_with_customer"]["completed"] == 8  # C4 twice
    assert heat["supervise_overdue"]["active"] == 1  # C8's 48 h watch
    march = monitoring.heatmap(complaints["definition_id"], MARCH.start, MARCH.end)
    assert march["close_case"]["completed"] == 6  # C7 (closed 03-01), C1..C5; C6 closed in April does not count
    waiting = monitoring.oldest_waiting()
    assert all(w["rn"] <= 5 for w in waiting)
    assert [w["business_key"] for w in waiting if w["role"] == "complaint_handler"][:1] == [ctx.numbers["C8"]]
    times = {(t["process_key"], t["bpmn_id"]): t for t in monitoring.task_times(MARCH.start, MARCH.end)}
    verify = times[("complaint_handling", "verify_complaint")]
    # replies in March: C7 11 h, C1 2 h, C2 24 h, C3 24 h 1 s, C4 1 h, C5 1 h, C8 3 h
    assert verify["count"] == 7 and verify["p90_seconds"] == 24 * 3600 + 1
    assert verify["avg_seconds"] == pytest.approx((11 + 2 + 24 + 24 + 1 + 1 + 3) * 3600 / 7 + 1 / 7)
    cases_ = {c["process_key"]: c for c in monitoring.case_times(MARCH.start, MARCH.end)}
    assert cases_["complaint_handling"]["count"] == 6  # C7, C1, C2, C3, C4, C5 completed in March
    assert cases_["complaint_handling"]["max_seconds"] == 50 * 3600


def test_monthly_report_data(ctx):
    from webapp.kpi import report

    data = report.monthly(MARCH, now=EVAL)
    assert data["figures"]["on_time_service_rate"]["denominator"] == 6
    volumes = {v["process_key"]: v for v in data["volumes"]}
    # started in March: C1-C6, C8, C9; completed in March: C7 (closed 03-01), C1-C5
    assert volumes["complaint_handling"]["started"] == 8 and volumes["complaint_handling"]["completed"] == 6
    assert volumes["repair_dispatch"]["started"] == 8 and volumes["parts_return"]["started"] == 4
    assert data["faults"] == [{"fault_category": "body", "orders": 8}]
    reasons = {e["reason"]: e["count"] for e in data["escalations"]}
    assert reasons["reply_24h"] == 1 and reasons["customer_disagrees"] == 1 and reasons["bench_deadline"] == 1


# ---------------------------------------------------------------- the dashboard's pages


def _web(world, username: str, locale: str = "zh_CN"):
    from tests.test_ui_support import WebClient
    from webapp.ui.i18n import compile_catalogs

    compile_catalogs()
    client = WebClient(world.app, username)
    assert client.login(username).status_code == 302
    client.get(f"/lang/{locale}")
    return client


def _pages(world) -> list[str]:
    from webapp.models import Definition

    with world.app.app_context():
        definition_id = db_scalar(Definition)
    march = "from=2026-03-01&to=2026-03-31"
    return [
        f"/dashboard/?{march}", f"/dashboard/?{march}&team=机修一组&grain=week", "/dashboard/?from=2026-02-31",
        f"/dashboard/figures/reply_24h_rate?{march}&outcome=missed", f"/dashboard/figures/complaint_rate?{march}",
        f"/dashboard/figures/on_time_service_rate?{march}&team=机修二组", f"/dashboard/processes?{march}",
        f"/dashboard/processes/{definition_id}?{march}", "/dashboard/report?month=2026-03", "/dashboard/report?month=13",
    ]


def db_scalar(model):
    from webapp.extensions import db

    return db.session.scalar(db.select(model.id).where(model.key == "complaint_handling"))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_dashboard_page_renders_in_both_languages(world, locale):
    from tests.test_ui_i18n import untranslated

    client = _web(world, "manager", locale)
    problems = {}
    for url in _pages(world):
        response = client.get(url)
        assert response.status_code in (200, 400), (url, response.status_code)
        html = response.get_data(as_text=True)
        if found := untranslated(html, locale):
            problems[url] = found
    assert problems == {}


def test_dashboard_shows_the_figures_and_links_to_the_cases_behind_them(world):
    client = _web(world, "gm")
    html = client.get("/dashboard/?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert 'id="kpi-reply_24h_rate"' in html and "85.7 %" in html and "7 件中 6 件达成" in html
    assert "/dashboard/figures/reply_24h_rate?from=2026-03-01&amp;to=2026-03-31&amp;outcome=missed" in html
    assert "vendor/chartjs/chart.umd.min.js" in html and 'data-chart="' in html
    page = client.get("/dashboard/figures/reply_24h_rate?from=2026-03-01&to=2026-03-31&outcome=missed").get_data(as_text=True)
    assert f'href="/cases/{world.ids["C3"]}"' in page and world.numbers["C3"] in page and world.numbers["C1"] not in page
    bad = client.get("/dashboard/?from=2026-02-31&to=2026-03-31")
    assert bad.status_code == 400 and "不是有效日期" in bad.get_data(as_text=True)


def test_who_may_see_the_dashboard(world):
    from tests.test_ui_support import WebClient

    for username in ("manager", "gm", "auditor", "admin"):
        assert _web(world, username).get("/dashboard/").status_code == 200, username
        assert "管理看板" in _web(world, username).get("/").get_data(as_text=True)
    agent = _web(world, "agent")
    assert agent.get("/dashboard/").status_code == 403 and agent.client.get("/dashboard/report.pdf").status_code == 403
    assert "管理看板" not in agent.get("/").get_data(as_text=True)
    assert WebClient(world.app).get("/dashboard/").status_code == 302  # to the sign-in page


def test_heat_map_json(world):
    client = _web(world, "manager")
    from webapp.models import Definition

    with world.app.app_context():
        definition_id = db_scalar(Definition)
    body = client.get(f"/dashboard/processes/{definition_id}/heatmap.json?from=2026-03-01&to=2026-03-31").get_json()
    assert "<bpmn:definitions" in body["xml"]
    assert body["elements"]["verify_complaint"] == {"active": 1, "incidents": 0, "completed": 7}


def test_monthly_report_page_pdf_and_excel(world):
    import io

    from openpyxl import load_workbook

    client = _web(world, "gm")
    html = client.get("/dashboard/report?month=2026-03").get_data(as_text=True)
    assert "月度服务报告 2026-03" in html and "呈总经理" in html and 'data-code="on_time_service_rate"' in html
    pdf = client.client.get("/dashboard/report.pdf?month=2026-03")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"FontFile2" in pdf.data  # the CJK TrueType font is embedded (tests/test_export_injection.py)
    xlsx = client.client.get("/dashboard/report.xlsx?month=2026-03")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames[:2] == ["figures", "on_time_service_rate"]
    figures = {row[1]: row for row in book["figures"].iter_rows(min_row=3, values_only=True)}
    assert figures["reply_24h_rate"][3:5] == (6, 7)
    reply_rows = list(book["reply_24h_rate"].iter_rows(min_row=3, values_only=True))
    assert len(reply_rows) == 8  # the seven decided and C9 pending
    assert {r[0]: r[6] for r in reply_rows}[world.numbers["C3"]] == "未达成"
