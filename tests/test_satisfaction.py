"""Callers' satisfaction: recorded at the end of the call, edited with the ticket, counted on the
dashboard by category, unit and operator, and over the API."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from helpdesk.dashboard.queries import build_period
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketEvent

from .api.conftest import Api, token_for
from .test_tickets_views import DEMO, GOOD, _by_ref, _count, _edit_data, _latest

TODAY = date(2023, 10, 5)


@pytest.fixture
def as_operator(demo_client):
    from .conftest import login

    assert login(demo_client, "hoa.nt", DEMO["hoa.nt"]).status_code == 302
    return demo_client


def test_quick_entry_offers_one_key_per_answer(as_operator):
    html = as_operator.get("/yeu-cau/moi").get_data(as_text=True)
    assert "Người gọi có hài lòng không?" in html
    # The keys line names the category keys there are (14 categories: 1-9, a-e).
    assert "<kbd>1</kbd>–<kbd>9</kbd>, <kbd>a</kbd>–<kbd>e</kbd> ·" in html
    for value, key, label in [
        ("satisfied", "h", "Hài lòng"),
        ("neutral", "b", "Bình thường"),
        ("unsatisfied", "k", "Không hài lòng"),
        ("", "0", "Không hỏi"),
    ]:
        assert f'value="{value}"\n      data-key="{key}" aria-keyshortcuts="{key}"' in html
        assert f"<span>{label}</span>" in html
    # Not asked is the default.
    default = 'id="satisfaction-none" value=""\n      data-key="0" aria-keyshortcuts="0" checked'
    assert default in html


def test_recorded_with_the_call_then_edited_with_a_timeline_entry(as_operator):
    response = as_operator.post(
        "/yeu-cau/moi", data={**GOOD, "satisfaction": "satisfied", "save_close": "Lưu và đóng"}
    )
    assert response.status_code == 302
    ticket = _latest()
    assert ticket.satisfaction == "satisfied"
    page = as_operator.get(f"/yeu-cau/{ticket.id}").get_data(as_text=True)
    assert "<dt>Mức độ hài lòng</dt><dd>Hài lòng</dd>" in page
    # Editing another field keeps the answer the form shows; changing it is in the timeline.
    data = _edit_data(ticket, summary="Hỏi lại hồ sơ", satisfaction="satisfied")
    assert as_operator.post(f"/yeu-cau/{ticket.id}/sua", data=data).status_code == 302
    db.session.expire_all()
    assert _latest().satisfaction == "satisfied"
    data = _edit_data(_latest(), satisfaction="unsatisfied")
    assert as_operator.post(f"/yeu-cau/{ticket.id}/sua", data=data).status_code == 302
    db.session.expire_all()
    ticket = _latest()
    assert ticket.satisfaction == "unsatisfied"
    change = db.session.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.field == "satisfaction"
        )
    )
    assert (change.old_value, change.new_value) == ("Hài lòng", "Không hài lòng")
    # "Không hỏi" clears it.
    data = _edit_data(ticket, satisfaction="")
    assert as_operator.post(f"/yeu-cau/{ticket.id}/sua", data=data).status_code == 302
    db.session.expire_all()
    assert _latest().satisfaction is None


def test_a_value_that_does_not_exist_is_refused_beside_the_control(as_operator):
    before = _count()
    response = as_operator.post(
        "/yeu-cau/moi", data={**GOOD, "satisfaction": "rất vui", "save_close": "Lưu và đóng"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="satisfaction-err"' in html
    assert "Lựa chọn không hợp lệ." in html  # WTForms' own message, in Vietnamese
    assert 'value="Nguyễn Văn Bình"' in html  # what was typed is still there
    assert _count() == before


def _ask_some(month: str) -> Counter:
    """Give a third of the month's tickets each answer (deterministically)."""
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.opened_month == month).order_by(Ticket.id)
    ).all()
    answers = ("satisfied", "neutral", "unsatisfied", None)
    for i, ticket in enumerate(tickets):
        ticket.satisfaction = answers[i % 4]
    db.session.commit()
    return Counter(t.satisfaction for t in tickets if t.satisfaction)


