"""The month dashboard's figures, checked against the fixture files themselves."""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.cli import DEMO_DIR
from helpdesk.dashboard.queries import (
    TOP_CATEGORIES,
    Count,
    Dashboard,
    bucket_width,
    build_month,
    build_period,
    build_trend,
    percentile,
    trend_window,
)
from helpdesk.extensions import db
from helpdesk.models import Category, Ticket, Unit
from helpdesk.tickets.queries import filtered_tickets

TODAY = date(2023, 10, 10)


def _csv(name: str) -> list[dict]:
    with open(DEMO_DIR / name, encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _september() -> list[dict]:
    return [r for r in _csv("tickets.csv") if r["opened_at"].startswith("2023-09")]


@pytest.fixture
def sept(demo_app) -> Dashboard:
    return build_month("2023-09", TODAY)


def test_september_has_200_citizen_and_20_agency_requests(sept):
    assert sept.block("citizen").total.value == 200
    assert sept.block("agency").total.value == 20
    assert sept.total.value == 220
    assert sept.total.params == {"month": "2023-09"}


def test_each_category_count_equals_the_fixture_rows(sept):
    rows = _september()
    expected = Counter(r["category"] for r in rows)
    expected_prev = Counter(
        r["category"] for r in _csv("tickets.csv") if r["opened_at"].startswith("2023-08")
    )
    seen = {}
    for block in sept.blocks:
        for row in block.rows:
            seen[row.code] = row.count.value
            assert row.previous.value == expected_prev[row.code], row.code
            assert row.change == expected[row.code] - expected_prev[row.code]
            assert row.count.params == {
                "month": "2023-09",
                "audience": block.audience,
                "category": row.code,
            }
        assert block.total.value == sum(r.count.value for r in block.rows)
        assert block.previous_total.value == sum(r.previous.value for r in block.rows)
    assert seen == dict(expected)
    # Every category of the file is shown, in the file's (report) order.
    codes = [r["code"] for r in _csv("categories.csv")]
    assert [row.code for b in sept.blocks for row in b.rows] == codes


def test_small_dimensions_match_the_fixture(sept):
    rows = _september()
    assert {c.key: c.count.value for c in sept.by_channel} == {
        ch: Counter(r["channel"] or "phone" for r in rows)[ch]
        for ch in ("phone", "zalo", "email", "walk_in", "web", "other")
    }
    assert {c.key: c.count.value for c in sept.by_status} == {
        st: Counter(r["status"] or "closed" for r in rows)[st]
        for st in ("open", "in_progress", "waiting", "forwarded", "resolved", "closed")
    }
    by_operator = Counter(r["operator"] for r in rows)
    from helpdesk.auth.models import User

    users = {u.id: u.username for u in db.session.scalars(select(User))}
    assert {users[int(c.key)]: c.count.value for c in sept.by_operator} == dict(by_operator)
    for items in (sept.by_channel, sept.by_status, sept.by_operator, sept.by_level):
        assert sum(c.count.value for c in items) == 220


def test_levels_and_district_rollups_add_up(sept):
    units = {r["code"]: r for r in _csv("units.csv")}
    rows = _september()
    level_counts = Counter(units[r["unit_code"]]["level"] if r["unit_code"] else "" for r in rows)
    assert {c.key: c.count.value for c in sept.by_level if c.count.value} == {
        k: v for k, v in level_counts.items() if v
    }

    def district_code(code: str) -> str | None:
        unit = units[code]
        if unit["level"] == "district":
            return code
        if unit["level"] == "commune":
            return unit["parent_code"]
        return None

    expected = Counter(district_code(r["unit_code"]) for r in rows if r["unit_code"])
    expected.pop(None, None)
    late = Counter(
        district_code(r["unit_code"])
        for r in rows
        if r["unit_code"] and r["category"] == "late_dossier"
    )
    ids = dict(db.session.execute(select(Unit.id, Unit.code)).all())
    got = {ids[r.unit_id]: r.count.value for r in sept.by_district if r.count.value}
    assert got == dict(expected)
    assert {ids[r.unit_id]: r.late.value for r in sept.by_district if r.late.value} == {
        k: v for k, v in late.items() if k
    }
    # Districts (communes included) plus departments make every ticket with a unit.
    level = {c.key: c.count.value for c in sept.by_level}
    assert sum(r.count.value for r in sept.by_district) == level["district"] + level["commune"]
    # Each district's count is the sum of its own units' counts in the per-unit table.
    per_unit = {ids[r.unit_id]: r.count.value for r in sept.units}
    for row in sept.by_district:
        code = ids[row.unit_id]
        members = [code] + [c for c, u in units.items() if u["parent_code"] == code]
        assert row.count.value == sum(per_unit.get(c, 0) for c in members), code


def test_tickets_per_thousand_dossiers_for_two_units_checked_by_hand(sept):
    ids = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    # Sở Nông nghiệp và Phát triển nông thôn: 3 tickets in 2023-09; received 3.038 dossiers.
    unit = next(r for r in sept.units if r.unit_id == ids["SNNPTNT"])
    assert (unit.count.value, unit.received) == (3, 3038)
    assert unit.per_1000 == pytest.approx(0.98749, abs=1e-5)
    assert unit.count.params == {"month": "2023-09", "unit": str(ids["SNNPTNT"])}
    # quận Ngô Quyền with its 13 phường: 14 tickets; 10.840 dossiers received in all.
    district = next(r for r in sept.by_district if r.unit_id == ids["304"])
    assert (district.count.value, district.received) == (14, 10840)
    assert district.per_1000 == pytest.approx(1.29151, abs=1e-5)
    assert district.count.params == {"month": "2023-09", "district": str(ids["304"])}
    # A unit without statistics has no rate (blank is "not reported", never zero).
    assert all(r.per_1000 is None for r in sept.units if r.received is None)


def test_late_dossier_units_sit_beside_their_received_and_online_figures(sept):
    stats = {r["unit_code"]: r for r in _csv("unit_stats.csv") if r["month"] == "2023-09"}
    late = Counter(
        r["unit_code"] for r in _september() if r["category"] == "late_dossier" and r["unit_code"]
    )
    codes = dict(db.session.execute(select(Unit.id, Unit.code)).all())
    assert sept.late_units, "the fixture has late-dossier complaints"
    top = max(late.values())
    assert sept.late_units[0].late.value == top
    values = [r.late.value for r in sept.late_units]
    assert values == sorted(values, reverse=True)
    for row in sept.late_units:
        code = codes[row.unit_id]
        assert row.late.value == late[code]
        assert row.received == int(stats[code]["received"])
        assert row.online == int(stats[code]["online"])
        assert row.late.params["category"] == "late_dossier"


def test_resolution_figures(sept):
    rows = _september()
    done = [r for r in rows if (r["status"] or "closed") in ("resolved", "closed")]
    timed = [r for r in done if r["resolved_at"]]
    same_day = [r for r in timed if r["resolved_at"][:10] == r["opened_at"][:10]]
    res = sept.resolution
    assert res.total.value == 220
    assert res.done.value == len(done)
    assert res.timed == len(timed)
    assert res.same_day.value == len(same_day)
    assert res.same_day_share == pytest.approx(len(same_day) / 220)
    minutes = sorted(
        (datetime.fromisoformat(r["resolved_at"]) - datetime.fromisoformat(r["opened_at"]))
        / timedelta(minutes=1)
        for r in timed
    )
    exact_median = minutes[math.ceil(0.5 * len(minutes)) - 1]
    exact_p90 = minutes[math.ceil(0.9 * len(minutes)) - 1]
    assert abs(res.median_minutes - exact_median) <= res.median_error
    assert abs(res.p90_minutes - exact_p90) <= res.p90_error
    assert res.median_minutes <= res.p90_minutes
    # Overdue as of a date: past the due date and still open.
    overdue = db.session.scalar(
        select(func.count()).select_from(
            filtered_tickets({"month": "2023-09", "overdue": "1"}, TODAY).subquery()
        )
    )
    assert res.overdue.value == overdue
    assert build_month("2023-09", date(2023, 9, 1)).resolution.overdue.value == 0


def test_percentile_from_buckets_is_exact_under_an_hour_and_bounded_above():
    assert percentile([], 0.5) == (None, 0.0)
    assert percentile([(5, 1), (7, 2), (30, 1)], 0.5) == (7.0, 1.0)
    assert percentile([(5, 1), (7, 2), (30, 1)], 0.9) == (30.0, 1.0)
    value, error = percentile([(10, 1), (120, 4)], 0.9)
    assert 120 <= value < 125 and error == 5
    assert [bucket_width(x) for x in (0, 59, 60, 1439, 1440, 14399, 14400, 525600)] == [
        1,
        1,
        5,
        5,
        30,
        30,
        360,
        0,
    ]


def test_resolution_times_bucketed_in_sql_on_long_durations(app):
    """Durations from minutes to months land in the right buckets on both databases."""
    from helpdesk.tickets.duedates import add_working_days

    cat = Category(code="c1", audience="citizen", label="Nhóm", report_phrase="nhóm")
    db.session.add(cat)
    db.session.flush()
    opened = datetime(2024, 3, 4, 8, 0)
    durations = [0, 1, 59, 61, 125, 1500, 2 * 1440 + 7, 20 * 1440, 400 * 1440]
    for i, minutes in enumerate(durations):
        db.session.add(
            Ticket(
                ref=f"HT-2403-{i:04d}",
                opened_at=opened,
                opened_month="2024-03",
                audience="citizen",
                category_id=cat.id,
                status="resolved",
                resolved_at=opened + timedelta(minutes=minutes),
                due_date=add_working_days(opened.date(), 3),
            )
        )
    db.session.commit()
    d = build_month("2024-03", date(2025, 1, 1))
    res = d.resolution
    assert res.timed == len(durations)
    exact = sorted(durations)
    assert abs(res.median_minutes - exact[math.ceil(0.5 * 9) - 1]) <= res.median_error
    assert abs(res.p90_minutes - min(exact[math.ceil(0.9 * 9) - 1], 525600)) <= max(
        res.p90_error, 1
    )
    assert res.same_day.value == 5  # up to 125 minutes after 08:00


def test_trend_window_and_top_categories(sept):
    assert sept.trend_months == trend_window("2023-09")
    assert sept.trend_months[0] == "2022-10" and sept.trend_months[-1] == "2023-09"
    citizen = next(s for s in sept.trend_audience if s.key == "citizen")
    assert citizen.counts[-1] == Count(200, {"month": "2023-09", "audience": "citizen"})
    assert citizen.counts[-2].value == 176  # August 2023 in the fixture
    assert citizen.counts[0].value == 0
    assert len(sept.trend_categories) == TOP_CATEGORIES
    totals = Counter(
        r["category"] for r in _csv("tickets.csv") if r["opened_at"][:7] in ("2023-08", "2023-09")
    )
    shown = [sum(c.value for c in s.counts) for s in sept.trend_categories]
    assert shown == sorted(totals.values(), reverse=True)[:TOP_CATEGORIES]
    assert build_trend("2023-09").categories == sept.trend_categories


def test_an_empty_month_has_zeros_and_no_rates(demo_app):
    d = build_month("2021-01", TODAY)
    assert d.total.value == 0
    assert d.resolution.median_minutes is None
    assert d.resolution.same_day_share is None
    assert d.late_units == ()
    assert all(r.per_1000 is None for r in d.by_district)
    assert not d.stats_reported


def test_bad_month_is_refused(demo_app):
    with pytest.raises(ValueError):
        build_month("2023-13", TODAY)


def test_the_late_dossier_category_can_be_another_one(demo_app):
    rows = _september()
    expected = Counter(r["unit_code"] for r in rows if r["category"] == "dossier_status")
    d = build_month("2023-09", TODAY, late_category="dossier_status")
    assert d.late_category == "Tra cứu trạng thái hồ sơ"
    assert d.late_units[0].late.value == max(v for k, v in expected.items() if k)
    assert {r.late.params["category"] for r in d.late_units} == {"dossier_status"}
    assert build_month("2023-09", TODAY, late_category="none").late_units == ()


@pytest.mark.parametrize("period", ["2023-09", "2023-Q3", "2023"])
def test_month_queries_are_served_by_covering_indexes(demo_app, period):
    """Every ticket query of the dashboard reads an index only, never one row per ticket: for
    a month, a quarter and a year alike."""
    from sqlalchemy import event, text

    statements = []
    kept = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM tickets" in statement:
            statements.append((statement, parameters))
        if "FROM ticket_" in statement:  # ticket_trend_counts, ticket_on_time_units...
            kept.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        build_period(period, TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    # The trend by audience x category and by unit, the dimensions, unit x category, the
    # resolution minutes and the on-time counts (by category, unit, operator) read the kept
    # counts, not the tickets.
    assert len(kept) == 8
    # The unresolved tickets (overdue, late or in time as of now) are counted live.
    assert len(statements) == 1
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("VACUUM ANALYZE tickets"))  # planner statistics, visibility map
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    for statement, parameters in statements:
        if db.engine.dialect.name == "sqlite":
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " | ".join(r[3] for r in rows)
            lines = [p for p in plan.split(" | ") if "tickets" in p]
            assert lines and all(
                "COVERING INDEX ix_tickets_unresolved_month" in p for p in lines
            ), plan
        else:
            # The fixture is tiny: forbid the sequential scan to see which index plan exists.
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN " + statement, parameters)
                plan = " | ".join(r[0] for r in cursor.fetchall())
            assert "Index Only Scan using ix_tickets_unresolved_month" in plan, plan


def test_sql_buckets_are_the_documented_buckets(app):
    """The histogram is bucketed by the database (_bucket_expression): the lower bounds
    _BUCKETS describes, at every width's edges, for negative times and past a year."""
    from sqlalchemy import Integer, literal

    from helpdesk.dashboard.queries import _BUCKETS, _OVERFLOW, _bucket_expression

    def bucket_of(minutes: int) -> int:  # Python floors, also below zero
        for limit, width in _BUCKETS:
            if minutes < limit:
                return (minutes // width) * width
        return _OVERFLOW

    edges = [-525600, -61, -1, 0, 1, 59, 60, 61, 64, 65, 1439, 1440, 1441, 1469, 1470, 14399]
    edges += [14400, 14401, 14759, 14760, 525599, 525600, 525601, 10**7]
    minutes = literal(0, Integer)
    for value in edges:
        got = db.session.scalar(select(_bucket_expression(minutes)), {minutes.key: value})
        assert got == bucket_of(value), value
