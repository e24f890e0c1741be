"""The month dashboard in a database that lived through the 2025 reorganisation (``eras_app``):
the month's own units and levels, a trend that runs across the change, drill-downs and queries."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.cli import DEMO_DIRS
from helpdesk.dashboard.queries import build_month, latest_month, trend_window
from helpdesk.extensions import db
from helpdesk.models import Category, Ticket, Unit, User
from helpdesk.tickets.queries import filtered_tickets
from helpdesk.units.periods import CodeIndex, units_in

from .conftest import login
from .test_dashboard_views import LINK, _chosen, _counts, _list_total

TODAY = date(2025, 9, 10)
AUGUST = "2025-08"


@pytest.fixture
def supervisor(eras_client):
    assert login(eras_client, "thang.vd", "Thang-Demo-2023").status_code == 302
    return eras_client


def _page(client, month: str) -> str:
    response = client.get(f"/tong-hop/{month}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(body: str, heading_id: str) -> str | None:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}">(.*?)</section>', body, re.S)
    return match.group(1) if match else None


def _unit(code: str, day: date) -> Unit:
    return CodeIndex.load().on(code, day)


def _add_tickets(month_day: date, units: list[Unit | None], code: str = "dossier_status") -> None:
    category = db.session.scalar(select(Category).where(Category.code == code))
    operator = db.session.scalar(select(User).where(User.role == "operator").order_by(User.id))
    opened = datetime.combine(month_day, datetime.min.time()).replace(hour=9)
    start = db.session.scalar(select(func.count()).select_from(Ticket))
    for i, unit in enumerate(units):
        db.session.add(
            Ticket(
                ref=f"HT-{opened:%y%m}-8{start + i:04d}",
                opened_at=opened + timedelta(minutes=i),
                opened_month=f"{opened:%Y-%m}",
                audience=category.audience,
                category_id=category.id,
                unit_id=unit.id if unit else None,
                channel="phone",
                status="open",
                operator_id=operator.id,
            )
        )
    db.session.commit()


# -- the month's own units and levels ---------------------------------------------------------


def test_august_2025_has_no_district_and_names_the_month_s_levels(supervisor):
    body = _page(supervisor, AUGUST)
    assert "Tổng hợp công tác hỗ trợ tháng 8/2025" in body
    assert _section(body, "h-district") is None
    assert "quận, huyện" not in body.lower()
    assert "thị trấn" not in body
    levels = _section(body, "h-level")
    tbody = levels.split("<tbody>")[1].split("</tbody>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>', tbody) == [
        "Cấp Sở, ngành",
        "Cấp xã, phường, đặc khu",
    ]
    assert 'href="/yeu-cau/?month=2025-08&amp;level=commune">229</a>' in levels
    assert 'href="/yeu-cau/?month=2025-08&amp;level=department">130</a>' in levels
    # No district table to download either; the other tables are offered.
    assert "xuat/quan-huyen" not in body
    assert supervisor.get("/tong-hop/2025-08/xuat/quan-huyen.csv").status_code == 404
    assert supervisor.get("/tong-hop/2025-08/xuat/don-vi.csv").status_code == 200
    assert supervisor.get("/tong-hop/2023-09/xuat/quan-huyen.csv").status_code == 200


def test_august_2025_lists_only_the_month_s_units_named_without_a_district(eras_app):
    d = build_month(AUGUST, TODAY)
    month_units = {u.id: u for u in units_in(AUGUST).units}
    assert d.by_district == ()
    assert [i.level for i in d.levels] == ["department", "commune"]
    assert {r.unit_id for r in d.units} <= set(month_units)
    assert {r.unit_id for r in d.late_units} <= set(month_units)
    communes = [r for r in d.units if r.level == "commune"]
    assert communes and all("(" not in r.name for r in communes)
    assert all(r.name == month_units[r.unit_id].full_name for r in d.units)
    # Every ticket of the month counted once by level (all have a unit of the month).
    assert sum(c.count.value for c in d.by_level) == d.total.value == 359


def test_tickets_per_1000_dossiers_use_the_unit_of_that_month(eras_app):
    """Code 11311 is phường Minh Khai until 30/6/2025 and phường Hồng Bàng since: August's row
    is the new phường with August's figures."""
    folder = DEMO_DIRS[-1]
    with open(folder / "unit_stats.csv", encoding="utf-8-sig") as fh:
        received = {
            r["unit_code"]: int(r["received"])
            for r in csv.DictReader(fh)
            if r["month"] == AUGUST and r["received"]
        }
    d = build_month(AUGUST, TODAY)
    hong_bang = _unit("11311", date(2025, 8, 1))
    assert hong_bang.name == "Hồng Bàng" and hong_bang.valid_from == date(2025, 7, 1)
    row = next(r for r in d.units if r.code == "11311")
    assert (row.unit_id, row.name) == (hong_bang.id, "phường Hồng Bàng")
    assert row.received == received["11311"]
    for r in d.units:
        assert r.received == received.get(r.code), r.code
        if r.received:
            assert r.per_1000 == pytest.approx(r.count.value * 1000 / r.received)
    assert d.stats_reported