def test_dashboard_counts_agree_with_the_tickets(demo_app, demo_client):
    expected = _ask_some("2023-09")
    d = build_period("2023-09", TODAY)
    sat = d.satisfaction
    assert (sat.total.satisfied, sat.total.neutral, sat.total.unsatisfied) == (
        expected["satisfied"],
        expected["neutral"],
        expected["unsatisfied"],
    )
    asked = db.session.scalars(
        select(Ticket).where(Ticket.opened_month == "2023-09", Ticket.satisfaction.is_not(None))
    ).all()
    by_category = Counter((t.category.code, t.satisfaction) for t in asked)
    for row in sat.by_category:
        assert row.satisfied == by_category[(row.key, "satisfied")]
        assert row.unsatisfied == by_category[(row.key, "unsatisfied")]
    assert sum(r.asked for r in sat.by_category) == sat.total.asked
    assert sum(r.asked for r in sat.by_unit) == sat.total.asked
    assert sum(r.asked for r in sat.by_operator) == sat.total.asked
    by_operator = Counter(t.operator.full_name if t.operator else None for t in asked)
    assert {r.label: r.asked for r in sat.by_operator if r.key is None} == {
        name: n for name, n in by_operator.items() if name
    } | ({"Không rõ người ghi nhận": by_operator[None]} if by_operator[None] else {})
    # The page shows the section.
    from .conftest import login

    assert login(demo_client, "thang.vd", DEMO["thang.vd"]).status_code == 302
    html = demo_client.get("/tong-hop/2023-09").get_data(as_text=True)
    assert "Mức độ hài lòng của người gọi" in html
    assert f"Đã hỏi {sat.total.asked} người gọi" in html


def test_api_reads_writes_and_counts_satisfaction(demo_app):
    operator = Api(demo_app, token_for("hoa.nt"))
    supervisor = Api(demo_app, token_for("thang.vd"))
    body = {"category": "activation_code", "summary": "Xin mã", "satisfaction": "neutral"}
    created = operator.post("/tickets", json=body)
    assert created.status_code == 201 and created.get_json()["satisfaction"] == "neutral"
    ref, version = created.get_json()["ref"], created.get_json()["version"]
    bad = operator.patch(f"/tickets/{ref}", json={"version": version, "satisfaction": "ok"})
    assert bad.status_code == 422 and "satisfaction" in bad.get_json()["error"]["fields"]
    cleared = operator.patch(f"/tickets/{ref}", json={"version": version, "satisfaction": None})
    assert cleared.status_code == 200 and cleared.get_json()["satisfaction"] is None
    db.session.expire_all()
    assert _by_ref(ref).satisfaction is None
    expected = _ask_some("2023-09")
    counts = supervisor.get("/counts?month=2023-09&by=satisfaction").get_json()
    got = {row["key"]: row["count"] for row in counts["rows"]}
    assert {k: v for k, v in got.items() if k} == dict(expected)
    assert counts["rows"][-1]["key"] is None and counts["rows"][-1]["label"] == "Không hỏi"
    total = db.session.scalar(
        select(db.func.count()).select_from(Ticket).where(Ticket.opened_month == "2023-09")
    )
    assert counts["total"] == total


def test_the_tickets_file_may_carry_it_and_a_file_without_it_keeps_it(demo_app):
    from helpdesk.imports import run_import

    head = "opened_at,audience,category,requester_phone,status"
    row = "2023-09-12T09:00:00,citizen,activation_code,0912000222,closed"
    bad = run_import(
        [
            (
                "tickets.csv",
                f"{head},satisfaction\n{row},vui\n{row.replace('222', '333')},ok\n".encode(),
            )
        ]
    )
    assert not bad.ok
    assert sorted((e.line, e.column) for e in bad.errors) == [
        (2, "satisfaction"),
        (3, "satisfaction"),
    ]
    good = run_import([("tickets.csv", f"{head},satisfaction\n{row},neutral\n".encode())])
    db.session.commit()
    assert good.ok
    ticket = db.session.scalar(select(Ticket).where(Ticket.requester_phone == "0912000222"))
    assert ticket.satisfaction == "neutral"
    ticket.satisfaction = "satisfied"  # recorded later in the app
    db.session.commit()
    again = run_import([("tickets.csv", f"{head}\n{row}\n".encode())])
    db.session.commit()
    assert again.ok and again.files[0].unchanged == 1
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).satisfaction == "satisfied"


def test_the_demo_has_answers_to_show(demo_app):
    d = build_period("2023-09", TODAY)
    assert d.satisfaction.total.asked > 100
    assert d.satisfaction.total.unsatisfied > 0


def test_wtforms_own_messages_are_vietnamese(as_operator):
    """A select's unknown value (a forged or stale form) reads in Vietnamese, never English."""
    response = as_operator.post(
        "/yeu-cau/moi", data={**GOOD, "channel": "fax", "save_close": "Lưu và đóng"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Lựa chọn không hợp lệ." in html and "Not a valid" not in html
