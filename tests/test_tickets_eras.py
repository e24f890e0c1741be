"""Tickets across the 2025 reorganisation: quick entry, edits and forwards name a unit that exists
on the day; tickets keep the unit they had, marked once it ended; the list's filters follow the
month.

``eras_app`` holds the 09/2023 data set, then the 08/2025 one: every 2023 district and commune
ends on 30/6/2025, and code 11311 names phường Minh Khai (quận Hồng Bàng) until then and phường
Hồng Bàng (no district) from 1/7/2025.
"""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.queries import filtered_tickets
from helpdesk.tickets.services import TicketError, resolve_unit
from helpdesk.units.models import Unit

ENDED = (
    "phường Minh Khai (quận Hồng Bàng) (11311) đã kết thúc ngày 30/6/2025; "
    "đơn vị kế thừa: phường Hồng Bàng (11311)"
)
CALL = {
    "requester_phone": "0912 345 678",
    "requester_name": "Nguyễn Văn Bình",
    "category": "dossier_status",
    "summary": "Hỏi hồ sơ",
    "channel": "phone",
    "opened_at": "2025-08-05T10:00",
    "save_close": "Lưu và đóng",
}


def _unit(code: str, ended: bool) -> Unit:
    cond = Unit.valid_to.is_not(None) if ended else Unit.valid_to.is_(None)
    return db.session.scalar(select(Unit).where(Unit.code == code, cond))


@pytest.fixture
def minh_khai(eras_app) -> Unit:
    unit = _unit("11311", ended=True)
    assert unit.full_name == "phường Minh Khai" and unit.valid_to == date(2025, 6, 30)
    return unit


@pytest.fixture
def hong_bang(eras_app) -> Unit:
    unit = _unit("11311", ended=False)
    assert unit.full_name == "phường Hồng Bàng" and unit.valid_from == date(2025, 7, 1)
    return unit


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def _latest() -> Ticket:
    return db.session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(1)).first()


def _by_ref(ref: str) -> Ticket:
    return db.session.scalar(select(Ticket).where(Ticket.ref == ref))


def _unit_error(html: str) -> str:
    match = re.search(r'<p class="error" id="unit-err">(.*?)</p>', html)
    assert match, "no message beside the unit field"
    return match.group(1)


# -- quick entry --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["id", "name", "name with district"])
def test_quick_entry_refuses_an_ended_unit_beside_the_field_naming_its_successors(
    eras_client, auth, minh_khai, how
):
    auth(eras_client)
    typed = {
        "id": {"unit": minh_khai.display, "unit_id": str(minh_khai.id)},
        "name": {"unit": "minh khai"},
        "name with district": {"unit": "phường Minh Khai (quận Hồng Bàng)"},
    }[how]
    before = _count()
    response = eras_client.post("/yeu-cau/moi", data={**CALL, **typed})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _unit_error(html) == ENDED + "."
    assert f'value="{typed["unit"]}"' in html  # what was typed comes back
    assert 'value="Nguyễn Văn Bình"' in html
    assert _count() == before


def test_quick_entry_refuses_an_ended_units_code(eras_client, auth):
    auth(eras_client)
    before = _count()
    response = eras_client.post("/yeu-cau/moi", data={**CALL, "unit": "11299"})
    assert response.status_code == 400
    assert _unit_error(response.get_data(as_text=True)) == (
        "phường Hùng Vương (quận Hồng Bàng) (11299) đã kết thúc ngày 30/6/2025; "
        "đơn vị kế thừa: phường Hồng Bàng (11311)."
    )
    assert _count() == before


@pytest.mark.parametrize("how", ["id", "name", "code"])
def test_quick_entry_saves_the_successor(eras_client, auth, hong_bang, how):
    auth(eras_client)
    typed = {
        "id": {"unit": hong_bang.display, "unit_id": str(hong_bang.id)},
        "name": {"unit": "phuong hong bang"},
        "code": {"unit": "11311"},
    }[how]
    before = _count()
    response = eras_client.post("/yeu-cau/moi", data={**CALL, **typed})
    assert response.status_code == 302, _unit_error(response.get_data(as_text=True))
    assert _count() == before + 1
    ticket = _latest()
    assert ticket.unit_id == hong_bang.id and ticket.opened_month == "2025-08"


