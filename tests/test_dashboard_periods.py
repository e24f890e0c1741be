"""The dashboard of any period (month, quarter, 6 and 9 months, year) over both unit eras
(``eras_app``: 2023-08/09 tickets and statistics; 2025-07 statistics only; 2025-08 both), its
drill-downs, exports, charts and query count; bad and future periods; the empty-chart bug and
the default month."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from helpdesk.cli import DEMO_DIRS
from helpdesk.dashboard.queries import (
    build_month,
    build_period,
    latest_month,
    period_params,
    trend_window,
)
from helpdesk.dashboard.tables import TABLES
from helpdesk.extensions import db
from helpdesk.models import Category, Ticket, Unit
from helpdesk.periods import ReportPeriod
from helpdesk.stats.models import UnitStat
from helpdesk.timeutil import month_of, next_month, previous_month, today_local
from helpdesk.units.periods import CodeIndex

from .conftest import login
from .test_dashboard_eras import _add_tickets, _assert_every_count_is_the_list_count
from .test_dashboard_views import LINK, _chosen, _list_total

TODAY = date(2025, 9, 10)
CHART_NAMES = ("doi-tuong", "nhom", "cap-don-vi")


@pytest.fixture
def supervisor(eras_client):
    assert login(eras_client, "thang.vd", "Thang-Demo-2023").status_code == 302
    return eras_client


def _get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _section(body: str, heading_id: str) -> str | None:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}">(.*?)</section>', body, re.S)
    return match.group(1) if match else None


def _demo_rows(name: str) -> list[dict]:
    rows = []
    for folder in DEMO_DIRS:
        with open(folder / name, encoding="utf-8-sig") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def _assert_links_list_exactly_their_tickets(client, body: str, at_least: int) -> dict:
    """Every number linked to the ticket list is the list's own count (the month dashboard's
    drill-down check, run over any period)."""
    links: dict[str, set[int]] = {}
    for href, text in LINK.findall(body):
        if re.fullmatch(r"[\d.]+", text):
            links.setdefault(html.unescape(href), set()).add(int(text.replace(".", "")))
    assert len(links) > at_least
    for url, values in links.items():
        assert len(values) == 1, (url, values)  # a list URL always stands for one number
        assert _list_total(client, url) == values.pop(), url
    return links


# -- a quarter: 2025-Q3 (July: statistics only; August: both; September: nothing) -------------


def test_quarter_2025_q3_counts_its_months_against_the_quarter_before(eras_app):
    d = build_period("2025-Q3", TODAY)
    assert d.period.months == ("2025-07", "2025-08", "2025-09")
    assert d.previous.code == "2025-Q2"
    assert d.total.value == 359  # every ticket of August, none in July or September
    assert d.total.params == {"from": "2025-07-01", "to": "2025-09-30"}
    assert d.previous_total.value == 0
    assert d.previous_total.params == {"from": "2025-04-01", "to": "2025-06-30"}
    august = build_month("2025-08", TODAY)
    assert [(r.code, r.count.value) for b in d.blocks for r in b.rows] == [
        (r.code, r.count.value) for b in august.blocks for r in b.rows
    ]
    # After the reorganisation only: two levels, no district table.
    assert [i.level for i in d.levels] == ["department", "commune"]
    assert d.by_district == ()
    assert d.level_label("commune") == "Cấp xã, phường, đặc khu"
    assert d.district_phrase == ""
    # Statistics of July and August are summed; September has none yet.
    assert d.stats_months == ("2025-07", "2025-08")
    assert d.missing_stats_months == ("2025-09",)
    received: dict[str, int] = defaultdict(int)
    for r in _demo_rows("unit_stats.csv"):
        if r["month"] in ("2025-07", "2025-08") and r["received"]:
            received[r["unit_code"]] += int(r["received"])
    assert d.units and all(r.received == received.get(r.code) for r in d.units)
    hong_bang = next(r for r in d.units if r.code == "11311")
    assert hong_bang.name == "phường Hồng Bàng" and hong_bang.received > 0
    assert hong_bang.per_1000 == pytest.approx(hong_bang.count.value * 1000 / hong_bang.received)
    # The trend: the 12 months ending with September.
    assert d.trend_months == trend_window("2025-09")
    _assert_every_count_is_the_list_count(d)


def test_quarter_page_links_every_number_to_exactly_its_tickets(supervisor):
    body = _get(supervisor, "/tong-hop/2025-Q3")
    assert "<h1>Tổng hợp công tác hỗ trợ quý III/2025</h1>" in body
    assert _chosen(body) == ("Q3", "2025")
    assert 'href="/yeu-cau/?from=2025-07-01&amp;to=2025-09-30">359</a>' in body
    matrix = _section(body, "h-matrix")
    assert '<th scope="col" class="num">Quý III/2025</th>' in matrix
    assert '<th scope="col" class="num">Quý II/2025</th>' in matrix
    assert "so với quý II/2025" in body
    assert "Chưa có số liệu hồ sơ tháng 9/2025" in body
    # A quarter's dossiers are a sum of months: no single statistics page to link to.
    assert "/so-lieu/" not in _section(body, "h-units")
    # The prior and next quarters, the trend's three months marked.
    assert 'href="/tong-hop/2025-Q2" rel="prev"' in body
    assert 'href="/tong-hop/2025-Q4" rel="next"' in body
    trend = _section(body, "h-trend")
    assert len(re.findall(r'<tr class="current">', trend)) == 3
    links = _assert_links_list_exactly_their_tickets(supervisor, body, 60)
    # The quarter and the one before by dates; the trend's months by month.
    spans = Counter(re.search(r"\?(from=[\d-]+&to=[\d-]+|month=[\d-]+)", url)[1] for url in links)
    assert set(spans) == {
        "from=2025-07-01&to=2025-09-30",
        "from=2025-04-01&to=2025-06-30",
        *(f"month={m}" for m in trend_window("2025-09")),
    }


# -- a year that spans both structures: 2025 -------------------------------------------------


def test_year_2025_has_the_units_of_both_structures(eras_app):
    # June 2025, before the change: a department, quận Ngô Quyền and phường Minh Khai.
    june = date(2025, 6, 16)
    index = CodeIndex.load()
    old = [index.on(code, june) for code in ("SYT", "303", "11311", "11311")]
    _add_tickets(june, old)
    d = build_period("2025", TODAY)
    assert d.period.months == tuple(f"2025-{m:02d}" for m in range(1, 13))
    assert d.previous.code == "2024" and d.previous_total.value == 0
    assert d.total.value == 359 + 4
    assert d.total.params == {"from": "2025-01-01", "to": "2025-12-31"}
    # Units existing on some day of 2025: districts until 30/6, the four commune kinds.
    assert [i.level for i in d.levels] == ["department", "district", "commune"]
    assert d.level_label("commune") == "Cấp xã, phường, đặc khu"
    assert d.commune_phrase == "xã, phường, thị trấn, đặc khu"
    assert d.district_phrase == "xã, phường, thị trấn"  # no đặc khu was ever in a district
    assert d.by_district, "districts existed until 30/6/2025"
    hong_bang = next(r for r in d.by_district if r.code == "303")
    assert hong_bang.count.value == 3  # quận Hồng Bàng and its phường Minh Khai
    assert hong_bang.count.params == {
        "from": "2025-01-01",
        "to": "2025-12-31",
        "district": str(old[1].id),
    }
    levels = {c.key: c.count.value for c in d.by_level}
    assert levels == {"department": 130 + 1, "district": 1, "commune": 229 + 2}
    # The code 11311 is two units in 2025: phường Minh Khai (to 30/6), phường Hồng Bàng (from 1/7).
    rows = {r.unit_id: r for r in d.units if r.code == "11311"}
    assert len(rows) == 2
    minh_khai = rows.pop(old[2].id)
    assert (minh_khai.name, minh_khai.count.value) == ("phường Minh Khai (quận Hồng Bàng)", 2)
    assert minh_khai.received is None  # no 2025 statistics before July
    (new_hong_bang,) = rows.values()
    assert new_hong_bang.name == "phường Hồng Bàng" and new_hong_bang.received > 0
    # The trend is the year itself; a gap for the district level after June.
    assert d.trend_months == trend_window("2025-12")
    district = next(s for s in d.trend_levels if s.key == "district")
    assert district.values()[5] == 1 and district.values()[6:] == (None,) * 6
    _assert_every_count_is_the_list_count(d)


def test_year_page_links_and_exports(supervisor):
    body = _get(supervisor, "/tong-hop/2025")
    assert "<h1>Tổng hợp công tác hỗ trợ năm 2025</h1>" in body
    assert _chosen(body) == ("nam", "2025")
    assert _section(body, "h-district") is not None
    assert 'href="/tong-hop/2024" rel="prev"' in body and 'href="/tong-hop/2026" rel="next"' in body
    assert "Xu hướng 12 tháng đến tháng 12/2025" in body
    _assert_links_list_exactly_their_tickets(supervisor, body, 60)
    for slug in TABLES:
        for kind in ("csv", "xlsx"):
            url = f"/tong-hop/2025/xuat/{slug}.{kind}"
            assert f'href="{url}"' in body
            response = supervisor.get(url)
            assert response.status_code == 200, url
            assert (
                f'filename="tong-hop-2025-{slug}.{kind}"' in response.headers["Content-Disposition"]
            )
    rows = _csv(supervisor, "/tong-hop/2025/xuat/doi-tuong-nhom.csv")
    assert rows[0] == ["Đối tượng", "Mã nhóm", "Nhóm yêu cầu", "Năm 2025", "Năm 2024", "Thay đổi"]
    assert rows[-1][:6] == ["Tổng", "", "", "359", "0", "359"]
    trend = _csv(supervisor, "/tong-hop/2025/xuat/xu-huong.csv")
    assert [r[0] for r in trend[1:]] == [f"{m}/2025" for m in range(1, 13)]
    sheet = load_workbook(io.BytesIO(supervisor.get("/tong-hop/2025/xuat/kenh.xlsx").data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[-1][:2] == ("Tổng", 359)


def _csv(client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# -- 2023-Q3: August and September 2023 -------------------------------------------------------


def test_quarter_2023_q3_is_the_sum_of_its_months(eras_app):
    q = build_period("2023-Q3", TODAY)
    months = [build_month(m, TODAY) for m in ("2023-07", "2023-08", "2023-09")]
    tickets = [r for r in _demo_rows("tickets.csv") if r["opened_at"][:7] in ("2023-08", "2023-09")]
    assert q.total.value == len(tickets) == 199 + 220
    assert q.previous.code == "2023-Q2" and q.previous_total.value == 0
    expected = Counter(r["category"] for r in tickets)
    assert {r.code: r.count.value for b in q.blocks for r in b.rows if r.count.value} == dict(
        expected
    )

    def summed(attr: str) -> dict:
        total: Counter = Counter()
        for m in months:
            for item in getattr(m, attr):
                total[item.key] += item.count.value
        return {k: v for k, v in total.items() if v}

    for attr in ("by_channel", "by_status", "by_operator", "by_level"):
        got = {i.key: i.count.value for i in getattr(q, attr) if i.count.value}
        assert got == summed(attr), attr
    per_unit: Counter = Counter()
    received: dict[int, int] = defaultdict(int)
    for m in months:
        for r in m.units:
            per_unit[r.unit_id] += r.count.value
            if r.received is not None:
                received[r.unit_id] += r.received
    assert {r.unit_id: r.count.value for r in q.units if r.count.value} == {
        k: v for k, v in per_unit.items() if v
    }
    assert {r.unit_id: r.received for r in q.units if r.received is not None} == dict(received)
    for month_d in months:
        assert {r.unit_id for r in q.by_district} >= {r.unit_id for r in month_d.by_district}
    assert sum(r.count.value for r in q.by_district) == sum(
        r.count.value for m in months for r in m.by_district
    )
    assert q.resolution.done.value == sum(m.resolution.done.value for m in months)
    assert q.resolution.same_day.value == sum(m.resolution.same_day.value for m in months)
    assert q.resolution.timed == sum(m.resolution.timed for m in months)
    assert q.stats_months == ("2023-08", "2023-09")
    assert q.missing_stats_months == ("2023-07",)
    # Before the reorganisation: three levels, the 2023 names.
    assert [i.label for i in q.levels] == ["Cấp Sở, ngành", "Cấp quận, huyện", "Cấp xã, phường"]
    _assert_every_count_is_the_list_count(q)


def test_quarter_2023_q3_page_and_the_next_quarter_compared_with_it(supervisor):
    body = _get(supervisor, "/tong-hop/2023-Q3")
    assert "Tổng hợp công tác hỗ trợ quý III/2023" in body
    assert 'href="/yeu-cau/?from=2023-07-01&amp;to=2023-09-30">419</a>' in body
    assert "Chưa có số liệu hồ sơ tháng 7/2023" in body
    # The districts' dossiers are August's and September's added up: plain numbers.
    districts = _section(body, "h-district")
    assert "quận Ngô Quyền" in districts and "/so-lieu/" not in districts
    _assert_links_list_exactly_their_tickets(supervisor, body, 80)

    d = build_period("2023-Q4", TODAY)
    assert d.total.value == 0 and d.previous_total.value == 419
    assert d.previous_total.params == {"from": "2023-07-01", "to": "2023-09-30"}
    late = next(r for b in d.blocks for r in b.rows if r.code == "late_dossier")
    assert late.change == -late.previous.value < 0
    _assert_every_count_is_the_list_count(d)
    body = _get(supervisor, "/tong-hop/2023-Q4")
    assert "so với quý III/2023" in body
    _assert_links_list_exactly_their_tickets(supervisor, body, 20)


def test_half_and_nine_months_compare_with_the_run_of_months_before(eras_app):
    h2 = build_period("2023-H2", TODAY)
    assert h2.previous.code == "2023-H1" and h2.total.value == 419
    assert h2.total.params == {"from": "2023-07-01", "to": "2023-12-31"}
    nine = build_period("2025-9M", TODAY)
    assert nine.period.label == "9 tháng năm 2025"
    # Nine months before January 2025: April to December 2024, by dates.
    assert nine.previous.months[0] == "2024-04" and nine.previous.months[-1] == "2024-12"
    assert nine.previous_total.params == {"from": "2024-04-01", "to": "2024-12-31"}
    assert nine.total.value == 359 and nine.trend_months[-1] == "2025-09"
    assert nine.by_district  # January to June 2025 had districts
    _assert_every_count_is_the_list_count(nine)


def test_period_params_are_the_list_s_month_or_dates():
    assert period_params(ReportPeriod.parse("2025-08")) == {"month": "2025-08"}
    assert period_params(ReportPeriod.parse("2024-Q1")) == {
        "from": "2024-01-01",
        "to": "2024-03-31",
    }
    assert period_params(ReportPeriod.parse("2024-H1")) == {
        "from": "2024-01-01",
        "to": "2024-06-30",
    }


# -- charts per period, the query count ------------------------------------------------------


def test_charts_of_a_period_end_with_its_last_month(supervisor):
    body = _get(supervisor, "/tong-hop/2025-Q3")
    for chart in CHART_NAMES:
        signed = html.unescape(
            re.search(rf'<img src="(/tong-hop/2025-Q3/bieu-do/{chart}\.svg\?d=[^"]+)"', body)[1]
        )
        drawn, plain = (
            supervisor.get(signed),
            supervisor.get(f"/tong-hop/2025-Q3/bieu-do/{chart}.svg"),
        )
        assert drawn.status_code == plain.status_code == 200
        assert drawn.data == plain.data and "immutable" in drawn.headers["Cache-Control"]
        # The same 12 months as September's own chart.
        assert plain.data == supervisor.get(f"/tong-hop/2025-09/bieu-do/{chart}.svg").data
        # A token signed for another period is not used.
        token = signed.split("?d=")[1]
        other = supervisor.get(f"/tong-hop/2025-09/bieu-do/{chart}.svg?d={token}")
        assert "immutable" not in other.headers["Cache-Control"]


def test_query_count_is_the_same_for_every_period_length(supervisor, count_queries):
    def page_queries(code: str) -> int:
        db.session.remove()
        with count_queries() as counter:
            _get(supervisor, f"/tong-hop/{code}")
        return counter.count

    month = page_queries("2025-08")
    assert month <= 15
    assert [page_queries(c) for c in ("2025-Q3", "2025-H2", "2025-9M", "2025", "2023-Q3")] == [
        month
    ] * 5
    # More tickets in more months change nothing.
    for day in (date(2025, 2, 3), date(2025, 5, 6), date(2025, 11, 7)):
        _add_tickets(day, [CodeIndex.load().on("SYT", day)] * 3 + [None])
    assert page_queries("2025") == page_queries("2025-Q4") == month


# -- bad input ---------------------------------------------------------------------------------


def _error(body: str) -> str:
    match = re.search(r'<p class="error" id="period-err" role="alert">([^<]*)</p>', body)
    assert match, body[:2000]
    return html.unescape(match[1])


@pytest.mark.parametrize(
    ("url", "message", "field", "chosen"),
    [
        ("/tong-hop/2025-Q5", "“2025-Q5” không phải kỳ báo cáo", "nam", None),
        ("/tong-hop/thang-9", "“thang-9” không phải kỳ báo cáo", "nam", None),
        ("/tong-hop/2025-13", "“2025-13”: tháng phải từ 01 đến 12", "nam", None),
        ("/tong-hop/?month=2023-13", "“2023-13”: tháng phải từ 01 đến 12", "nam", None),
        ("/tong-hop/?period=quy-3", "“quy-3” không phải kỳ báo cáo", "nam", None),
        ("/tong-hop/?ky=Q3&nam=", "Năm phải gồm 4 chữ số", "nam", ("Q3", "")),
        ("/tong-hop/?ky=Q3&nam=25", "Năm phải gồm 4 chữ số", "nam", ("Q3", "25")),
        ("/tong-hop/?ky=Q9&nam=2025", "Chọn một kỳ trong danh sách.", "ky", ("", "2025")),
        ("/tong-hop/?ky=Q3&nam=1999", "năm 1999 nằm ngoài 2000–2100", "nam", ("Q3", "1999")),
    ],
)
def test_a_malformed_period_is_a_400_with_the_form_and_the_reason(
    supervisor, url, message, field, chosen
):
    body = _get(supervisor, url, 400)
    assert message in _error(body)
    assert "Không mở được trang tổng hợp của kỳ này" in body
    # The form again, its fields labelled, the one at fault marked and described.
    assert (
        '<label for="period-ky">Kỳ</label>' in body
        and '<label for="period-nam">Năm</label>' in body
    )
    marked = re.search(
        r'id="period-(ky|nam)"[^>]*aria-invalid="true" aria-describedby="period-err"', body
    )
    assert marked and marked[1] == field
    if chosen is not None:
        assert _chosen(body) == chosen
    assert 'href="/tong-hop/"' in body


def test_a_future_period_is_refused_with_its_name(supervisor):
    today = today_local()
    next_year = today.year + 1
    body = _get(supervisor, f"/tong-hop/{next_year}", 400)
    assert _error(body) == (
        f"Năm {next_year} chưa bắt đầu (hôm nay là ngày {today:%d/%m/%Y}): "
        "chưa có số liệu để tổng hợp."
    )
    assert _chosen(body) == ("nam", str(next_year))
    body = _get(supervisor, f"/tong-hop/?ky=Q1&nam={next_year}", 400)
    assert _error(body).startswith(f"Quý I/{next_year} chưa bắt đầu")
    coming = next_month(month_of(today))
    year, mon = coming.split("-")
    assert _error(_get(supervisor, f"/tong-hop/{coming}", 400)).startswith(
        f"Tháng {int(mon)}/{year} chưa bắt đầu"
    )
    # The current period has started: it opens (its figures so far), with no link to the next.
    body = _get(supervisor, f"/tong-hop/{today.year}")
    assert f"Tổng hợp công tác hỗ trợ năm {today.year}" in body and 'rel="next"' not in body
    # Exports and charts of such periods do not exist.
    for code in (str(next_year), "2025-Q5", "abc"):
        assert supervisor.get(f"/tong-hop/{code}/xuat/kenh.csv").status_code == 404
        assert supervisor.get(f"/tong-hop/{code}/bieu-do/nhom.svg").status_code == 404
    assert supervisor.get("/tong-hop/2025-Q3/xuat/quan-huyen.csv").status_code == 404


def test_the_form_and_query_parameters_lead_to_the_period_s_address(supervisor):
    for query, code in (
        ("?ky=Q3&nam=2025", "2025-Q3"),
        ("?ky=09&nam=2023", "2023-09"),
        ("?ky=H1&nam=2025", "2025-H1"),
        ("?ky=9M&nam=2025", "2025-9M"),
        ("?ky=nam&nam=2025", "2025"),
        ("?period=2025-Q3", "2025-Q3"),
        ("?period=%202025-q3%20", "2025-Q3"),
        ("?month=2025-08", "2025-08"),
    ):
        response = supervisor.get("/tong-hop/" + query)
        assert response.status_code == 302, query
        assert response.headers["Location"].endswith(f"/tong-hop/{code}"), query
    response = supervisor.get("/tong-hop/2025-q3")
    assert response.status_code == 302 and response.headers["Location"].endswith("/2025-Q3")
    for code, label in (
        ("2025-H1", "6 tháng đầu năm 2025"),
        ("2025-H2", "6 tháng cuối năm 2025"),
        ("2025-9M", "9 tháng năm 2025"),
    ):
        assert f"Tổng hợp công tác hỗ trợ {label}" in _get(supervisor, f"/tong-hop/{code}")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.one_of(
        st.text(max_size=12),
        st.from_regex(r"\A(19|20|21)\d\d(-(Q\d|H\d|\d\d|9M|9m))?\Z"),
    )
)
def test_any_period_text_is_a_page_a_redirect_or_a_400(supervisor, text):
    response = supervisor.get("/tong-hop/", query_string={"period": text})
    assert response.status_code in (200, 302, 400), (text, response.status_code)
    if response.status_code == 400:
        assert 'role="alert"' in response.get_data(as_text=True)


# -- the empty-chart bug and the default month -------------------------------------------------


def test_every_chart_of_a_period_without_tickets_is_drawn(supervisor):
    """2019 has no ticket in the 12 months before it: the category chart has no line at all
    (it answered 500: matplotlib's legend of nothing)."""
    for code in ("2019-01", "2019-Q1", "2019"):
        body = _get(supervisor, f"/tong-hop/{code}")
        assert "Biểu đồ trống: không có yêu cầu nào trong 12 tháng đến" in body
        urls = [html.unescape(u) for u in re.findall(r'<img src="([^"]+\.svg\?d=[^"]+)"', body)]
        assert len(urls) == 3
        urls += [f"/tong-hop/{code}/bieu-do/{chart}.svg" for chart in CHART_NAMES]
        for url in urls:
            response = supervisor.get(url)
            assert response.status_code == 200, url
            assert response.mimetype == "image/svg+xml" and b"<svg" in response.data


def test_charts_of_a_database_with_statistics_but_no_tickets(app, auth):
    from helpdesk.units.models import Unit as UnitModel

    unit = UnitModel(code="SYT", level="department", kind="Sở", name="Y tế", position=1)
    unit.refresh_search_key()
    db.session.add(unit)
    db.session.flush()
    month = previous_month(month_of(today_local()))
    db.session.add(UnitStat(month=month, unit_id=unit.id, received=120, online=30))
    db.session.commit()
    client = app.test_client()
    auth(client, "supervisor")
    body = _get(client, "/tong-hop/")
    assert f"Tổng hợp công tác hỗ trợ tháng {int(month[5:])}/{month[:4]}" in body
    for chart in CHART_NAMES:
        for code in (month, month[:4]):
            response = client.get(f"/tong-hop/{code}/bieu-do/{chart}.svg")
            assert response.status_code == 200, (code, chart)
        signed = html.unescape(re.search(rf'<img src="([^"]*/{chart}\.svg\?d=[^"]+)"', body)[1])
        assert client.get(signed).status_code == 200


def test_the_default_month_skips_an_empty_last_calendar_month(app, auth):
    """The newest month with tickets, three months back: not the empty last calendar month
    (nor a month after this one, which only a wrong import could give)."""
    current = month_of(today_local())
    last = previous_month(current)
    with_data = previous_month(previous_month(last))
    category = Category(code="c1", audience="citizen", label="Nhóm", report_phrase="nhóm")
    db.session.add(category)
    db.session.flush()
    year, mon = map(int, with_data.split("-"))
    ahead = next_month(next_month(current))
    for i, (month, day) in enumerate(((with_data, 5), (with_data, 9), (ahead, 2))):
        y, m = map(int, month.split("-"))
        db.session.add(
            Ticket(
                ref=f"HT-{y % 100:02d}{m:02d}-{i:04d}",
                opened_at=datetime(y, m, day, 9, 0),
                opened_month=month,
                audience="citizen",
                category_id=category.id,
                status="open",
            )
        )
    db.session.commit()
    assert latest_month(current) == with_data
    client = app.test_client()
    auth(client, "supervisor")
    body = _get(client, "/tong-hop/")
    assert f"Tổng hợp công tác hỗ trợ tháng {mon}/{year}" in body
    assert _chosen(body) == (f"{mon:02d}", str(year))
    assert f'href="/yeu-cau/?month={with_data}">2</a>' in body
    empty = build_month(last, today_local())
    assert empty.total.value == 0  # what the page used to open on


def test_tickets_outside_the_period_are_not_counted(eras_app):
    """A ticket on the last evening of a quarter counts in it, one on the next morning in the
    next quarter: the month column and the list's dates agree on the edges."""
    category = db.session.scalar(select(Category).where(Category.code == "dossier_status"))
    unit = db.session.scalar(select(Unit).where(Unit.code == "SYT").order_by(Unit.id.desc()))
    for i, opened in enumerate((datetime(2025, 9, 30, 23, 59, 59), datetime(2025, 10, 1, 0, 0))):
        db.session.add(
            Ticket(
                ref=f"HT-{opened:%y%m}-7{i:04d}",
                opened_at=opened,
                opened_month=f"{opened:%Y-%m}",
                audience=category.audience,
                category_id=category.id,
                unit_id=unit.id,
                status="open",
                due_date=opened.date() + timedelta(days=3),
            )
        )
    db.session.commit()
    q3, q4 = build_period("2025-Q3", TODAY), build_period("2025-Q4", TODAY)
    assert (q3.total.value, q4.total.value) == (360, 1)
    assert q4.previous_total.value == 360
    n = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.opened_month >= "2025-07")
    )
    assert n == 361
    _assert_every_count_is_the_list_count(q3)


