"""The month dashboard over HTTP: access, drill-down links, exports, charts, query count."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
from datetime import datetime, timedelta

import hypothesis
import pytest
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from helpdesk.dashboard.queries import Count, build_month
from helpdesk.dashboard.tables import TABLES
from helpdesk.extensions import db
from helpdesk.models import Category, Ticket, Unit, User
from helpdesk.tickets.queries import filtered_tickets
from helpdesk.timeutil import month_of, previous_month, today_local

from .conftest import login

LINK = re.compile(r'<a href="(/yeu-cau/\?[^"]*)">([^<]*)</a>')
LIST_TOTAL = re.compile(r"trong (?:hơn )?([\d.]+) yêu cầu")


@pytest.fixture
def supervisor(demo_client):
    assert login(demo_client, "thang.vd", "Thang-Demo-2023").status_code == 302
    return demo_client


def _page(client, month="2023-09") -> str:
    response = client.get(f"/tong-hop/{month}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _list_total(client, url: str) -> int:
    body = client.get(url + "&per_page=10").get_data(as_text=True)
    if "Không có yêu cầu nào khớp bộ lọc" in body:
        return 0
    match = LIST_TOTAL.search(body)
    assert match, url
    return int(match.group(1).replace(".", ""))


def test_supervisors_and_admins_only(demo_app, auth):
    for role, status in (("operator", 403), ("supervisor", 200), ("admin", 200)):
        client = demo_app.test_client()
        auth(client, role)
        assert client.get("/tong-hop/2023-09").status_code == status, role
        assert client.get("/tong-hop/2023-09/xuat/kenh.csv").status_code == status, role
        assert client.get("/tong-hop/2023-09/bieu-do/nhom.svg").status_code == status, role
    anonymous = demo_app.test_client().get("/tong-hop/")
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]


def _chosen(body: str) -> tuple[str, str]:
    """The period form's choice as the page shows it: (ky, nam)."""
    ky = re.search(r'<option value="([^"]+)" selected>', body)
    nam = re.search(r'name="nam" value="([^"]*)"', body)
    return (ky[1] if ky else ""), (nam[1] if nam else "")


def test_default_is_the_newest_month_with_data_and_any_month_can_be_asked(supervisor):
    # The demo data end in September 2023: the dashboard opens there, its picker too.
    body = supervisor.get("/tong-hop/").get_data(as_text=True)
    assert "Tổng hợp công tác hỗ trợ tháng 9/2023" in body
    assert _chosen(body) == ("09", "2023")
    response = supervisor.get("/tong-hop/?month=2023-09")
    assert response.status_code == 302 and response.headers["Location"].endswith("/2023-09")
    response = supervisor.get("/tong-hop/?ky=09&nam=2023")
    assert response.status_code == 302 and response.headers["Location"].endswith("/2023-09")
    # A malformed month is refused with the reason, never a 500 (tests/test_dashboard_periods).
    assert supervisor.get("/tong-hop/?month=2023-13").status_code == 400
    assert supervisor.get("/tong-hop/tháng-9").status_code == 400
    body = _page(supervisor)
    assert "Tổng hợp công tác hỗ trợ tháng 9/2023" in body
    assert 'href="/tong-hop/2023-08"' in body and 'href="/tong-hop/2023-10"' in body


def test_page_shows_the_report_figures_without_javascript(supervisor):
    body = _page(supervisor)
    assert "<script" not in body
    assert 'href="/yeu-cau/?month=2023-09&amp;audience=citizen">200</a>' in body
    assert 'href="/yeu-cau/?month=2023-09&amp;audience=agency">20</a>' in body
    assert 'href="/yeu-cau/?month=2023-09">220</a>' in body
    # Both charts are server-side SVG images with a text alternative and a data table.
    for chart in ("doi-tuong", "nhom"):
        assert re.search(
            rf'<img src="/tong-hop/2023-09/bieu-do/{chart}.svg\?d=[^"]+"[^>]*alt="[^"]+"', body
        )
    assert "Xu hướng 12 tháng" in body
    # Every table can be downloaded in both formats, named after the month.
    for slug in TABLES:
        for kind in ("xlsx", "csv"):
            assert f'href="/tong-hop/2023-09/xuat/{slug}.{kind}"' in body