def test_a_reused_code_resolves_on_the_calls_day(eras_client, auth, minh_khai, hong_bang):
    auth(eras_client)
    old = {**CALL, "unit": "11311", "opened_at": "2023-09-12T09:00"}
    assert eras_client.post("/yeu-cau/moi", data=old).status_code == 302
    assert _latest().unit_id == minh_khai.id
    assert eras_client.post("/yeu-cau/moi", data={**CALL, "unit": "11311"}).status_code == 302
    assert _latest().unit_id == hong_bang.id
    assert resolve_unit("11311", on=date(2025, 6, 30)) == minh_khai
    assert resolve_unit("11311", on=date(2025, 7, 1)) == hong_bang
    # A name means the unit of that day too: the district in 2023, the ward since 1/7/2025.
    assert resolve_unit("hong bang", on=date(2023, 9, 12)).full_name == "quận Hồng Bàng"
    assert resolve_unit("hong bang", on=date(2025, 8, 5)) == hong_bang


def test_a_unit_that_did_not_exist_yet_is_refused(eras_client, auth, hong_bang):
    auth(eras_client)
    data = {**CALL, "opened_at": "2023-09-12T09:00", "unit": hong_bang.display,
            "unit_id": str(hong_bang.id)}  # fmt: skip
    response = eras_client.post("/yeu-cau/moi", data=data)
    assert response.status_code == 400
    assert _unit_error(response.get_data(as_text=True)) == (
        "phường Hồng Bàng (11311) bắt đầu từ ngày 01/7/2025."
    )
    with pytest.raises(TicketError) as info:
        resolve_unit("phuong hong bang", on=date(2025, 6, 30))
    assert info.value.field == "unit" and "bắt đầu từ ngày 01/7/2025" in str(info.value)


def test_without_a_time_the_call_is_today(eras_client, auth, minh_khai, hong_bang):
    auth(eras_client)
    data = {**CALL, "opened_at": "", "unit": "minh khai"}
    response = eras_client.post("/yeu-cau/moi", data=data)
    assert response.status_code == 400 and _unit_error(response.get_data(as_text=True))
    assert resolve_unit("11311") == hong_bang  # default day: today


# -- a ticket keeps its unit --------------------------------------------------------------------


def test_a_2023_tickets_page_and_row_show_its_unit_marked_as_ended(eras_client, auth, hong_bang):
    auth(eras_client)
    ticket = _by_ref("HT-2308-0002")
    assert ticket.unit.full_name == "xã Tam Hưng"
    html = eras_client.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    assert (
        'xã Tam Hưng (huyện Thủy Nguyên) <span class="ended-mark">đã kết thúc 30/6/2025</span>'
        in facts
    )
    assert "yêu cầu vẫn giữ được đơn vị này" in html  # the edit form says it may be kept
    listing = eras_client.get("/yeu-cau/?q=HT-2308-0002").get_data(as_text=True)
    assert 'xã Tam Hưng (huyện Thủy Nguyên) <span class="ended-mark">đã kết thúc 30/6/2025' in (
        listing
    )
    # A unit that exists today is not marked.
    recent = eras_client.get(f"/yeu-cau/?unit={hong_bang.id}").get_data(as_text=True)
    rows = recent[recent.index("<tbody>") :]
    assert rows.count("<td>phường Hồng Bàng</td>") == 3 and "ended-mark" not in rows


