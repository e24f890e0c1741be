"""Duplicates: merge and unmerge (page and API), a call added to an open ticket from quick
entry, the caller panel's open duplicates, last unit and dossier, and numbers found by their
last digits. Every contact stays counted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.audit import AuditLog
from helpdesk.dashboard.queries import build_period
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketEvent

from .api.conftest import Api, token_for
from .conftest import login
from .test_tickets_views import DEMO, GOOD, _count

TODAY = date(2023, 10, 5)
OPEN_PHONE = "0395063080"  # an open late-dossier complaint of 7/8/2023, with a dossier code
OPEN_DOSSIER = "000.02.21.H26-230807-0122"


def _ticket(**where) -> Ticket:
    db.session.expire_all()
    return db.session.scalar(select(Ticket).filter_by(**where).order_by(Ticket.id))


def _open_two(month: str = "2023-09") -> tuple[Ticket, Ticket]:
    """Two open tickets of a month (not merged)."""
    found = db.session.scalars(
        select(Ticket)
        .where(Ticket.opened_month == month, Ticket.status.in_(("open", "in_progress")))
        .order_by(Ticket.id)
        .limit(2)
    ).all()
    assert len(found) == 2
    return found[0], found[1]


@pytest.fixture
def operator(demo_client):
    assert login(demo_client, "hoa.nt", DEMO["hoa.nt"]).status_code == 302
    return demo_client


def _merge(client, ticket: Ticket, into: str, version: int | None = None):
    return client.post(
        f"/yeu-cau/{ticket.id}/gop",
        data={"mg-into": into, "mg-version": str(version or ticket.version), "mg-seen": ""},
    )


def _counts() -> tuple:
    d = build_period("2023-09", TODAY)
    by_category = tuple(r.count.value for b in d.blocks for r in b.rows)
    return d.total.value, by_category


def test_merge_closes_the_duplicate_and_keeps_every_count(operator):
    before = _counts()
    dup, keep = _open_two()
    dup_status = dup.status
    response = _merge(operator, dup, keep.ref.lower())  # typed in lower case: still found
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    dup, keep = _ticket(id=dup.id), _ticket(id=keep.id)
    assert dup.merged_into_id == keep.id and dup.status == "closed"
    assert dup.merged_status == dup_status and dup.closed_at is not None
    assert _counts() == before  # each contact is still one contact
    # Both timelines say so, and the audit log.
    kinds = {
        (e.ticket_id, e.kind) for e in db.session.scalars(select(TicketEvent)) if e.kind == "merge"
    }
    assert {(dup.id, "merge"), (keep.id, "merge")} <= kinds
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.action == "ticket_merge", AuditLog.entity_id == dup.ref)
    )
    page = operator.get(f"/yeu-cau/{keep.id}").get_data(as_text=True)
    assert "Các lượt liên hệ đã gộp vào đây (1)" in page and dup.ref in page
    assert f"{dup.ref} được gộp vào yêu cầu này." in page
    dup_page = operator.get(f"/yeu-cau/{dup.id}").get_data(as_text=True)
    assert f'Đã gộp vào <a href="/yeu-cau/{keep.id}">{keep.ref}</a>' in dup_page
    # The list marks it; the open list no longer has it.
    listing = operator.get("/yeu-cau/?month=2023-09&status=open&status=in_progress")
    assert dup.ref not in listing.get_data(as_text=True)


def test_unmerge_gives_back_the_status(operator):
    dup, keep = _open_two()
    status = dup.status
    assert _merge(operator, dup, keep.ref).status_code == 302
    dup = _ticket(id=dup.id)
    answer = operator.post(
        f"/yeu-cau/{dup.id}/tach", data={"um-version": str(dup.version), "um-seen": ""}
    )
    assert answer.status_code == 302
    dup = _ticket(id=dup.id)
    assert dup.merged_into_id is None and dup.status == status and dup.closed_at is None
    page = operator.get(f"/yeu-cau/{keep.id}").get_data(as_text=True)
    assert f"{dup.ref} được tách ra." in page and "Các lượt liên hệ đã gộp" not in page


@pytest.mark.parametrize("case", ["itself", "into_merged", "already_merged", "unknown", "format"])
def test_bad_merges_are_refused_beside_the_field_and_change_nothing(operator, case):
    a, b = _open_two()
    c = db.session.scalar(
        select(Ticket).where(Ticket.opened_month == "2023-08", Ticket.status == "open").limit(1)
    )
    if case in ("into_merged", "already_merged"):
        assert _merge(operator, c, b.ref).status_code == 302  # c is merged into b
        c = _ticket(id=c.id)
    target, into, message = {
        "itself": (a, a.ref, "Không thể gộp một yêu cầu vào chính nó."),
        "into_merged": (a, c.ref, f"{c.ref} đã được gộp vào {b.ref}"),
        "already_merged": (c, a.ref, f"{c.ref} đã được gộp vào {b.ref}; hãy tách ra trước."),
        "unknown": (a, "HT-2309-9999", "Không có yêu cầu HT-2309-9999."),
        "format": (a, "2309-1", "Mã yêu cầu có dạng HT-2309-0042."),
    }[case]
    version = target.version
    answer = _merge(operator, target, into)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="mg-into-err"' in html and message in html
    assert _ticket(id=target.id).version == version  # nothing changed


def test_a_stale_merge_is_refused_with_what_changed(operator):
    dup, keep = _open_two()
    old = dup.version
    operator.post(f"/yeu-cau/{dup.id}/ghi-chu", data={"nt-text": "Ghi chú"})  # no version bump
    dup.summary = "Đổi bởi người khác"
    db.session.commit()
    answer = _merge(operator, dup, keep.ref, version=old)
    assert answer.status_code == 409
    assert _ticket(id=dup.id).merged_into_id is None


def test_merging_a_ticket_that_has_duplicates_moves_them_along(operator):
    a, b = _open_two()
    c = db.session.scalar(
        select(Ticket).where(Ticket.opened_month == "2023-08", Ticket.status == "open").limit(1)
    )
    assert _merge(operator, c, a.ref).status_code == 302
    assert _merge(operator, _ticket(id=a.id), b.ref).status_code == 302
    assert _ticket(id=c.id).merged_into_id == b.id  # no chain
    assert _ticket(id=a.id).merged_into_id == b.id


# -- quick entry ----------------------------------------------------------------------------------


def test_a_call_added_to_an_open_ticket_is_a_contact_merged_into_it(operator):
    target = _ticket(requester_phone=OPEN_PHONE)
    before = _count()
    response = operator.post(
        "/yeu-cau/moi",
        data={"requester_phone": OPEN_PHONE, "summary": "Gọi lại hỏi tiếp", "add_to": target.id},
    )
    assert response.status_code == 302
    assert _count() == before + 1
    call = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert call.merged_into_id == target.id and call.status == "closed"
    # Category, unit and dossier code come from the open ticket when left blank.
    assert call.category_id == target.category_id and call.unit_id == target.unit_id
    assert call.dossier_code == OPEN_DOSSIER
    assert call.summary == "Gọi lại hỏi tiếp"
    flash = operator.get("/yeu-cau/moi").get_data(as_text=True)
    assert f'Đã thêm cuộc gọi vào <a href="/yeu-cau/{target.id}">{target.ref}</a>' in flash


def test_adding_to_a_ticket_no_longer_open_is_refused_and_writes_nothing(operator):
    closed = _ticket(status="closed")
    before = _count()
    response = operator.post("/yeu-cau/moi", data={**GOOD, "add_to": closed.id})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"{closed.ref} không còn mở" in html
    assert 'value="Nguyễn Văn Bình"' in html  # what was typed is kept
    assert _count() == before


def test_caller_panel_shows_open_duplicates_by_phone_or_dossier(operator):
    by_phone = operator.get(f"/yeu-cau/nguoi-goi?phone={OPEN_PHONE}").get_json()
    target = _ticket(requester_phone=OPEN_PHONE)
    assert [d["ref"] for d in by_phone["duplicates"]] == [target.ref]
    assert by_phone["duplicates"][0]["same"] == "phone"
    assert by_phone["last"]["dossier_code"] == OPEN_DOSSIER
    assert by_phone["last"]["unit_id"] == target.unit_id
    by_dossier = operator.get(
        "/yeu-cau/nguoi-goi?phone=&dossier=000.02.21.h26-230807-0122"
    ).get_json()
    assert [d["ref"] for d in by_dossier["duplicates"]] == [target.ref]
    assert by_dossier["duplicates"][0]["same"] == "dossier"


def test_a_caller_is_found_by_the_last_six_digits(operator):
    found = operator.get("/yeu-cau/nguoi-goi?phone=063080").get_json()
    assert found["phone"] is None
    assert [c["phone"] for c in found["tail"]] == [OPEN_PHONE]
    assert found["tail"][0]["display"] == "0395 063 080" and found["tail"][0]["total"] == 1
    assert operator.get("/yeu-cau/nguoi-goi?phone=63080").get_json()["tail"] == []  # 5: too few
    listing = operator.get("/yeu-cau/?q=063080").get_data(as_text=True)
    assert _ticket(requester_phone=OPEN_PHONE).ref in listing
    assert "0395 063 080" in listing
    # Digits that do not start with 0 can only be the end of a number; with 0, either end.
    assert "0395 063 080" in operator.get("/yeu-cau/?q=5063080").get_data(as_text=True)
    assert "0395 063 080" in operator.get("/yeu-cau/?q=0395063").get_data(as_text=True)


def test_the_quick_entry_page_has_the_repeat_call_keys(operator):
    html = operator.get("/yeu-cau/moi").get_data(as_text=True)
    assert 'id="quick-form"' in html  # the add-to buttons submit it from the panel


# -- API ------------------------------------------------------------------------------------------


def test_api_merge_unmerge_and_duplicates_of_open(demo_app):
    api = Api(demo_app, token_for("hoa.nt"))
    created = api.post(
        "/tickets",
        json={"category": "late_dossier", "requester_phone": OPEN_PHONE, "status": "open"},
    )
    assert created.status_code == 201
    body = created.get_json()
    target = _ticket(requester_phone=OPEN_PHONE)
    assert body["duplicates_of_open"] == [target.ref] and body["merged_into"] is None
    ref = body["ref"]
    stale = api.post(f"/tickets/{ref}/merge", json={"into": target.ref, "version": 99})
    assert stale.status_code == 409 and stale.get_json()["current"]["ref"] == ref
    itself = api.post(f"/tickets/{ref}/merge", json={"into": ref, "version": body["version"]})
    assert itself.status_code == 422 and "into" in itself.get_json()["error"]["fields"]
    unknown = api.post(f"/tickets/{ref}/merge", json={"into": "HT-0000-0001", "version": 1})
    assert unknown.status_code == 422
    merged = api.post(
        f"/tickets/{ref}/merge", json={"into": target.ref, "version": body["version"]}
    )
    assert merged.status_code == 200, merged.get_json()
    merged = merged.get_json()
    assert merged["merged_into"] == target.ref and merged["status"] == "closed"
    assert "merge" in [e["kind"] for e in merged["events"]]
    again = api.post(
        f"/tickets/{ref}/merge", json={"into": target.ref, "version": merged["version"]}
    )
    assert again.status_code == 422
    back = api.post(f"/tickets/{ref}/unmerge", json={"version": merged["version"]})
    assert back.status_code == 200
    assert back.get_json()["merged_into"] is None and back.get_json()["status"] == "open"
    twice = api.post(f"/tickets/{ref}/unmerge", json={"version": back.get_json()["version"]})
    assert twice.status_code == 422
    total = db.session.scalar(select(func.count()).select_from(Ticket))
    assert api.get("/tickets/count").get_json()["count"] == total


# -- bulk actions ---------------------------------------------------------------------------------


@pytest.fixture
def supervisor(demo_client, promised):
    assert login(demo_client, "thang.vd", DEMO["thang.vd"]).status_code == 302
    return demo_client


def _open_tickets(n: int) -> list[Ticket]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.status.in_(("open", "in_progress")), Ticket.merged_into_id.is_(None))
            .order_by(Ticket.id)
            .limit(n)
        )
    )


def _bulk(client, action: str, tickets: list[Ticket], **extra):
    data = {"action": action, "ids": [str(t.id) for t in tickets], "next": "/yeu-cau/?q=x"}
    data.update({f"v{t.id}": str(t.version) for t in tickets})
    data.update(extra)
    return client.post("/yeu-cau/hang-loat", data=data)


def test_bulk_assign_close_and_merge_follow_the_single_rules(supervisor):
    from helpdesk.auth.models import User

    hoa = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    three = _open_tickets(3)
    answer = _bulk(supervisor, "assign", three, assignee=str(hoa.id))
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/yeu-cau/?q=x")
    assert {t.assignee_id for t in _open_tickets(3)} == {hoa.id}
    a, b, c = _open_tickets(3)
    assert _bulk(supervisor, "merge", [a, b, c], into=c.ref).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, a.id).merged_into_id == c.id
    assert db.session.get(Ticket, b.id).merged_into_id == c.id
    assert db.session.get(Ticket, c.id).merged_into_id is None  # the target, ticked too
    two = _open_tickets(2)
    assert _bulk(supervisor, "close", two, note="Đã trả lời").status_code == 302
    db.session.expire_all()
    assert {db.session.get(Ticket, t.id).status for t in two} == {"closed"}


def test_one_refusal_changes_nothing_and_every_refusal_is_listed(supervisor):
    tickets = _open_tickets(3)
    stale = tickets[1]
    stale.summary = "Người khác vừa sửa"
    db.session.commit()
    old = {t.id: t.version for t in tickets}
    old[stale.id] -= 1
    data = {
        "action": "close",
        "ids": [str(t.id) for t in tickets],
        **{f"v{i}": str(v) for i, v in old.items()},
    }
    answer = supervisor.post("/yeu-cau/hang-loat", data=data, follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert (
        "Không thay đổi yêu cầu nào." in html
        and f"{stale.ref}: đã được người khác thay đổi" in html
    )
    db.session.expire_all()
    assert {db.session.get(Ticket, t.id).status for t in tickets} <= {"open", "in_progress"}
    bad = _bulk(supervisor, "merge", tickets[:1], into="HT-0000-0000")
    assert bad.status_code == 302
    assert db.session.get(Ticket, tickets[0].id).merged_into_id is None


def test_bulk_is_for_supervisors_and_the_list_offers_it_to_them(operator):
    tickets = _open_tickets(1)
    assert _bulk(operator, "close", tickets).status_code == 403
    html = operator.get("/yeu-cau/").get_data(as_text=True)
    assert 'id="bulk"' not in html


def test_the_list_shows_the_bulk_form_with_each_rows_version(supervisor):
    html = supervisor.get("/yeu-cau/?status=open").get_data(as_text=True)
    assert 'id="bulk"' in html and 'aria-label="Chọn tất cả yêu cầu trên trang"' in html
    first = _open_tickets(1)[0]
    if first.status == "open":
        assert f'name="v{first.id}" value="{first.version}" form="bulk"' in html
