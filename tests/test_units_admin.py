"""Admins' management of units over time: the units page by day and level, ending a unit with
its successors (every refusal, the success path, double submits), re-opening, access, CSRF."""

from __future__ import annotations

import re
from datetime import date, datetime
from html import unescape

import pytest
import sqlalchemy as sa

from helpdesk.audit import AuditLog
from helpdesk.extensions import db
from helpdesk.stats.models import UnitStat
from helpdesk.tickets.models import Ticket
from helpdesk.units.models import Unit, unit_successors
from helpdesk.units.periods import CodeIndex

from .conftest import csrf_token_from, login

SECTION_RE = re.compile(r'<section [^>]*data-level="(\w+)" data-count="(\d+)"')


def unit(code: str, on: date) -> Unit:
    return CodeIndex.load().on(code, on)


def stored_successors(unit_id: int) -> list[str]:
    rows = db.session.execute(
        sa.select(Unit.code)
        .join(unit_successors, unit_successors.c.successor_id == Unit.id)
        .where(unit_successors.c.unit_id == unit_id)
        .order_by(unit_successors.c.position)
    )
    return list(rows.scalars())


def audit_entries(action: str) -> list[AuditLog]:
    return list(
        db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        )
    )


def sections(html: str) -> dict[str, int]:
    return {level: int(n) for level, n in SECTION_RE.findall(html)}


def rows_in(html: str, level: str) -> int:
    start = html.index(f'data-level="{level}"')
    end = html.index("</section>", start)
    return len(re.findall(r'<tr id="u\d+"', html[start:end]))


def end_url(u: Unit) -> str:
    return f"/don-vi/{u.id}/ket-thuc"


def errors_beside(html: str, field: str) -> list[str]:
    """The error messages shown under a form field: ``<p class="error" id="field-err">`` and the
    ``<p class="error">`` right after it (only the first carries the id)."""
    block = re.search(
        rf'<p class="error" id="{field}-err">.*?</p>(?:\s*<p class="error">.*?</p>)*', html, re.S
    )
    if block is None:
        return []
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'<p class="error"[^>]*>(.*?)</p>', block.group(0), re.S)
    ]


# -- the units page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2023-09-15", {"department": 19, "district": 15, "commune": 217}),
        ("2025-04-15", {"department": 14, "district": 15, "commune": 217}),
        ("2025-08-15", {"department": 14, "commune": 114}),
    ],
)
def test_date_filter_lists_the_units_of_that_day_by_level(eras_client, auth, day, expected):
    auth(eras_client, "operator")
    html = eras_client.get(f"/don-vi/?ngay={day}").get_data(as_text=True)
    assert sections(html) == expected
    for level, count in expected.items():
        assert rows_in(html, level) == count
    assert ('id="cap-district"' in html) == ("district" in expected)
    assert f"có {sum(expected.values())} đơn vị" in html
    if day == "2025-08-15":
        assert "Cấp xã, phường, đặc khu" in html and "quận, huyện" not in html
        assert "14 Sở, ngành; 114 xã, phường, đặc khu" in html
    # The date input is labelled and keeps the day.
    assert '<label for="ngay">' in html
    assert f'id="ngay" name="ngay" type="date" value="{day}"' in html


def test_without_a_date_every_unit_of_every_era_is_listed(eras_client, auth):
    auth(eras_client, "operator")
    html = eras_client.get("/don-vi/").get_data(as_text=True)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    assert sum(sections(html).values()) == total
    assert f"{total} đơn vị qua các thời kỳ" in html
    # Two rows for code 11311: phường Minh Khai until 30/6/2025, then phường Hồng Bàng.
    minh_khai = unit("11311", date(2025, 6, 30))
    hong_bang = unit("11311", date(2025, 7, 1))
    row = re.search(rf'<tr id="u{minh_khai.id}".*?</tr>', html, re.S).group(0)
    assert "phường Minh Khai" in row and "quận Hồng Bàng" in row  # its district
    assert "đến 30/6/2025" in row and "đã kết thúc 30/6/2025" in row
    assert f'href="/don-vi/?ngay=2025-07-01#u{hong_bang.id}">phường Hồng Bàng</a> (11311)' in row
    new_row = re.search(rf'<tr id="u{hong_bang.id}".*?</tr>', html, re.S).group(0)
    assert "từ 01/7/2025" in new_row and "đang hoạt động" in new_row
    # A merged department names both successors, in the resolution's order.
    labour = re.search(r'<tr id="u\d+"[^>]*>\s*<td>SLDTBXH</td>.*?</tr>', html, re.S).group(0)
    assert labour.index("Sở Nội vụ") < labour.index("Sở Y tế")
    assert "đã kết thúc 28/02/2025" in labour