# SQLite's planner statistics (sqlite_stat1) of a large history, as ``ANALYZE`` wrote them for
# bench/generate.py --tickets 200000 --months 24.
LARGE_STATS = {
    "ix_tickets_assignee_id": "200000 16667",
    "ix_tickets_category_id": "200000 14286",
    "ix_tickets_dossier_code": "200000 3",
    "ix_tickets_due_date": "200000 403",
    "ix_tickets_month_audience_category": "200000 8334 4167 596",
    "ix_tickets_month_dashboard": "200000 8334 2632 478 50 2 1 1 1 1 1",
    "ix_tickets_opened_at": "200000 2",
    "ix_tickets_operator_id": "200000 16667",
    "ix_tickets_phone_opened": "200000 1 1",
    "ix_tickets_status_opened": "200000 40000 2",
    "ix_tickets_unit_opened": "200000 794 1",
    "sqlite_autoindex_tickets_1": "200000 200000",
    "sqlite_autoindex_tickets_2": "200000 1",
}


@pytest.mark.parametrize("code", ["2025-08", "2025-Q3", "2025-H2", "2025"])
def test_every_period_keeps_to_the_covering_indexes_on_a_large_sqlite_history(eras_app, code):
    """With the statistics of a large table, a period of several months looks like a large part
    of it: SQLite's planner then walked ix_tickets_unit_opened for the unit x category grouping
    (a table lookup per ticket of the whole table, 0,7 s instead of 0,07 s for a year)."""
    from sqlalchemy import event, text

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner statistics; PostgreSQL: test_dashboard_queries")
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets'"))
    for index, stat in LARGE_STATS.items():
        db.session.execute(
            text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('tickets', :idx, :stat)"),
            {"idx": index, "stat": stat},
        )
    db.session.commit()
    db.session.execute(text("ANALYZE sqlite_schema"))  # reload the statistics
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM tickets" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        build_period(code, TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    # Every count but the unresolved tickets' reads the kept counts (tickets.counts); those
    # come from the partial index of the unresolved, never from the table.
    assert len(statements) == 1
    raw = db.session.connection().connection.driver_connection
    for statement, parameters in statements:
        plan = " | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
        lines = [p for p in plan.split(" | ") if "tickets" in p]
        assert lines and all("COVERING INDEX ix_tickets_unresolved_month" in p for p in lines), plan
