"""Tickets over the API: the same rules as the pages, the error body, nothing written on refusal."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketEvent
from helpdesk.tickets.queries import TicketFilter, ticket_page

NEW = {
    "category": "activation_code",
    "requester_name": "Nguyễn Thị Mai",
    "requester_phone": "+84 912 345 678",
    "summary": "Chưa nhận được mã kích hoạt",
    "status": "open",
}


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Ticket))


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body


def test_create_returns_the_ticket_with_its_location(operator_api):
    before = _count()
    response = operator_api.post("/tickets", json={**NEW, "unit_code": "SDL"})
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{ticket['ref']}")
    assert ticket["requester_phone"] == "0912345678"  # normalised as in quick entry
    assert ticket["operator"] == "hoa.nt" and ticket["status"] == "open"
    assert ticket["unit_code"] == "SDL" and ticket["category"] == "activation_code"
    assert _count() == before + 1
    read = operator_api.get(f"/tickets/{ticket['ref']}").get_json()
    assert read["ref"] == ticket["ref"]
    assert [e["kind"] for e in read["events"]] == ["created"]
    # Vietnamese travels as UTF-8 text, not as \u escapes.
    assert "Chưa nhận được mã kích hoạt" in response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"


def test_create_defaults_to_closed_as_the_tickets_file(operator_api):
    body = {k: v for k, v in NEW.items() if k != "status"}
    ticket = operator_api.post("/tickets", json=body).get_json()
    assert ticket["status"] == "closed" and ticket["resolved_at"]


def test_create_refusals_write_nothing(operator_api):
    before = _count()
    cases = [
        ({**NEW, "category": "no_such"}, 422, "category"),
        ({**NEW, "requester_phone": "12"}, 422, "requester_phone"),
        ({**NEW, "unit_code": "KHONG-CO"}, 422, "unit_code"),
        ({**NEW, "opened_at": "2099-01-01T08:00:00"}, 422, "opened_at"),
        ({**NEW, "audience": "agency"}, 422, "audience"),
        ({**NEW, "colour": "red"}, 422, "colour"),
        ({**NEW, "summary": 42}, 422, "summary"),
        ({**NEW, "status": "forwarded"}, 422, "status"),
        ({**NEW, "operator": "linh.dm"}, 422, "operator"),
        ({**NEW, "summary": "x" * 301}, 422, "summary"),
        ({key: v for key, v in NEW.items() if key != "category"}, 422, "category"),
    ]
    for body, status, field in cases:
        response = operator_api.post("/tickets", json=body)
        error = _error(response, status)
        assert field in error["error"]["fields"], (body, error)
    assert _count() == before


def test_malformed_bodies(operator_api):
    before = _count()
    _error(operator_api.post("/tickets", data="{not json", content_type="application/json"), 400)
    _error(operator_api.post("/tickets", data=b"\xff\xfe", content_type="application/json"), 400)
    _error(operator_api.post("/tickets", data="[1, 2]", content_type="application/json"), 400)
    _error(operator_api.post("/tickets", data="category=x"), 415)
    huge = json.dumps({**NEW, "details": "a" * 400_000})
    _error(operator_api.post("/tickets", data=huge, content_type="application/json"), 413)
    deep = "[" * 100_000 + "]" * 100_000
    _error(operator_api.post("/tickets", data=deep, content_type="application/json"), 400)
    assert _count() == before


def test_tokens_are_required_and_cookies_open_nothing(demo_app, operator_api):
    from helpdesk.cli import DEMO_PASSWORDS
    from tests.conftest import login

    client = demo_app.test_client()
    _error(client.get("/api/v1/tickets"), 401, "unauthorized")
    _error(client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"}), 401)
    _error(client.get("/api/v1/tickets", headers={"Authorization": "Basic eDp5"}), 401)
    # A browser signed in to the pages gets nothing from the API with its cookie alone.
    assert login(client, "hoa.nt", DEMO_PASSWORDS["hoa.nt"][2]).status_code == 302
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401
    assert "Set-Cookie" not in operator_api.get("/tickets").headers


def test_list_filters_match_the_list_page(supervisor_api):
    args = {"month": "2023-09", "status": "closed", "audience": "citizen"}
    expected = ticket_page(TicketFilter.from_args(args), per_page=200)
    got = supervisor_api.get("/tickets", query_string={**args, "limit": 200}).get_json()
    assert [t["ref"] for t in got["items"]] == [t.ref for t in expected.items]
    assert got["next_cursor"] is None
    count = supervisor_api.get("/tickets/count", query_string=args).get_json()["count"]
    assert count == expected.total > 0


def test_filters_by_codes_and_usernames(supervisor_api):
    got = supervisor_api.get(
        "/tickets", query_string={"month": "2023-09", "operator": "hoa.nt", "limit": 200}
    ).get_json()
    assert got["items"] and {t["operator"] for t in got["items"]} == {"hoa.nt"}
    unit = got["items"][0]["unit_code"] or "SDL"
    by_unit = supervisor_api.get("/tickets", query_string={"unit": unit}).get_json()["items"]
    assert by_unit and {t["unit_code"] for t in by_unit} == {unit}
    for bad in ({"operator": "ai_do"}, {"unit": "KHONG"}, {"month": "2023-13"}, {"limit": 0},
                {"limit": 201}, {"limit": "x"}, {"status": "lost"}, {"sort": "password"},
                {"cursor": "!!"}, {"colour": "red"}, {"phone": "12"}):  # fmt: skip
        _error(supervisor_api.get("/tickets", query_string=bad), 422)


def test_cursor_paging_is_exact_while_tickets_are_added(supervisor_api, operator_api):
    total = supervisor_api.get("/tickets/count").get_json()["count"]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 37, "sort": "-opened_at"}
        if cursor:
            query["cursor"] = cursor
        page = supervisor_api.get("/tickets", query_string=query).get_json()
        seen += [t["ref"] for t in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        # Someone logs a call between two pages: it is newer than the cursor, so never seen
        # here, and nothing already seen comes back or is skipped.
        assert operator_api.post("/tickets", json=NEW).status_code == 201
        if not cursor:
            break
    assert pages > 3
    assert len(seen) == len(set(seen)) == total


def test_cursor_paging_on_a_column_with_nulls(supervisor_api):
    for sort in ("requester_name", "-requester_name", "due_date", "-due_date", "ref"):
        seen, cursor = [], None
        while True:
            query = {"limit": 50, "sort": sort, "month": "2023-09"}
            if cursor:
                query["cursor"] = cursor
            page = supervisor_api.get("/tickets", query_string=query).get_json()
            seen += [t["ref"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        count = supervisor_api.get("/tickets/count", query_string={"month": "2023-09"})
        assert len(seen) == len(set(seen)) == count.get_json()["count"], sort
    first = supervisor_api.get("/tickets", query_string={"limit": 5, "sort": "ref"}).get_json()
    # A cursor belongs to its sort.
    other = {"limit": 5, "sort": "-ref", "cursor": first["next_cursor"]}
    _error(supervisor_api.get("/tickets", query_string=other), 422)


def test_idempotency_key_makes_a_retry_safe(operator_api):
    before = _count()
    headers = {"Idempotency-Key": "call-2023-0001"}
    first = operator_api.post("/tickets", json=NEW, headers=headers)
    again = operator_api.post("/tickets", json=NEW, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["ref"] == again.get_json()["ref"]
    assert _count() == before + 1
    other = operator_api.post("/tickets", json={**NEW, "summary": "khác"}, headers=headers)
    _error(other, 422, "idempotency_key_reused")
    _error(operator_api.post("/tickets", json=NEW, headers={"Idempotency-Key": "có dấu"}), 400)
    assert _count() == before + 1


def test_a_refused_create_does_not_use_up_its_key(operator_api):
    headers = {"Idempotency-Key": "retry-after-fix"}
    _error(operator_api.post("/tickets", json={**NEW, "category": "x"}, headers=headers), 422)
    assert operator_api.post("/tickets", json=NEW, headers=headers).status_code == 201


def test_patch_follows_the_ticket_page_rules(operator_api, supervisor_api):
    ticket = operator_api.post("/tickets", json=NEW).get_json()
    ref, version = ticket["ref"], ticket["version"]
    # Resolving needs the result, as on the page.
    resolve = {"version": version, "status": "resolved"}
    error = _error(operator_api.patch(f"/tickets/{ref}", json=resolve), 422)
    assert "note" in error["error"]["fields"]
    changed = operator_api.patch(
        f"/tickets/{ref}",
        json={"version": version, "summary": "Đã gửi lại mã", "unit_code": "SDL",
              "status": "resolved", "note": "Đã hướng dẫn lấy lại mã"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["status"] == "resolved" and body["unit_code"] == "SDL"
    assert body["version"] > version
    fields = {e["field"] for e in body["events"] if e["kind"] == "change"}
    assert {"summary", "unit"} <= fields
    # The old version is stale now: 409 with the ticket as it is.
    stale = operator_api.patch(f"/tickets/{ref}", json={"version": version, "summary": "x"})
    assert _error(stale, 409, "stale_version")["current"]["version"] == body["version"]
    # A transition the state does not allow is a 409.
    illegal = operator_api.patch(
        f"/tickets/{ref}", json={"version": body["version"], "status": "in_progress"}
    )
    _error(illegal, 409, "transition_not_allowed")
    closed = operator_api.patch(
        f"/tickets/{ref}", json={"version": body["version"], "status": "closed"}
    ).get_json()
    # Reopening a closed ticket is for supervisors (403 for an operator).
    reopen = {"version": closed["version"], "status": "open", "note": "Công dân gọi lại"}
    _error(operator_api.patch(f"/tickets/{ref}", json=reopen), 403)
    assert supervisor_api.patch(f"/tickets/{ref}", json=reopen).get_json()["status"] == "open"


def test_patch_refusals_change_nothing(operator_api):
    ticket = operator_api.post("/tickets", json=NEW).get_json()
    ref = ticket["ref"]
    events = db.session.scalar(select(func.count()).select_from(TicketEvent))
    bad = [
        ({"summary": "x"}, 422),  # no version
        ({"version": ticket["version"], "unit_code": "KHONG"}, 422),
        ({"version": ticket["version"], "assignee": "ai_do"}, 422),
        ({"version": ticket["version"], "status": "forwarded"}, 422),
        ({"version": ticket["version"], "summary": "ok", "status": "resolved"}, 422),
        ({"version": ticket["version"], "priority": 1}, 422),
        ({"version": "một"}, 422),
    ]
    for body, status in bad:
        _error(operator_api.patch(f"/tickets/{ref}", json=body), status)
    _error(operator_api.patch("/tickets/HT-0000-0000", json={"version": 1}), 404)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == events
    assert operator_api.get(f"/tickets/{ref}").get_json()["summary"] == NEW["summary"]


def test_forward_and_note(operator_api):
    ticket = operator_api.post("/tickets", json=NEW).get_json()
    forwarded = operator_api.patch(
        f"/tickets/{ticket['ref']}",
        json={"version": ticket["version"], "status": "forwarded", "forwarded_unit_code": "SDL",
              "note": "Nhờ Sở kiểm tra"},
    )  # fmt: skip
    body = forwarded.get_json()
    assert forwarded.status_code == 200 and body["forwarded_unit_code"] == "SDL"
    noted = operator_api.patch(
        f"/tickets/{ticket['ref']}", json={"version": body["version"], "note": "Đã gọi nhắc"}
    ).get_json()
    assert noted["events"][-1]["kind"] == "note" and noted["events"][-1]["note"] == "Đã gọi nhắc"


def test_caller_lookup_normalises_the_phone(operator_api):
    for _ in range(2):
        operator_api.post("/tickets", json=NEW)
    for phone in ("0912345678", "+84 912 345 678", "0912.345.678"):
        found = operator_api.get(f"/callers/{phone}").get_json()
        assert found["phone"] == "0912345678" and found["total"] == 2
        assert found["name"] == "Nguyễn Thị Mai"
        times = [t["opened_at"] for t in found["items"]]
        assert times == sorted(times, reverse=True)
    _error(operator_api.get("/callers/12"), 422)


def test_list_runs_a_fixed_number_of_queries(supervisor_api, count_queries):
    def run(limit):
        with count_queries() as counted:
            response = supervisor_api.get("/tickets", query_string={"limit": limit})
        assert response.status_code == 200
        return counted.count

    run(1)  # the token's first use is written (then at most once a minute)
    assert run(5) == run(200) == 2  # the token and its user, then the page with its relations