def test_editing_keeps_the_units_that_ended_since(eras_client, auth):
    auth(eras_client)
    ticket = _by_ref("HT-2308-0002")
    unit_id = ticket.unit_id
    data = {
        "requester_phone": ticket.requester_phone,
        "requester_name": "Đinh Quang Lộc",
        "category": ticket.category.code,
        "unit": ticket.unit.display,
        "unit_id": str(unit_id),
        "summary": ticket.summary,
        "channel": ticket.channel,
        "opened_at": ticket.opened_at.strftime("%Y-%m-%dT%H:%M"),
        "version": str(ticket.version),
        "seen": str(max(e.id for e in ticket.events)),
    }
    response = eras_client.post(f"/yeu-cau/{ticket.id}/sua", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    ticket = _by_ref("HT-2308-0002")
    assert ticket.requester_name == "Đinh Quang Lộc" and ticket.unit_id == unit_id
    # Another unit of 2023 fits a 2023 call; an ended one other than its own does not in 2025.
    data.update(version=str(ticket.version), seen=str(max(e.id for e in ticket.events)))
    moved = {**data, "unit": "minh khai", "unit_id": "", "opened_at": "2025-08-01T08:00"}
    response = eras_client.post(f"/yeu-cau/{ticket.id}/sua", data=moved)
    assert response.status_code == 400 and _unit_error(response.get_data(as_text=True)) == (
        ENDED + "."
    )
    response = eras_client.post(f"/yeu-cau/{ticket.id}/sua", data={**moved, "opened_at": ""})
    assert response.status_code == 302  # the ticket's own day (2023): Minh Khai existed
    db.session.expire_all()
    assert _by_ref("HT-2308-0002").unit.full_name == "phường Minh Khai"


def test_forwarding_needs_a_unit_that_exists_today(eras_client, auth, hong_bang):
    auth(eras_client)
    ticket = _by_ref("HT-2308-0002")
    ticket.status = "in_progress"
    db.session.commit()
    version = {"fw-version": str(ticket.version), "fw-seen": ""}
    url = f"/yeu-cau/{ticket.id}/chuyen"
    response = eras_client.post(url, data={**version, "fw-unit": "minh khai", "fw-note": "Nhờ"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert ENDED in html and 'value="minh khai"' in html
    response = eras_client.post(url, data={**version, "fw-unit": "11311", "fw-note": "Nhờ"})
    assert response.status_code == 302
    db.session.expire_all()
    assert _by_ref("HT-2308-0002").forwarded_unit_id == hong_bang.id


def test_caller_history_marks_an_ended_unit(eras_client, auth):
    auth(eras_client)
    data = eras_client.get("/yeu-cau/nguoi-goi?phone=0962820561").get_json()
    units = {t["ref"]: t["unit"] for t in data["tickets"]}
    assert units["HT-2308-0002"] == "xã Tam Hưng (huyện Thủy Nguyên), đã kết thúc 30/6/2025"


# -- the list's filters follow the month --------------------------------------------------------


def _select(html: str, name: str) -> str | None:
    match = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', html, re.S)
    return match.group(1) if match else None


def _options(html: str, name: str) -> list[str]:
    return re.findall(r"<option value=\"[^\"]+\"[^>]*>([^<]+)</option>", _select(html, name) or "")


def test_a_month_without_districts_has_no_district_filter(eras_client, auth):
    auth(eras_client)
    html = eras_client.get("/yeu-cau/?month=2025-08").get_data(as_text=True)
    assert _select(html, "district") is None and "Quận, huyện (gồm xã, phường)" not in html
    assert _options(html, "level") == ["Cấp Sở, ngành", "Cấp xã, phường, đặc khu"]


def test_a_2023_month_offers_its_districts_and_levels(eras_client, auth):
    auth(eras_client)
    html = eras_client.get("/yeu-cau/?month=2023-09").get_data(as_text=True)
    assert _options(html, "level") == ["Cấp Sở, ngành", "Cấp quận, huyện", "Cấp xã, phường"]
    districts = _options(html, "district")
    assert len(districts) == 15 and "quận Hồng Bàng" in districts
    assert "Đã kết thúc" not in _select(html, "district")


def test_without_a_month_ended_districts_are_offered_marked(eras_client, auth):
    auth(eras_client)
    html = eras_client.get("/yeu-cau/").get_data(as_text=True)
    assert _options(html, "level") == ["Cấp Sở, ngành", "Cấp quận, huyện", "Cấp xã, phường"]
    districts = _select(html, "district")
    assert '<optgroup label="Đã kết thúc">' in districts
    assert "quận Hồng Bàng (đã kết thúc 30/6/2025)" in _options(html, "district")


def test_a_chosen_filter_the_month_lacks_is_still_shown(eras_client, auth):
    auth(eras_client)
    district = db.session.scalar(select(Unit).where(Unit.code == "303"))
    html = eras_client.get(f"/yeu-cau/?month=2025-08&district={district.id}&level=district")
    html = html.get_data(as_text=True)
    assert "quận Hồng Bàng (không có trong tháng này)" in _options(html, "district")
    assert "Cấp quận, huyện (không có trong tháng này)" in _options(html, "level")
    assert "Không có yêu cầu nào khớp bộ lọc." in html


@pytest.mark.parametrize("month", ["2023-09", "2025-08"])
@pytest.mark.parametrize("level", ["department", "commune"])
def test_the_level_filter_matches_the_units_level(eras_app, month, level):
    got = list(db.session.scalars(filtered_tickets({"month": month, "level": level})).unique())
    everything = db.session.scalars(filtered_tickets({"month": month})).unique()
    expected = [t for t in everything if t.unit is not None and t.unit.level == level]
    assert expected and {t.id for t in got} == {t.id for t in expected}


def test_list_query_count_does_not_depend_on_the_month_or_page(eras_client, auth, count_queries):
    auth(eras_client, "supervisor")
    counts = {}
    for args in ("per_page=10", "per_page=200", "month=2025-08", "month=2023-09&per_page=10"):
        db.session.expunge_all()  # each request starts cold, as in production
        with count_queries() as counter:
            response = eras_client.get(f"/yeu-cau/?{args}")
        assert response.status_code == 200
        counts[args] = counter.count
    assert len(set(counts.values())) == 1 and counts["per_page=10"] <= 8, counts