def _district_table(client, month: str) -> list[str]:
    section = _section(_page(client, month), "h-district")
    assert section is not None
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    return [re.sub(r'<a href="[^"]*">|</a>', "", r) for r in rows]


def test_september_2023_keeps_its_districts_as_in_the_2023_only_database(app_factory):
    """The same 15 districts, counts, late complaints, dossiers and rates as before 2025."""
    tables = {}
    for kind in ("demo", "eras"):
        client = app_factory(kind).test_client()
        assert login(client, "thang.vd", "Thang-Demo-2023").status_code == 302
        body = _page(client, "2023-09")
        tables[kind] = (
            _district_table(client, "2023-09"),
            _section(body, "h-level"),
            re.findall(r"Theo quận, huyện.*?</h2>", body),
        )
        db.session.remove()
    assert tables["eras"] == tables["demo"]
    districts, levels, heading = tables["eras"]
    assert len(districts) == 1 + 15  # the header row and the 15 districts
    assert 'quận Ngô Quyền</th><td class="num">14</td>' in "".join(districts)
    assert "Cấp quận, huyện" in levels and "Cấp xã, phường</th>" in levels
    assert heading == [
        'Theo quận, huyện <span class="muted">(gồm các xã, phường, thị trấn)</span></h2>'
    ]


def test_a_ticket_on_a_unit_outside_the_month_is_counted_without_a_crash(eras_app):
    """Imported data may name an ended unit: an old commune still counts in its level (as the
    list's level filter counts it), an ended district's level goes to "Chưa rõ đơn vị"."""
    day = date(2025, 8, 20)
    old_commune = _unit("11311", date(2025, 6, 1))  # phường Minh Khai, ended 30/6/2025
    old_district = _unit("304", date(2025, 6, 1))  # quận Ngô Quyền
    _add_tickets(day, [old_commune, old_district, old_district, None])
    d = build_month(AUGUST, TODAY)
    levels = {c.key: c for c in d.by_level}
    assert levels["commune"].count.value == 229 + 1
    assert levels[""].label == "Chưa rõ đơn vị"
    assert levels[""].count.value == 3 and levels[""].count.params is None
    assert sum(c.count.value for c in d.by_level) == d.total.value == 359 + 4
    assert old_commune.id not in {r.unit_id for r in d.units}
    assert d.by_district == ()
    _assert_every_count_is_the_list_count(d)


# -- the 12-month trend across the change -----------------------------------------------------


def test_the_trend_runs_across_the_reorganisation(eras_app):
    # Tickets in June 2025, the last month with districts: one per level.
    june = date(2025, 6, 16)
    _add_tickets(
        june,
        [_unit(c, june) for c in ("SYT", "304", "11311", "11311")],
    )
    d = build_month(AUGUST, TODAY)
    months = trend_window(AUGUST)
    assert d.trend_months == months and months[0] == "2024-09"
    # The city total continues month by month: a value in every month.
    assert all(c is not None for c in d.trend_total.counts)
    assert d.trend_total.values()[-3:] == (4, 0, 359)
    assert [c.params for c in d.trend_total.counts] == [{"month": m} for m in months]
    series = {s.key: s for s in d.trend_levels}
    assert list(series) == ["department", "district", "commune"]
    assert series["commune"].label == "Cấp xã, phường, đặc khu"
    assert series["department"].label == "Cấp Sở, ngành"
    assert series["district"].label == "Cấp huyện (đến tháng 6/2025)"
    # No district after June 2025: a gap (None), never a 0.
    district = series["district"].values()
    assert district[-3:] == (1, None, None)
    assert all(v is not None for v in district[:-2])
    assert series["commune"].values()[-3:] == (2, 0, 229)
    assert series["department"].values()[-3:] == (1, 0, 130)
    june_count = series["district"].counts[-3]
    assert june_count.params == {"month": "2025-06", "level": "district"}
    # The levels of a month add up to its tickets with a unit.
    for i, m in enumerate(months):
        values = [s.values()[i] or 0 for s in d.trend_levels]
        assert sum(values) == d.trend_total.values()[i], m
    _assert_every_count_is_the_list_count(d)
    # A month before the change still has its three levels, named as then.
    june_d = build_month("2025-06", TODAY)
    assert [s.label for s in june_d.trend_levels] == [
        "Cấp Sở, ngành",
        "Cấp quận, huyện",
        "Cấp xã, phường",  # xã, phường and thị trấn, as the 2023 report heads it
    ]
    assert all(c is not None for s in june_d.trend_levels for c in s.counts)