def test_level_filter_and_search_combine_with_the_day(eras_client, auth):
    auth(eras_client, "operator")
    html = eras_client.get("/don-vi/?ngay=2025-08-15&cap=commune").get_data(as_text=True)
    assert sections(html) == {"commune": 114}
    assert '<option value="commune" selected>' in html and '<label for="cap">' in html
    html = eras_client.get("/don-vi/?cap=district").get_data(as_text=True)
    assert sections(html) == {"district": 15}
    # Hồng Bàng: the 2023 district and the 2025 ward; on 15/8/2025 only the ward.
    both = sections(eras_client.get("/don-vi/?q=hong+bang").get_data(as_text=True))
    assert both == {"district": 1, "commune": 1}
    later = eras_client.get("/don-vi/?q=hong+bang&ngay=2025-08-15").get_data(as_text=True)
    assert sections(later) == {"commune": 1}


@pytest.mark.parametrize("bad", ["2025-13-01", "15/08/2025", "٢٠٢٥-٠٨-١٥", "x" * 50, "\x00"])
def test_a_bad_day_is_said_and_every_unit_listed(eras_client, auth, bad):
    auth(eras_client, "operator")
    response = eras_client.get("/don-vi/", query_string={"ngay": bad, "cap": bad})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="ngay-err"' in html and 'aria-invalid="true"' in html
    assert sum(sections(html).values()) == db.session.scalar(
        sa.select(sa.func.count()).select_from(Unit)
    )


def test_units_page_query_count_does_not_grow_with_units(eras_client, auth, count_queries):
    auth(eras_client, "admin")
    urls = ["/don-vi/", "/don-vi/?ngay=2025-08-15", "/don-vi/?ngay=2023-09-15&cap=commune"]

    def counts() -> list[int]:
        found = []
        for url in urls:
            with count_queries() as counter:
                assert eras_client.get(url).status_code == 200
            found.append(counter.count)
        return found

    before = counts()
    # Forty more units, each ended with two successors: more rows, more successors.
    new = [
        Unit(code=f"N{i}", level="department", kind="Sở", name=f"Mới {i}", position=100 + i)
        for i in range(40)
    ]
    for u in new:
        u.refresh_search_key()
    db.session.add_all(new)
    db.session.flush()
    for i, u in enumerate(new[:20]):
        u.valid_to = date(2024, 12, 31)
        db.session.execute(
            unit_successors.insert(),
            [
                {"unit_id": u.id, "successor_id": new[20 + i].id, "position": 0},
                {"unit_id": u.id, "successor_id": new[39 - i].id, "position": 1},
            ],
        )
    db.session.commit()
    db.session.expire_all()
    assert counts() == before
    assert max(before) <= 6, before


# -- ending a unit: every refusal ----------------------------------------------------------------


@pytest.fixture
def admin_client(eras_client, auth):
    auth(eras_client, "admin")
    return eras_client


def post_end(client, u: Unit, last_day: str, successors: str = ""):
    return client.post(end_url(u), data={"last_day": last_day, "successors": successors})


def test_end_form_is_labelled_and_prefilled(admin_client):
    labour = unit("SLDTBXH", date(2025, 1, 1))
    html = admin_client.get(end_url(labour)).get_data(as_text=True)
    assert '<label for="last_day">' in html and '<label for="successors">' in html
    assert 'value="2025-02-28"' in html and 'value="SNV|SYT"' in html
    assert f'action="/don-vi/{labour.id}/mo-lai"' in html  # ended: it may be re-opened
    assert '<label for="successor-search">' in html
    education = unit("SGDDT", date(2025, 1, 1))
    html = admin_client.get(end_url(education)).get_data(as_text=True)
    assert "mo-lai" not in html and "Kết thúc đơn vị" in html


def assert_refused_unchanged(response, u: Unit, before_to, before_successors) -> str:
    assert response.status_code == 400
    db.session.expire_all()
    fresh = db.session.get(Unit, u.id)
    assert fresh.valid_to == before_to
    assert stored_successors(u.id) == before_successors
    assert audit_entries("end") == []
    html = response.get_data(as_text=True)
    assert "Vui lòng sửa các lỗi" in html
    return html