def test_every_number_links_to_a_list_of_exactly_the_counted_tickets(supervisor):
    body = _page(supervisor)
    links = {}
    for href, text in LINK.findall(body):
        url = html.unescape(href)
        if re.fullmatch(r"[\d.]+", text):
            links.setdefault(url, set()).add(int(text.replace(".", "")))
    assert len(links) > 80
    for url, values in links.items():
        assert len(values) == 1, (url, values)  # a list URL always stands for one number
        assert _list_total(supervisor, url) == values.pop(), url


def test_procedure_figures_link_to_the_unit_row_of_the_month_statistics(supervisor):
    body = _page(supervisor)
    assert '<a href="/so-lieu/2023-09#u-304">10.840</a>' in body  # quận Ngô Quyền + phường
    assert '<a href="/so-lieu/2023-09#u-SNNPTNT">3.038</a>' in body
    page = supervisor.get("/so-lieu/2023-09").get_data(as_text=True)
    assert 'id="u-304"' in page and 'id="u-SNNPTNT"' in page


def _counts(value, path="d"):
    """Every Count in the dashboard dataclass, with where it sits."""
    if isinstance(value, Count):
        yield path, value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _counts(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _counts(item, f"{path}[{i}]")


def test_every_count_equals_the_ticket_list_filter(demo_app):
    today = today_local()
    d = build_month("2023-09", today)
    checked = 0
    for path, count in _counts(d):
        if count.params is None:
            continue
        stmt = filtered_tickets(count.params, today).subquery()
        assert db.session.scalar(select(func.count()).select_from(stmt)) == count.value, path
        checked += 1
    assert checked > 150


def test_exports_are_named_after_the_month_and_hold_the_page_figures(supervisor):
    response = supervisor.get("/tong-hop/2023-09/xuat/doi-tuong-nhom.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert 'filename="tong-hop-2023-09-doi-tuong-nhom.csv"' in disposition
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Đối tượng", "Mã nhóm", "Nhóm yêu cầu", "9/2023", "8/2023", "Thay đổi"]
    assert ["Công dân", "", "Cộng", "200", "176", "24"] in rows
    assert rows[-1][:4] == ["Tổng", "", "", "220"]

    response = supervisor.get("/tong-hop/2023-09/xuat/quan-huyen.xlsx")
    assert 'filename="tong-hop-2023-09-quan-huyen.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Quận, huyện"
    ngo_quyen = next(r for r in values if r[0] == "quận Ngô Quyền")
    assert ngo_quyen[1:] == (14, 2, 10840, 1.29)  # numbers stay numbers
    assert sum(r[1] for r in values[1:]) == 177  # districts with their communes

    for slug in TABLES:
        for kind in ("csv", "xlsx"):
            response = supervisor.get(f"/tong-hop/2023-09/xuat/{slug}.{kind}")
            assert response.status_code == 200, (slug, kind)
            assert f"tong-hop-2023-09-{slug}.{kind}" in response.headers["Content-Disposition"]
    assert supervisor.get("/tong-hop/2023-09/xuat/khong-co.csv").status_code == 404
    assert supervisor.get("/tong-hop/2023-09/xuat/kenh.pdf").status_code == 404


def test_charts_are_deterministic_svg(supervisor):
    first = supervisor.get("/tong-hop/2023-09/bieu-do/doi-tuong.svg")
    assert first.status_code == 200
    assert first.mimetype == "image/svg+xml"
    svg = first.get_data(as_text=True)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<dc:date>" not in svg and "Matplotlib" not in svg
    assert "script" not in svg.lower()
    # A second render (cache cleared) is byte for byte the same; the ETag allows a 304.
    from helpdesk.dashboard.charts import _line_chart

    _line_chart.cache_clear()
    again = supervisor.get("/tong-hop/2023-09/bieu-do/doi-tuong.svg")
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    cached = supervisor.get(
        "/tong-hop/2023-09/bieu-do/doi-tuong.svg", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert cached.status_code == 304
    other = supervisor.get("/tong-hop/2023-09/bieu-do/nhom.svg")
    assert other.status_code == 200 and other.data != first.data
    assert supervisor.get("/tong-hop/2023-09/bieu-do/khac.svg").status_code == 404


def test_the_page_signs_each_chart_s_figures_so_the_chart_needs_no_query(supervisor, count_queries):
    body = _page(supervisor)
    signed = html.unescape(re.search(r'<img src="([^"]*/doi-tuong\.svg\?d=[^"]+)"', body).group(1))
    plain = supervisor.get("/tong-hop/2023-09/bieu-do/doi-tuong.svg")
    db.session.remove()
    with count_queries() as counter:
        response = supervisor.get(signed)
    assert response.status_code == 200
    assert response.data == plain.data  # the same figures, the same bytes
    assert counter.count == 1  # the signed-in user; no ticket is counted again
    assert "immutable" in response.headers["Cache-Control"]
    assert plain.headers["Cache-Control"] == "private, no-cache"
    # A forged or misplaced token is ignored: the chart is drawn from the database.
    token = signed.split("?d=")[1]
    forged = supervisor.get("/tong-hop/2023-09/bieu-do/doi-tuong.svg?d=" + token[:-2] + "xx")
    assert forged.data == plain.data and "immutable" not in forged.headers["Cache-Control"]
    elsewhere = supervisor.get("/tong-hop/2023-08/bieu-do/doi-tuong.svg?d=" + token)
    assert "immutable" not in elsewhere.headers["Cache-Control"]
    assert elsewhere.data != plain.data
    other_chart = supervisor.get("/tong-hop/2023-09/bieu-do/nhom.svg?d=" + token)
    assert "immutable" not in other_chart.headers["Cache-Control"]


def _add_history(n_tickets: int, n_units: int, n_operators: int) -> None:
    """More tickets, units, operators and categories in September 2023."""
    district = db.session.scalar(select(Unit).where(Unit.level == "district"))
    units = []
    for i in range(n_units):
        unit = Unit(
            code=f"NEW{n_units}.{i}",
            level="commune",
            kind="xã",
            name=f"Mới {n_units}.{i}",
            parent_id=district.id,
            position=1000 + i,
        )
        unit.refresh_search_key()
        units.append(unit)
    operators = [
        User(
            username=f"extra{n_units}.{i}",
            full_name=f"Điều hành viên {n_units}-{i}",
            role="operator",
        )
        for i in range(n_operators)
    ]
    category = Category(code=f"new_{n_units}", audience="agency", label="Mới", report_phrase="mới")
    db.session.add_all([*units, *operators, category])
    db.session.flush()
    opened = datetime(2023, 9, 12, 9, 0)
    for i in range(n_tickets):
        db.session.add(
            Ticket(
                ref=f"HT-2309-9{n_units:02d}{i:03d}",
                opened_at=opened + timedelta(minutes=i),
                opened_month="2023-09",
                audience="agency",
                category_id=category.id,
                unit_id=units[i % len(units)].id if units else None,
                operator_id=operators[i % len(operators)].id if operators else None,
                channel="email",
                status="resolved" if i % 2 else "open",
                resolved_at=opened + timedelta(minutes=i + 30) if i % 2 else None,
            )
        )
    db.session.commit()


def test_query_count_does_not_grow_with_tickets_or_units(supervisor, count_queries):
    def page_queries() -> int:
        db.session.remove()
        with count_queries() as counter:
            _page(supervisor)
        return counter.count

    before = page_queries()
    assert before <= 15
    _add_history(n_tickets=60, n_units=12, n_operators=5)
    after = page_queries()
    _add_history(n_tickets=150, n_units=30, n_operators=9)
    assert page_queries() == after == before
    assert "Điều hành viên 30-8" in _page(supervisor)  # the new operators are counted


def test_without_any_data_the_default_is_the_last_complete_month(app, auth):
    client = app.test_client()
    auth(client, "supervisor")
    body = client.get("/tong-hop/").get_data(as_text=True)
    year, mon = previous_month(month_of(today_local())).split("-")
    assert f"Tổng hợp công tác hỗ trợ tháng {int(mon)}/{year}" in body


def test_an_empty_month_renders(supervisor):
    body = _page(supervisor, "2020-01")
    assert "Chưa có số liệu hồ sơ tháng 1/2020" in body
    assert "Không có phản ánh trễ hạn nào" in body


@hypothesis.given(
    params=st.dictionaries(
        st.sampled_from(["month", "unit", "status", "q", "category", "district", "level"]),
        st.one_of(
            st.none(),
            st.text(max_size=12),
            st.integers(min_value=0, max_value=10**6).map(str),
            st.lists(st.sampled_from(["open", "resolved", "trễ hạn", "a&b=c"]), max_size=3),
        ),
        max_size=5,
    )
)
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_list_url_is_what_url_for_builds(app, params):
    """The dashboard builds its ~800 drill-down links without url_for: the same addresses."""
    from flask import url_for

    from helpdesk.dashboard.views import list_url

    with app.test_request_context("/tong-hop/2023-09"):
        assert list_url(params) == url_for("tickets.index", **params)
        assert list_url(None) is None