def test_trend_page_table_chart_and_export_show_the_gap(supervisor):
    body = _page(supervisor, AUGUST)
    trend = _section(body, "h-trend")
    assert "Cấp huyện (đến tháng 6/2025)" in trend
    assert trend.count('class="num gap') == 2  # July and August have no district
    assert '<img src="/tong-hop/2025-08/bieu-do/cap-don-vi.svg?d=' in trend
    signed = html.unescape(re.search(r'<img src="([^"]*/cap-don-vi\.svg\?d=[^"]+)"', trend)[1])
    drawn = supervisor.get(signed)
    plain = supervisor.get("/tong-hop/2025-08/bieu-do/cap-don-vi.svg")
    assert drawn.status_code == plain.status_code == 200
    assert drawn.data == plain.data and drawn.mimetype == "image/svg+xml"
    assert "immutable" in drawn.headers["Cache-Control"]

    response = supervisor.get("/tong-hop/2025-08/xuat/xu-huong.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    assert header[:2] == ["Tháng", "Tổng số yêu cầu"]
    district = header.index("Cấp huyện (đến tháng 6/2025)")
    commune = header.index("Cấp xã, phường, đặc khu")
    assert [r[0] for r in rows[1:]][-3:] == ["6/2025", "7/2025", "8/2025"]
    assert [r[district] for r in rows[1:]][-3:] == ["0", "", ""]
    assert rows[-1][1] == "359" and rows[-1][commune] == "229"
    sheet = supervisor.get("/tong-hop/2025-08/xuat/xu-huong.xlsx")
    assert sheet.status_code == 200


# -- drill-downs, default month, query count ---------------------------------------------------


def _assert_every_count_is_the_list_count(d) -> None:
    checked = 0
    for path, count in _counts(d):
        if count.params is None:
            continue
        stmt = filtered_tickets(count.params, TODAY).subquery()
        assert db.session.scalar(select(func.count()).select_from(stmt)) == count.value, path
        checked += 1
    assert checked > 100


def test_every_count_of_august_equals_the_ticket_list_filter(eras_app):
    _assert_every_count_is_the_list_count(build_month(AUGUST, TODAY))


def test_every_number_of_the_august_page_links_to_exactly_its_tickets(supervisor):
    body = _page(supervisor, AUGUST)
    links: dict[str, set[int]] = {}
    for href, text in LINK.findall(body):
        if re.fullmatch(r"[\d.]+", text):
            links.setdefault(html.unescape(href), set()).add(int(text.replace(".", "")))
    assert any("level=commune" in url for url in links)
    assert len(links) > 60
    for url, values in links.items():
        assert len(values) == 1, (url, values)
        assert _list_total(supervisor, url) == values.pop(), url


def test_the_dashboard_opens_on_the_newest_month_with_data(supervisor):
    assert latest_month("2025-12") == AUGUST
    assert latest_month("2025-07") == "2025-07"  # July 2025 has statistics, no tickets
    assert latest_month("2025-06") == "2023-09"
    assert latest_month("2023-07") is None
    body = supervisor.get("/tong-hop/").get_data(as_text=True)
    assert "Tổng hợp công tác hỗ trợ tháng 8/2025" in body
    assert _chosen(body) == ("08", "2025")


def test_query_count_is_the_same_in_every_era_and_does_not_grow(supervisor, count_queries):
    def page_queries(month: str) -> int:
        db.session.remove()
        with count_queries() as counter:
            _page(supervisor, month)
        return counter.count

    august, september = page_queries(AUGUST), page_queries("2023-09")
    assert august == september <= 15
    june = date(2025, 6, 10)
    _add_tickets(june, [_unit("304", june), _unit("SYT", june)] * 20)
    _add_tickets(date(2025, 8, 11), [_unit("11311", date(2025, 8, 1)), None] * 20)
    assert page_queries(AUGUST) == page_queries("2025-06") == august