def test_last_day_before_the_first_day_is_refused(admin_client):
    farming = unit("SNNMT", date(2025, 8, 1))  # since 1/3/2025
    response = post_end(admin_client, farming, "2025-02-15", "SKHCN")
    html = assert_refused_unchanged(response, farming, None, [])
    assert errors_beside(html, "last_day") == [
        "Ngày cuối cùng (15/02/2025) trước ngày đơn vị bắt đầu (01/3/2025)."
    ]
    # The typed values are shown again.
    assert 'value="2025-02-15"' in html and 'value="SKHCN"' in html


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Nhập ngày cuối cùng."),
        ("30/06/2025", "Ngày không hợp lệ"),
        ("2025-02-30", "Ngày không hợp lệ"),
        ("9999-12-31", "Ngày cuối cùng quá xa."),
    ],
)
def test_a_missing_or_malformed_last_day_is_refused(admin_client, typed, message):
    education = unit("SGDDT", date(2025, 8, 1))
    response = post_end(admin_client, education, typed)
    html = assert_refused_unchanged(response, education, None, [])
    assert any(message in e for e in errors_beside(html, "last_day")), errors_beside(
        html, "last_day"
    )
    if typed:
        assert f'value="{typed}"' in html


def test_unknown_and_malformed_successors_are_refused(admin_client):
    education = unit("SGDDT", date(2025, 8, 1))
    response = post_end(admin_client, education, "2025-12-31", "SKHCN | KHONGCO")
    html = assert_refused_unchanged(response, education, None, [])
    assert errors_beside(html, "successors") == ["Không có đơn vị nào mã KHONGCO."]
    assert 'value="SKHCN | KHONGCO"' in html
    response = post_end(admin_client, education, "2025-12-31", "SKHCN|Sở Y tế")
    html = assert_refused_unchanged(response, education, None, [])
    assert errors_beside(html, "successors") == ["“Sở Y tế” không phải mã đơn vị."]


def test_a_successor_must_exist_the_day_after(admin_client):
    education = unit("SGDDT", date(2025, 8, 1))
    # Not yet: Sở Nông nghiệp và Môi trường exists from 1/3/2025.
    response = post_end(admin_client, education, "2024-12-31", "SNNMT")
    html = unescape(assert_refused_unchanged(response, education, None, []).replace("\n", " "))
    assert errors_beside(html, "successors") == [
        "Đơn vị kế thừa SNNMT không tồn tại ngày 01/01/2025 (ngày sau ngày cuối cùng): "
        "Sở Nông nghiệp và Môi trường (SNNMT) bắt đầu từ ngày 01/3/2025."
    ]
    # No longer: Sở Giao thông vận tải ended on 28/2/2025; the message names its successor.
    response = post_end(admin_client, education, "2025-12-31", "SGTVT")
    html = unescape(assert_refused_unchanged(response, education, None, []))
    (message,) = errors_beside(html, "successors")
    assert "Đơn vị kế thừa SGTVT không tồn tại ngày 01/01/2026" in message
    assert "đã kết thúc ngày 28/02/2025; đơn vị kế thừa: Sở Xây dựng (SXD)" in message


def test_a_parent_with_living_children_cannot_end(admin_client):
    le_chan = unit("305", date(2025, 1, 1))
    response = post_end(admin_client, le_chan, "2025-05-31")
    html = unescape(assert_refused_unchanged(response, le_chan, date(2025, 6, 30), []))
    children = list(db.session.scalars(sa.select(Unit).where(Unit.parent_id == le_chan.id)))
    (message,) = errors_beside(html, "last_day")
    expected = f"quận Lê Chân còn {len(children)} đơn vị trực thuộc tồn tại sau ngày 31/5/2025"
    assert expected in message
    first = min(children, key=lambda c: (c.position, c.id))
    assert f"{first.full_name} ({first.code})" in message
    assert "Hãy kết thúc các đơn vị này trước" in message


def test_tickets_and_statistics_after_the_last_day_are_reported(admin_client):
    education = unit("SGDDT", date(2025, 8, 1))
    after = datetime(2025, 7, 1)
    tickets = db.session.scalar(
        sa.select(sa.func.count(Ticket.id)).where(
            (Ticket.unit_id == education.id) | (Ticket.forwarded_unit_id == education.id),
            Ticket.opened_at >= after,
        )
    )
    stat_months = list(
        db.session.scalars(
            sa.select(UnitStat.month)
            .where(UnitStat.unit_id == education.id, UnitStat.month > "2025-06")
            .order_by(UnitStat.month)
        )
    )
    assert tickets > 0 and stat_months  # the data set has both
    response = post_end(admin_client, education, "2025-06-30", "SKHCN")
    html = unescape(assert_refused_unchanged(response, education, None, []))
    messages = errors_beside(html, "last_day")
    months = ", ".join(f"{int(m[5:])}/{m[:4]}" for m in stat_months)
    assert any(
        m.startswith(f"Có {tickets} phiếu hỗ trợ ghi đơn vị này sau ngày 30/6/2025 (tháng ")
        for m in messages
    ), messages
    assert any(
        m.startswith(f"Có số liệu của {len(stat_months)} tháng sau ngày 30/6/2025 (tháng {months})")
        for m in messages
    ), messages


def test_a_successor_of_a_unit_cannot_end_before_it_takes_over(admin_client):
    home_affairs = unit("SNV", date(2025, 8, 1))  # succeeds Sở LĐ-TB&XH from 1/3/2025
    response = post_end(admin_client, home_affairs, "2025-02-27")
    html = unescape(assert_refused_unchanged(response, home_affairs, None, []))
    assert any(
        "là đơn vị kế thừa của Sở Lao động – Thương binh và Xã hội (SLDTBXH)" in m
        and "ngày cuối cùng phải từ 01/3/2025 trở đi" in m
        for m in errors_beside(html, "last_day")
    )


# -- ending a unit: success, double submit, correction, re-opening -------------------------------


def test_ending_stores_the_end_and_the_successors_in_order_with_an_audit_entry(admin_client):
    education = unit("SGDDT", date(2025, 8, 1))
    response = post_end(admin_client, education, "2025-12-31", "SNV|SKHCN")
    assert response.status_code == 302 and response.headers["Location"] == end_url(education)
    db.session.expire_all()
    assert db.session.get(Unit, education.id).valid_to == date(2025, 12, 31)
    assert stored_successors(education.id) == ["SNV", "SKHCN"]
    (entry,) = audit_entries("end")
    assert (entry.entity, entry.entity_id) == ("unit", "SGDDT")
    assert entry.detail_data["successor_codes"] == [[], ["SNV", "SKHCN"]]
    assert entry.detail_data["valid_to"] == [None, "2025-12-31"]
    assert "Sở Nội vụ (SNV), Sở Khoa học và Công nghệ (SKHCN)" in entry.summary
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã kết thúc Sở Giáo dục và Đào tạo (SGDDT) ngày 31/12/2025" in page
    # Still listed (never deleted), on its last day and not after.
    assert 'data-level="department" data-count="14"' in admin_client.get(
        "/don-vi/?ngay=2025-12-31"
    ).get_data(as_text=True)
    assert 'data-level="department" data-count="13"' in admin_client.get(
        "/don-vi/?ngay=2026-01-01"
    ).get_data(as_text=True)

    # The same submit again: no duplicate rows, no second entry.
    again = post_end(admin_client, education, "2025-12-31", "SNV|SKHCN")
    assert again.status_code == 302
    assert stored_successors(education.id) == ["SNV", "SKHCN"]
    assert len(audit_entries("end")) == 1
    assert "không có gì thay đổi" in admin_client.get(end_url(education)).get_data(as_text=True)

    # A correction: another order, one successor less, a later day.
    post_end(admin_client, education, "2026-01-31", "SKHCN")
    db.session.expire_all()
    assert db.session.get(Unit, education.id).valid_to == date(2026, 1, 31)
    assert stored_successors(education.id) == ["SKHCN"]
    latest = audit_entries("end")[-1]
    assert latest.detail_data["successor_codes"] == [["SNV", "SKHCN"], ["SKHCN"]]
    assert latest.detail_data["valid_to"] == ["2025-12-31", "2026-01-31"]


def test_a_repeated_code_is_stored_once(admin_client):
    education = unit("SGDDT", date(2025, 8, 1))
    assert post_end(admin_client, education, "2025-12-31", "SNV|SNV|SYT").status_code == 302
    assert stored_successors(education.id) == ["SNV", "SYT"]


def test_reopening_clears_the_end_and_the_successors(admin_client):
    transport = unit("SGTVT", date(2025, 1, 1))
    assert stored_successors(transport.id) == ["SXD"]
    response = admin_client.post(f"/don-vi/{transport.id}/mo-lai")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, transport.id).valid_to is None
    assert stored_successors(transport.id) == []
    (entry,) = audit_entries("reopen")
    assert entry.entity_id == "SGTVT"
    assert entry.detail_data["valid_to"] == ["2025-02-28", None]
    assert entry.detail_data["successor_codes"] == [["SXD"], []]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã mở lại Sở Giao thông vận tải (SGTVT)" in page
    # Not ended any more: a second re-open is refused and records nothing.
    admin_client.post(f"/don-vi/{transport.id}/mo-lai")
    assert len(audit_entries("reopen")) == 1


def test_reopening_is_refused_when_the_code_or_the_parent_says_no(admin_client):
    minh_khai = unit("11311", date(2025, 6, 30))  # the code is phường Hồng Bàng's since 1/7/2025
    response = admin_client.post(f"/don-vi/{minh_khai.id}/mo-lai", follow_redirects=True)
    html = unescape(response.get_data(as_text=True))
    assert "Không thể mở lại" in html
    assert "Mã 11311 đã thuộc phường Hồng Bàng (từ 01/7/2025)" in html
    assert "Đơn vị cha quận Hồng Bàng (303) đã kết thúc ngày 30/6/2025" in html
    db.session.expire_all()
    assert db.session.get(Unit, minh_khai.id).valid_to == date(2025, 6, 30)
    assert stored_successors(minh_khai.id) == ["11311"]
    assert audit_entries("reopen") == []


def test_an_ended_unit_is_deleted_only_when_nothing_refers_to_it(admin_client):
    transport = unit("SGTVT", date(2025, 1, 1))  # has a successor: referenced
    admin_client.post(f"/don-vi/{transport.id}/xoa")
    assert db.session.get(Unit, transport.id) is not None
    lone = Unit(code="X9", level="department", kind="Sở", name="Thử", valid_to=date(2024, 1, 1))
    lone.refresh_search_key()
    db.session.add(lone)
    db.session.commit()
    admin_client.post(f"/don-vi/{lone.id}/xoa")
    db.session.expire_all()
    assert db.session.get(Unit, lone.id) is None


# -- access and CSRF -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_only_admins_end_or_reopen(eras_client, auth, role):
    auth(eras_client, role)
    labour = unit("SLDTBXH", date(2025, 1, 1))
    assert eras_client.get(end_url(labour)).status_code == 403
    assert post_end(eras_client, labour, "2025-01-31").status_code == 403
    assert eras_client.post(f"/don-vi/{labour.id}/mo-lai").status_code == 403
    db.session.expire_all()
    assert db.session.get(Unit, labour.id).valid_to == date(2025, 2, 28)
    html = eras_client.get("/don-vi/").get_data(as_text=True)
    assert "ket-thuc" not in html and "Thao tác" not in html


def test_anonymous_is_sent_to_sign_in(eras_client):
    labour = unit("SLDTBXH", date(2025, 1, 1))
    for response in (
        eras_client.get(end_url(labour)),
        post_end(eras_client, labour, "2025-01-31"),
        eras_client.post(f"/don-vi/{labour.id}/mo-lai"),
    ):
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_unknown_unit_is_404(admin_client):
    assert admin_client.get("/don-vi/999999/ket-thuc").status_code == 404
    assert admin_client.post("/don-vi/999999/mo-lai").status_code == 404


def test_end_and_reopen_need_the_csrf_token(app_factory):
    from helpdesk.cli import DEMO_PASSWORDS

    app = app_factory("eras", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    # With the CSRF token, and the admin's two-factor code (the helper posts both forms).
    assert login(client, "admin", DEMO_PASSWORDS["admin"][2]).status_code == 302
    education = unit("SGDDT", date(2025, 8, 1))
    transport = unit("SGTVT", date(2025, 1, 1))
    data = {"last_day": "2025-12-31", "successors": "SNV"}
    assert client.post(end_url(education), data=data).status_code == 400
    assert client.post(f"/don-vi/{transport.id}/mo-lai").status_code == 400
    forged = dict(data, csrf_token="forged")
    assert client.post(end_url(education), data=forged).status_code == 400
    db.session.expire_all()
    assert db.session.get(Unit, education.id).valid_to is None
    assert db.session.get(Unit, transport.id).valid_to == date(2025, 2, 28)
    assert audit_entries("end") == audit_entries("reopen") == []
    page = client.get(end_url(education)).get_data(as_text=True)
    good = dict(data, csrf_token=csrf_token_from(page))
    assert client.post(end_url(education), data=good).status_code == 302
    reopen_token = csrf_token_from(client.get(end_url(transport)).get_data(as_text=True))
    response = client.post(f"/don-vi/{transport.id}/mo-lai", data={"csrf_token": reopen_token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, education.id).valid_to == date(2025, 12, 31)
    assert db.session.get(Unit, transport.id).valid_to is None


def test_ending_without_a_day_is_a_message_not_a_crash(demo_app):
    """Found by the form fuzzer: a post that reached the service with no last day at all."""
    from helpdesk.units.lifecycle import LifecycleError, end_unit
    from helpdesk.units.models import Unit as UnitModel

    unit = db.session.scalars(sa.select(UnitModel).order_by(UnitModel.id)).first()
    with pytest.raises(LifecycleError) as refused:
        end_unit(unit, None, [])
    assert refused.value.problems.by_field["last_day"] == ["Nhập ngày cuối cùng."]
